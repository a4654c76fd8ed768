//! Pre-flight checks: what the steps need before the first iteration
//! (their programs, disk space, a sane git state, Docker). Each check has a
//! pure verdict function; the lookups that feed it sit beside it.

use crate::config::Step;
use crate::health::{disk_usage, DiskUsage};
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Below this much free space the report disk gets a warning.
pub const MIN_FREE_BYTES: u64 = 1 << 30;
/// Below this share free the report disk gets a warning.
pub const MIN_FREE_PERCENT: f64 = 5.0;

/// One check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PreflightCheck {
    pub name: String,
    pub passed: bool,
    pub detail: String,
    /// A failure here should stop the run before it starts (in safe mode
    /// always; otherwise the caller's call). Non-blocking failures are
    /// warnings.
    pub blocking: bool,
}

/// What the checks look at.
#[derive(Debug, Clone)]
pub struct PreflightInput<'a> {
    /// The pipeline repository; relative program paths resolve from here.
    pub root: &'a Path,
    pub report_dir: &'a Path,
    /// `PATH` as the steps will see it.
    pub path_var: Option<OsString>,
    /// Whether the Docker daemon answered; None when the caller did not ask.
    pub docker_reachable: Option<bool>,
    /// Docker is required (`[docker] require`): unreachable blocks.
    pub docker_required: bool,
}

/// Runs every check.
pub fn preflight(steps: &[Step], input: &PreflightInput) -> Vec<PreflightCheck> {
    let mut checks: Vec<PreflightCheck> = steps
        .iter()
        .map(|s| {
            let program = program_of(&s.run);
            let lookup = lookup(&program, input.root, input.path_var.as_deref());
            program_verdict(s, &program, &lookup)
        })
        .collect();
    checks.push(disk_verdict(
        input.report_dir,
        &disk_usage(input.report_dir),
    ));
    checks.push(git_verdict(input.root, &git_state(input.root)));
    checks.extend(docker_verdict(
        input.docker_reachable,
        input.docker_required,
    ));
    checks
}

/// What a step's command starts with, as far as a check is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    /// A name looked up on `PATH`.
    OnPath(String),
    /// A path (it holds a `/`), relative to the repository unless absolute.
    File(String),
    /// A shell builtin or keyword: nothing to look up.
    Builtin(String),
    /// Decided at run time (`$PYTHON`, `~/bin/x`, a subshell).
    Dynamic(String),
    /// Only variable assignments, or nothing at all.
    Nothing,
}

const BUILTINS: &[&str] = &[
    ".", ":", "[", "[[", "{", "(", "!", "alias", "case", "cd", "command", "echo", "eval", "exec",
    "exit", "export", "false", "for", "function", "if", "printf", "pwd", "read", "return", "set",
    "shift", "source", "test", "time", "trap", "true", "ulimit", "umask", "unset", "until", "wait",
    "while",
];

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            let mut chars = name.chars();
            chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// The program a `run` command starts, skipping leading `X=1` assignments.
pub fn program_of(run: &str) -> Program {
    let Some(word) = run.split_whitespace().find(|w| !is_assignment(w)) else {
        return Program::Nothing;
    };
    let word = word.trim_matches(|c| c == '"' || c == '\'');
    if BUILTINS.contains(&word) {
        Program::Builtin(word.into())
    } else if word.is_empty() || word.starts_with(['$', '~', '(', '`']) {
        Program::Dynamic(word.into())
    } else if word.contains('/') {
        Program::File(word.into())
    } else {
        Program::OnPath(word.into())
    }
}

/// Where a program was looked for and what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(PathBuf),
    /// The file exists but cannot be executed.
    NotExecutable(PathBuf),
    Missing,
    NotChecked,
}

fn executable(p: &Path) -> Lookup {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Lookup::Found(p.into()),
        Ok(m) if m.is_file() => Lookup::NotExecutable(p.into()),
        _ => Lookup::Missing,
    }
}

fn lookup(program: &Program, root: &Path, path_var: Option<&std::ffi::OsStr>) -> Lookup {
    match program {
        Program::OnPath(name) => path_var
            .map(|p| {
                std::env::split_paths(p)
                    .map(|dir| executable(&dir.join(name)))
                    .find(|l| matches!(l, Lookup::Found(_)))
                    .unwrap_or(Lookup::Missing)
            })
            .unwrap_or(Lookup::Missing),
        Program::File(f) => executable(&root.join(f)),
        _ => Lookup::NotChecked,
    }
}

