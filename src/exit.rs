//! Exit codes, documented once (see DESIGN.md "Exit codes").

/// The pipeline ran clean (or a subcommand succeeded).
pub const SUCCESS: u8 = 0;
/// Still failing after max-iterations or max-elapsed.
pub const STILL_FAILING: u8 = 1;
/// Usage or configuration error; the message names the file, line and key.
pub const USAGE: u8 = 2;
/// Stopped early on a non-retryable failure.
pub const NON_RETRYABLE: u8 = 3;
/// Another run holds the lock for this project.
pub const LOCKED: u8 = 4;
/// Interrupted by SIGINT.
pub const SIGINT: u8 = 130;
/// Interrupted by SIGTERM (or SIGHUP).
pub const SIGTERM: u8 = 143;
