//! Subcommand dispatch: each command turns its arguments into work and an
//! exit code.

use crate::cli::{Cli, Command};
use crate::exit;

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> u8 {
    let result = match cli.command {
        None => crate::cycle::run_command(cli.run).await,
        Some(Command::Run(args)) => crate::cycle::run_command(args).await,
        Some(Command::Demo(args)) => crate::demo::run(args).await,
        Some(Command::Cleanup(a)) => crate::docker::command::cmd_cleanup(&a).await,
        Some(_) => Err(anyhow::anyhow!("not built yet")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("auto-etl: {e:#}");
            exit::USAGE
        }
    }
}
