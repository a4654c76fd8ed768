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
        // reliability: journal commands (other report formats come separately)
        Some(Command::VerifyJournal(args)) => crate::journal::cmd_verify_journal(args),
        Some(Command::Report(args)) if args.from_journal => {
            crate::journal::cmd_report_from_journal(args)
        }
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
