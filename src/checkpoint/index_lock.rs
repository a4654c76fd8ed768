//! Branch mode's hold on `.git/index.lock`, taken the way git takes it
//! (create-exclusive), so a concurrent `git add` fails instead of racing us,
//! and released on every path out, including errors and panics.

use super::repo::CheckpointError;
use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// An `index.lock` this process created. Dropping it without `commit`
/// removes the lock and leaves `.git/index` as it was.
pub struct IndexLock {
    lock: PathBuf,
    index: PathBuf,
    staged: PathBuf,
    done: bool,
}

impl IndexLock {
    /// Takes the lock of the index in `git_dir`; a lock someone else holds
    /// is left alone and reported.
    pub fn acquire(git_dir: &Path) -> Result<IndexLock, CheckpointError> {
        let index = git_dir.join("index");
        let lock = git_dir.join("index.lock");
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(_) => Ok(IndexLock {
                lock,
                index,
                staged: git_dir.join(format!("index.auto-etl.{}", std::process::id())),
                done: false,
            }),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                Err(CheckpointError::IndexLocked(lock))
            }
            Err(source) => Err(CheckpointError::Io {
                what: "create index.lock",
                source,
            }),
        }
    }

    /// The index as it is now (it may not exist yet).
    pub fn index_path(&self) -> &Path {
        &self.index
    }

    /// A scratch file beside the index to build the new index in; removed
    /// with the lock if it is never staged.
    pub fn staged_path(&self) -> &Path {
        &self.staged
    }

    /// Puts the new index (written to `staged_path`) in the lock's place;
    /// the lock file keeps existing throughout.
    pub fn stage(&self) -> Result<(), CheckpointError> {
        std::fs::rename(&self.staged, &self.lock).map_err(|source| CheckpointError::Io {
            what: "stage the new index",
            source,
        })
    }

    /// Makes the staged index the index (rename, as git does).
    pub fn commit(mut self) -> Result<(), CheckpointError> {
        self.done = true;
        std::fs::rename(&self.lock, &self.index).map_err(|source| {
            let _ = std::fs::remove_file(&self.lock);
            CheckpointError::Io {
                what: "replace the index",
                source,
            }
        })
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.staged);
        if !self.done {
            let _ = std::fs::remove_file(&self.lock);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_reported_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.lock"), "theirs").unwrap();
        let err = IndexLock::acquire(dir.path()).err().unwrap();
        assert!(matches!(err, CheckpointError::IndexLocked(_)));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("index.lock")).unwrap(),
            "theirs"
        );
    }

    #[test]
    fn dropping_releases_and_commit_replaces() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index"), "old").unwrap();
        drop(IndexLock::acquire(dir.path()).unwrap());
        assert!(!dir.path().join("index.lock").exists());

        let lock = IndexLock::acquire(dir.path()).unwrap();
        std::fs::write(lock.staged_path(), "new").unwrap();
        lock.stage().unwrap();
        lock.commit().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("index")).unwrap(),
            "new"
        );
        assert!(!dir.path().join("index.lock").exists());
    }
}
