//! Safety of a run against its neighbours and its own past (issue 14): quiet
//! exits on a closed pipe, bounds on config values, one run per Docker
//! project, unique run ids, a killed agent's leftovers stopped by the next
//! run, and a journal that tells forgery and a cut from a real one.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::AutoEtl;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

/// Runs `cmd` with its stdout on a pipe whose read end is already closed, so
/// its first write meets EPIPE (what `| head -1` does once head has left).
fn run_into_closed_pipe(cmd: AutoEtl) -> (i32, String) {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors that we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: both descriptors were just returned by pipe(2) and are ours.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let mut cmd: Command = cmd.command();
    cmd.stdout(Stdio::from(writer)).stderr(Stdio::piped());
    let out = cmd.output().expect("run auto-etl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_into_a_closed_pipe_exit_quietly_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["fish", "bash"] {
        let (code, stderr) =
            run_into_closed_pipe(AutoEtl::new(dir.path()).args(["completions", shell]));
        assert_eq!((code, stderr.as_str()), (0, ""), "completions {shell}");
    }
}

#[test]
fn rules_and_report_into_a_closed_pipe_exit_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_into_closed_pipe(AutoEtl::new(dir.path()).args(["rules"]));
    assert_eq!((code, stderr.as_str()), (0, ""), "rules");
    let (code, stderr) = run_into_closed_pipe(AutoEtl::new(dir.path()).args(["man"]));
    assert_eq!((code, stderr.as_str()), (0, ""), "man");
}

fn config_error(toml: &str, args: &[&str]) -> (i32, String) {
    let p = Pipeline::new(toml);
    let r = AutoEtl::new(p.path()).args(args).run();
    (r.code, r.stderr)
}

#[test]
fn a_zero_timeout_flag_is_a_config_error() {
    let toml = format!("[orchestrator]\ncommand = \"true\"\n{FAST}");
    let (code, stderr) = config_error(&toml, &["--timeout", "0s", "--no-cleanup"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--timeout"), "{stderr}");
}

#[test]
fn a_zero_validator_timeout_is_a_config_error_naming_file_line_and_key() {
    let toml = format!(
        "[orchestrator]\ncommand = \"true\"\n{FAST}\nvalidator = \"true\"\nvalidator_timeout = \"0s\"\n"
    );
    let line = toml
        .lines()
        .position(|l| l.starts_with("validator_timeout"))
        .unwrap()
        + 1;
    let (code, stderr) = config_error(&toml, &["--no-cleanup"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("auto-etl.toml:{line}")),
        "{stderr}"
    );
    assert!(stderr.contains("validator_timeout"), "{stderr}");
}

#[test]
fn a_nul_byte_in_a_step_command_is_a_config_error_naming_file_line_and_key() {
    let toml = format!("{FAST}\n[[steps]]\nname = \"a\"\nrun = \"echo a\\u0000b\"\n");
    let line = toml.lines().position(|l| l.starts_with("run =")).unwrap() + 1;
    let (code, stderr) = config_error(&toml, &["--no-cleanup"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("auto-etl.toml:{line}")),
        "{stderr}"
    );
    assert!(stderr.contains("run"), "{stderr}");
    assert!(stderr.contains("NUL"), "{stderr}");
}