/// The verdict on a step's program.
pub fn program_verdict(step: &Step, program: &Program, lookup: &Lookup) -> PreflightCheck {
    let (passed, detail) = match (program, lookup) {
        (Program::OnPath(n) | Program::File(n), Lookup::Found(p)) => {
            (true, format!("`{n}` found at {}", p.display()))
        }
        (Program::OnPath(n), _) => (
            false,
            format!(
                "`{n}` is not on PATH (config line {}): install it or fix `run`",
                step.line
            ),
        ),
        (Program::File(_), Lookup::NotExecutable(p)) => (
            false,
            format!(
                "{} is not executable (config line {}): chmod +x it",
                p.display(),
                step.line
            ),
        ),
        (Program::File(f), _) => (
            false,
            format!(
                "`{f}` does not exist in the repository (config line {})",
                step.line
            ),
        ),
        (Program::Builtin(w), _) => (true, format!("`{w}` is a shell builtin: not checked")),
        (Program::Dynamic(w), _) => (true, format!("`{w}` is decided at run time: not checked")),
        (Program::Nothing, _) => (
            false,
            format!("no command to run (config line {})", step.line),
        ),
    };
    PreflightCheck {
        name: format!("program of step `{}`", step.name),
        passed,
        detail,
        blocking: true,
    }
}

/// The verdict on the report directory's free space.
pub fn disk_verdict(dir: &Path, usage: &std::io::Result<DiskUsage>) -> PreflightCheck {
    let (passed, detail) = match usage {
        Err(e) => (
            false,
            format!("cannot read free space of {}: {e}", dir.display()),
        ),
        Ok(u) => {
            let free_bytes = (u.available_mb * 1024.0 * 1024.0) as u64;
            let free_percent = 100.0 - u.used_percent;
            let text = format!(
                "{:.1} GiB free ({free_percent:.1} %) at {}",
                u.available_mb / 1024.0,
                dir.display()
            );
            if free_bytes < MIN_FREE_BYTES || free_percent < MIN_FREE_PERCENT {
                (
                    false,
                    format!("{text}: under 1 GiB or 5 %; free space or run a deep cleanup"),
                )
            } else {
                (true, text)
            }
        }
    };
    PreflightCheck {
        name: "disk space".into(),
        passed,
        detail,
        blocking: false,
    }
}

/// The repository as a checkpoint sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitState {
    NotARepo,
    Clean,
    /// A merge, rebase, cherry-pick, revert or bisect is under way.
    InProgress(String),
}

/// Reads the state of the repository holding `root`.
pub fn git_state(root: &Path) -> GitState {
    use git2::RepositoryState as S;
    let Ok(repo) = git2::Repository::discover(root) else {
        return GitState::NotARepo;
    };
    let what = match repo.state() {
        S::Clean => return GitState::Clean,
        S::Merge => "merge",
        S::Revert | S::RevertSequence => "revert",
        S::CherryPick | S::CherryPickSequence => "cherry-pick",
        S::Bisect => "bisect",
        S::Rebase | S::RebaseInteractive | S::RebaseMerge => "rebase",
        S::ApplyMailbox | S::ApplyMailboxOrRebase => "am",
    };
    GitState::InProgress(what.into())
}

/// The verdict on the repository state. Checkpointing in the middle of a
/// merge or rebase would commit a half-resolved tree, so that blocks.
pub fn git_verdict(root: &Path, state: &GitState) -> PreflightCheck {
    let (passed, blocking, detail) = match state {
        GitState::Clean => (
            true,
            false,
            format!(
                "{} is a git repository, no operation in progress",
                root.display()
            ),
        ),
        GitState::NotARepo => (
            false,
            false,
            format!(
                "{} is not in a git repository: checkpoints cannot be taken",
                root.display()
            ),
        ),
        GitState::InProgress(op) => (
            false,
            true,
            format!(
                "a {op} is in progress in {}: finish or abort it first",
                root.display()
            ),
        ),
    };
    PreflightCheck {
        name: "git repository".into(),
        passed,
        detail,
        blocking,
    }
}

/// The verdict on Docker, when the caller asked it.
pub fn docker_verdict(reachable: Option<bool>, required: bool) -> Option<PreflightCheck> {
    let up = reachable?;
    Some(PreflightCheck {
        name: "docker reachable".into(),
        passed: up,
        detail: if up {
            "the Docker daemon answered".into()
        } else {
            "the Docker daemon did not answer: start it or check DOCKER_HOST".into()
        },
        blocking: required,
    })
}
