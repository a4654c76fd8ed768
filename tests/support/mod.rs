//! A small builder that runs the real `auto-etl` binary.
#![allow(dead_code)]

pub mod docker;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_auto-etl"))
}

/// One invocation of the binary.
pub struct AutoEtl {
    cmd: Command,
}

/// What a run produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl AutoEtl {
    /// `auto-etl` in `dir`, with a clean `AUTO_ETL_*`/CI environment.
    pub fn new(dir: &Path) -> AutoEtl {
        let mut cmd = Command::new(bin());
        cmd.current_dir(dir).stdin(Stdio::null());
        for (k, _) in std::env::vars() {
            if k.starts_with("AUTO_ETL_") || k == "CI" || k == "GITHUB_ACTIONS" || k == "GITLAB_CI"
            {
                cmd.env_remove(k);
            }
        }
        AutoEtl { cmd }
    }

    pub fn args<I, S>(mut self, args: I) -> AutoEtl
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg_path(mut self, p: &Path) -> AutoEtl {
        self.cmd.arg(p);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<std::ffi::OsStr>) -> AutoEtl {
        self.cmd.env(k, v);
        self
    }

    pub fn run(mut self) -> Run {
        let out: Output = self.cmd.output().expect("run auto-etl");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn command(self) -> Command {
        self.cmd
    }
}

/// Runs `git` in `dir` and returns its stdout; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub mod pipeline;

/// Reads one HTTP request (head and Content-Length body) from `s`.
pub fn read_http_request(s: &mut impl std::io::Read) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = s.read(&mut chunk).unwrap_or(0);
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
    }
    String::from_utf8_lossy(&buf).into_owned()
}
