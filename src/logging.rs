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
        .with_writer(std::io::stderr)
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
                .with_writer(Mutex::new(f))
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

/// Colour only on a terminal, outside CI, unless NO_COLOR; FORCE_COLOR forces it.
pub fn color_allowed() -> bool {
    crate::ci::CiEnv::from_env().colour()
}
