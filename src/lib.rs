//! auto-etl: drives an ETL pipeline's validation cycle until it runs clean.
//!
//! The cycle (see `cycle`): checkpoint → cleanup → run → verify → classify →
//! adjust → back off. Every run is a session that goes through `risk`,
//! `recovery` and `health`, whose results land in the report.

pub mod adjust;
pub(crate) mod backoff;
pub mod checkpoint;
pub mod ci;
pub mod classify;
pub mod cleanup;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cycle;
pub mod demo;
pub mod docker;
pub mod exit;
pub mod health;
pub mod init;
pub mod journal;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod orchestrator;
pub mod progress;
pub mod readiness;
pub mod recovery;
pub mod redact;
pub mod report;
pub mod risk;

use clap::Parser;

/// Parses the command line, runs the command and returns the exit code.
pub fn main_entry() -> u8 {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let argv: Vec<String> = std::env::args().collect();
            if let Some(msg) = config::spelling::env_value_error(&e, &argv) {
                eprintln!("auto-etl: {msg}");
                return exit::USAGE;
            }
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("auto-etl: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    runtime.block_on(commands::dispatch(cli))
}
