//! The validation cycle loop.

use crate::cli::RunArgs;

/// `auto-etl run`.
pub async fn run_command(args: RunArgs) -> anyhow::Result<u8> {
    let _ = args;
    Ok(crate::exit::SUCCESS)
}
