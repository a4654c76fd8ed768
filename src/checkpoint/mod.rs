//! Git checkpoints with git2: a snapshot of the working tree before every
//! iteration, the iteration's outcome recorded against it, and the commands
//! that list checkpoints and bring one back as a branch.
//!
//! Decisions worth knowing (the ref layout is documented in `repo`):
//! - `ref` mode builds the tree from the index read into memory plus the
//!   working tree's changes and commits it onto `refs/auto-etl/runs/<run>`;
//!   HEAD, `.git/index`, the working tree and the branches are never written.
//!   It works on a detached HEAD and in an empty repository (the first
//!   checkpoint is then a root commit; HEAD stays unborn). An index with
//!   unresolved conflicts is skipped.
//! - `branch` mode commits on the current branch like `git add -A && git
//!   commit` (index included) under git's own `index.lock` protocol. A
//!   detached HEAD, a merge/rebase/cherry-pick/revert/bisect in progress or
//!   a held `index.lock` skip the checkpoint. On an unborn branch it makes
//!   the branch's first commit, as `git commit` would.
//! - Never in a checkpoint: ignored files, `.env`/`.env.*` at any depth, the
//!   `exclude` globs, the report directory, files over `max_file_size`. A file
//!   the repository already tracks keeps its committed content when excluded
//!   (dropping it would record a deletion, in branch mode on the user's branch).
//! - `--rollback` puts the last green checkpoint's files back after a red
//!   run, only over content this run's checkpoint holds (see `rollback`).
//! - Unchanged tree: no commit; the record points at the existing commit with
//!   `files_changed: 0` and a `note`.

mod command;
mod exclude;
mod index_lock;
mod message;
mod outcome;
mod push;
mod repo;
mod rollback;
mod snapshot;
mod take;

pub use command::{cmd_checkpoints, cmd_restore};
pub use exclude::{Excluded, Exclusions};
pub use message::{commit_message, tag_message, trailer};
pub use outcome::mark_outcome;
pub use push::{CredentialPlan, CredentialSource, PushError};
pub use repo::{CheckpointError, ITERATIONS, LAST_GREEN, RUNS};
pub use rollback::{rollback, wanted as rollback_wanted, RollbackOutcome, RollbackRequest};
pub use take::push_record;

use crate::config::{CheckpointMode, GitConfig};
use serde::Serialize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// The skipped reason when checkpoints are switched off.
pub const OFF: &str = "checkpoints are off";

/// The previous iteration, summarised into the checkpoint message.
#[derive(Debug, Clone, Default)]
pub struct PreviousIteration {
    pub status: String,
    pub errors: Vec<String>,
    pub adjustments: Vec<String>,
}

/// What a checkpoint is about.
#[derive(Debug, Clone)]
pub struct CheckpointContext {
    pub run_id: String,
    pub iteration: u32,
    pub previous: Option<PreviousIteration>,
}

/// The report's `checkpoint` field of one cycle.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointRecord {
    pub mode: CheckpointMode,
    /// Where the checkpoint lives: the run's ref (ref mode) or the branch.
    #[serde(rename = "ref")]
    pub ref_name: Option<String>,
    pub commit: Option<String>,
    /// Files that differ from the previous checkpoint (or HEAD).
    pub files_changed: u32,
    pub skipped_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_error: Option<String>,
    /// Why no new commit was made although the checkpoint was taken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl CheckpointRecord {
    pub fn skipped(mode: CheckpointMode, reason: impl Into<String>) -> CheckpointRecord {
        CheckpointRecord {
            mode,
            ref_name: None,
            commit: None,
            files_changed: 0,
            skipped_reason: Some(reason.into()),
            warnings: Vec::new(),
            pushed: None,
            push_error: None,
            note: None,
        }
    }
}

/// Takes a checkpoint of `root`'s working tree; never pushes (the session
/// pushes it with [`push_record`] under its retry policy and circuit
/// breaker). Blocking: call it off the async workers. Never fails the run:
/// problems become `skipped_reason` or `warnings`, and the repository is
/// left unlocked.
pub fn checkpoint(
    root: &Path,
    git: &GitConfig,
    report_dir: &Path,
    ctx: &CheckpointContext,
) -> CheckpointRecord {
    if git.mode == CheckpointMode::Off {
        return CheckpointRecord::skipped(git.mode, OFF);
    }
    // A panic inside git2 or a callback must not take the cycle down; the
    // index lock's guard still runs while unwinding.
    let taken = catch_unwind(AssertUnwindSafe(|| take::take(root, git, report_dir, ctx)));
    let mut record = match taken {
        Ok(Ok(record)) => record,
        Ok(Err(e)) => CheckpointRecord::skipped(git.mode, e.to_string()),
        Err(_) => {
            CheckpointRecord::skipped(git.mode, "checkpoint aborted by an internal error (panic)")
        }
    };
    if let Some(refused) = &git.push_refused {
        record.warnings.push(refused.clone());
    }
    record
}
