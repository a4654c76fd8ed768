//! Subcommand dispatch: each command turns its arguments into work and an
//! exit code.

use crate::cli::{Cli, Command};
use crate::exit;

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> u8 {
    let result = match cli.command {
        None => crate::cycle::run_command(cli.run).await,
        Some(Command::Run(args)) => crate::cycle::run_command(args).await,
        Some(Command::Checkpoints(a)) => std::env::current_dir()
            .map_err(anyhow::Error::from)
            .and_then(|root| {
                let json = a.format == crate::cli::OutputFormat::Json;
                crate::checkpoint::cmd_checkpoints(
                    &root,
                    a.run.as_deref(),
                    json,
                    &mut std::io::stdout().lock(),
                )
            }),
        Some(Command::Restore(a)) => std::env::current_dir()
            .map_err(anyhow::Error::from)
            .and_then(|root| {
                let to_branch = a.to_branch.as_deref();
                crate::checkpoint::cmd_restore(
                    &root,
                    &a.target,
                    to_branch,
                    a.worktree.as_deref(),
                    &mut std::io::stdout().lock(),
                )
            }),
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
