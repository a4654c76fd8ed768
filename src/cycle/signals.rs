//! Signals: the first SIGINT/SIGTERM/SIGHUP asks the loop to stop (the step
//! is terminated, the report written); a second one kills the steps at once
//! and exits.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Starts listening; the receiver holds the first signal number seen.
pub fn listen() -> watch::Receiver<Option<i32>> {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::warn!(
                "cannot listen for signals: Ctrl-C will stop the agent without a report"
            );
            // Keep the sender alive: a closed channel would read as "cancelled".
            std::future::pending::<()>().await;
            return;
        };
        loop {
            let signo = tokio::select! {
                _ = int.recv() => libc::SIGINT,
                _ = term.recv() => libc::SIGTERM,
                _ = hup.recv() => libc::SIGHUP,
            };
            if tx.borrow().is_some() {
                eprintln!("auto-etl: second signal: killing the steps now");
                crate::orchestrator::kill_all_now();
                crate::orchestrator::procs::kill_orphans_now();
                std::process::exit(i32::from(exit_code(signo)));
            }
            tracing::warn!("signal {signo} received: stopping the step and writing the report (again to kill at once)");
            let _ = tx.send(Some(signo));
        }
    });
    rx
}

/// The exit code for a run stopped by `signo`.
pub fn exit_code(signo: i32) -> u8 {
    if signo == libc::SIGINT {
        crate::exit::SIGINT
    } else {
        crate::exit::SIGTERM
    }
}
