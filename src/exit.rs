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
/// `verify-journal`: the chain is intact but has no `run_end` (the run was
/// killed, the file cut after whole lines, or the run is still going).
pub const INCOMPLETE: u8 = 5;
/// Interrupted by SIGINT.
pub const SIGINT: u8 = 130;
/// Interrupted by SIGTERM (or SIGHUP).
pub const SIGTERM: u8 = 143;

/// Whether `e` comes from writing into a closed pipe (`auto-etl rules |
/// head`). The reader has what it wanted, so that is a quiet exit with
/// [`SUCCESS`], as ripgrep does, never an error message.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes `text` to stdout and flushes it, returning the error (a closed
/// pipe included) instead of panicking as `print!` does.
pub fn write_stdout(text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text)?;
    out.flush()
}

/// The panic `print!` raises on a closed stdout, recognised by its message,
/// so the last-resort hook in `main` exits quietly on it.
pub fn is_stdout_pipe_panic(message: &str) -> bool {
    message.contains("failed printing to stdout") && message.contains("Broken pipe")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_pipe_is_found_under_context() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let e = anyhow::Error::from(io).context("failed to write the rules");
        assert!(is_broken_pipe(&e));
        let other = anyhow::Error::from(std::io::Error::from(std::io::ErrorKind::NotFound));
        assert!(!is_broken_pipe(&other.context("x")));
    }

    #[test]
    fn the_print_panic_on_a_closed_stdout_is_recognised() {
        // The message std's `print!` panics with (produced here by rustc 1.95).
        let msg = "failed printing to stdout: Broken pipe (os error 32)";
        assert!(is_stdout_pipe_panic(msg));
        assert!(!is_stdout_pipe_panic("index out of bounds"));
    }
}
