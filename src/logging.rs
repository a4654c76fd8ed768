//! The agent's own log: human lines on stderr, and the same events with
//! timestamps in `auto_cycle_<id>.log`. `AUTO_ETL_LOG` sets the filter;
//! `-v`/`--debug` raise the level.

use std::path::Path;
use std::sync::Mutex;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, EnvFilter, Layer};

/// Installs the subscriber. `file` receives the agent log of a run. With
/// `quiet_console` (a progress display owns the terminal) stderr only shows
/// warnings unless debugging; the file keeps everything.
pub fn init(
    debug: bool,
    verbose: u8,
    json: bool,
    quiet_console: bool,
    file: Option<&Path>,
) -> std::io::Result<()> {
    let level = match (debug, verbose) {
        (true, _) | (_, 1) => "debug",
        (_, 0) => "info",
        _ => "trace",
    };
    let console_level = if quiet_console && !debug && verbose == 0 {
        "warn"
    } else {
        level
    };
    let filter = |level: &str| {
        EnvFilter::try_from_env("AUTO_ETL_LOG")
            .unwrap_or_else(|_| EnvFilter::new(format!("auto_etl={level}")))
    };
    let stderr = fmt::layer()
        .with_writer(|| Redacting(std::io::stderr()))
        .with_target(false)
        .without_time()
        .with_ansi(color_allowed())
        .with_filter(filter(console_level));
    let file_layer = match file {
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            let layer = fmt::layer()
                .with_writer(RedactingFile(Mutex::new(f)))
                .with_ansi(false)
                .with_target(false);
            Some(if json {
                layer.json().with_filter(filter(level)).boxed()
            } else {
                layer.with_filter(filter(level)).boxed()
            })
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    Ok(())
}

/// A writer that masks secrets (see `crate::redact`). The fmt layer writes
/// each formatted event with one `write_all`, so a secret is never split.
struct Redacting<W>(W);

impl<W: std::io::Write> std::io::Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write_all(&crate::redact::global().redact(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// The agent log file, shared by the threads that log, masked.
struct RedactingFile(Mutex<std::fs::File>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingFile {
    type Writer = Redacting<Locked<'a>>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting(Locked(
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

/// The log file while one event is written to it.
struct Locked<'a>(std::sync::MutexGuard<'a, std::fs::File>);

impl std::io::Write for Locked<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Colour only on a terminal, outside CI, unless NO_COLOR; FORCE_COLOR forces it.
pub fn color_allowed() -> bool {
    crate::ci::CiEnv::from_env().colour()
}
