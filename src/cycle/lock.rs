//! One run per project at a time: an advisory `flock` on a file in the report
//! directory, and one on a file named after the pipeline's Docker project in
//! `/tmp/auto-etl-locks` (never `$TMPDIR`, which differs between runs), so
//! two checkouts of one pipeline on one machine cannot clean up each other's
//! containers. Runs that share only the Docker engine meet in its lock too
//! (see `engine_lock`). The kernel drops a lock when its holder dies, so a
//! crashed run never blocks the next one.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The lock file's name inside the report directory.
pub const LOCK_FILE: &str = ".auto-etl.lock";

/// A held run lock; released on drop.
pub struct RunLock {
    _file: File,
    pub path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another run (pid {pid}) holds the lock for {what}: {path}")]
    Held {
        pid: String,
        path: PathBuf,
        what: String,
    },
    #[error("cannot take the Docker engine lock: {0}")]
    Engine(String),
    #[error("cannot open the lock file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Takes the lock in the report directory `dir`, writing our pid into it.
pub fn acquire(dir: &Path) -> Result<RunLock, LockError> {
    acquire_file(dir.join(LOCK_FILE), "this report directory")
}

/// The machine-wide directory of Docker project locks: `/tmp` itself, not
/// `$TMPDIR`, so runs with different `TMPDIR`s still meet there.
pub fn project_lock_dir() -> PathBuf {
    PathBuf::from("/tmp/auto-etl-locks")
}

/// The first 16 hex digits of the SHA-256 of `text`.
pub fn short_hash(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The project lock's file name: the readable part of the name, cut to a
/// length every file system takes, then a hash of the whole name (so long
/// names still lock, and `a b` and `a_b` do not share a lock).
pub fn project_lock_file(project: &str) -> String {
    let readable: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("docker-{readable}-{}.lock", short_hash(project))
}

/// Takes the lock of the Docker project `project`, in [`project_lock_dir`]
/// (created world-writable and sticky, like `/tmp`, so every user's runs
/// share it).
pub fn acquire_project(project: &str) -> Result<RunLock, LockError> {
    let dir = project_lock_dir();
    let io = |source| LockError::Io {
        path: dir.clone(),
        source,
    };
    if !dir.is_dir() {
        std::fs::create_dir_all(&dir).map_err(io)?;
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777));
    }
    acquire_file(
        dir.join(project_lock_file(project)),
        &format!("the Docker project `{project}`"),
    )
}

fn acquire_file(path: PathBuf, what: &str) -> Result<RunLock, LockError> {
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        // Others' runs of the same project must be able to lock it too.
        .mode(0o666)
        .open(&path)
        .map_err(io)?;
    // SAFETY: flock on a file descriptor we own.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        let pid = pid.trim().to_string();
        return Err(LockError::Held {
            pid: if pid.is_empty() {
                "unknown".into()
            } else {
                pid
            },
            path,
            what: what.to_string(),
        });
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    file.sync_all().map_err(io)?;
    Ok(RunLock { _file: file, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_pid_and_can_take_it_after() {
        let dir = tempfile::tempdir().unwrap();
        let first = acquire(dir.path()).unwrap();
        // flock locks belong to the open file description, so a second open
        // in the same process conflicts just as another process would.
        match acquire(dir.path()) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, std::process::id().to_string()),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("second acquire must fail"),
        }
        drop(first);
        assert!(acquire(dir.path()).is_ok());
    }

    #[test]
    fn a_docker_project_is_locked_machine_wide_by_its_name() {
        let name = format!("lock test/{}", std::process::id());
        let first = acquire_project(&name).unwrap();
        assert!(first.path.starts_with(project_lock_dir()));
        let file = first
            .path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            file.starts_with(&format!("docker-lock_test_{}-", std::process::id())),
            "{file}"
        );
        match acquire_project(&name) {
            Err(e @ LockError::Held { .. }) => {
                assert!(
                    e.to_string()
                        .contains(&format!("the Docker project `{name}`")),
                    "{e}"
                )
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("second acquire must fail"),
        }
        assert!(acquire_project(&format!("{name}-other")).is_ok());
        // Sanitised alike, yet another project: another lock.
        assert!(acquire_project(&format!("lock_test_{}", std::process::id())).is_ok());
        drop(first);
        assert!(acquire_project(&name).is_ok());
    }

    #[test]
    fn a_project_name_of_any_length_gets_a_short_lock_file() {
        let long = "p".repeat(300);
        let file = project_lock_file(&long);
        assert!(file.len() < 100, "{file}");
        assert_ne!(file, project_lock_file(&"p".repeat(301)));
        let held = acquire_project(&long).unwrap();
        assert!(matches!(
            acquire_project(&long),
            Err(LockError::Held { .. })
        ));
        drop(held);
    }
}
