//! The git side shared by checkpoints, outcomes and the commands: opening
//! the repository, the ref layout under `refs/auto-etl/`, signatures and the
//! per-iteration tags that carry an iteration's status.
//!
//! Ref layout (all outside `refs/heads` and `refs/tags`, so `git branch`,
//! `git tag` and `git log` show nothing new):
//! - `refs/auto-etl/runs/<run>`: the run's chain of checkpoint commits (ref
//!   mode); each commit's parent is the run's previous checkpoint, the first
//!   one's is HEAD.
//! - `refs/auto-etl/iterations/<run>/<iter>`: an annotated tag object on the
//!   checkpoint commit taken before that iteration; its message carries the
//!   iteration's status (`pending` until `mark_outcome`), its tagger time the
//!   moment of the checkpoint. Both modes write it; `checkpoints` lists them.
//! - `refs/auto-etl/last-green`: the commit of the latest green iteration.

use super::message;
use git2::{ErrorCode, ObjectType, Oid, Repository, Signature};
use std::path::{Path, PathBuf};

/// Prefix of the run chains.
pub const RUNS: &str = "refs/auto-etl/runs/";
/// Prefix of the per-iteration tags.
pub const ITERATIONS: &str = "refs/auto-etl/iterations/";
/// The latest green checkpoint.
pub const LAST_GREEN: &str = "refs/auto-etl/last-green";

/// Why a checkpoint was not taken (becomes `skipped_reason`).
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a git repository: {}", .0.display())]
    NotARepository(PathBuf),
    #[error("git repository at {} has no working tree (bare)", .0.display())]
    Bare(PathBuf),
    #[error("cannot open the git repository at {}: {}", .dir.display(), .source.message())]
    Open { dir: PathBuf, source: git2::Error },
    #[error("HEAD is detached: branch mode commits onto the current branch; check out a branch, or use checkpoint = \"ref\"")]
    DetachedHead,
    #[error("a {0} is in progress: finish or abort it first (branch mode does not commit in the middle of it)")]
    InProgress(String),
    #[error("{} exists: another git process is using the index; checkpoint skipped, lock left alone", .0.display())]
    IndexLocked(PathBuf),
    #[error("the index has unresolved conflicts: resolve them first")]
    Conflicts,
    #[error("{0} is staged with content that differs from the working tree: branch mode would replace what you staged; commit or unstage it, or use checkpoint = \"ref\"")]
    StagedDiffers(String),
    #[error("run id `{0}` cannot be part of a git ref name")]
    BadRunId(String),
    #[error("failed to {what}: {}", .source.message())]
    Git {
        what: &'static str,
        source: git2::Error,
    },
    #[error("failed to {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

/// Shorthand for wrapping a git2 error with what was being done.
pub fn git_err(what: &'static str) -> impl FnOnce(git2::Error) -> CheckpointError {
    move |source| CheckpointError::Git { what, source }
}

/// Opens the repository that contains `root` (which may be a subdirectory).
pub fn open(root: &Path) -> Result<Repository, CheckpointError> {
    let repo = Repository::discover(root).map_err(|e| match e.code() {
        ErrorCode::NotFound => CheckpointError::NotARepository(root.to_path_buf()),
        _ => CheckpointError::Open {
            dir: root.to_path_buf(),
            source: e,
        },
    })?;
    if repo.is_bare() || repo.workdir().is_none() {
        return Err(CheckpointError::Bare(repo.path().to_path_buf()));
    }
    Ok(repo)
}

/// The run id as a ref component, or an error when git cannot store it.
pub fn run_component(run_id: &str) -> Result<&str, CheckpointError> {
    let ok = !run_id.is_empty()
        && !run_id.contains('/')
        && git2::Reference::is_valid_name(&format!("{RUNS}{run_id}"))
        && git2::Reference::is_valid_name(&format!("{ITERATIONS}{run_id}/1"));
    if ok {
        Ok(run_id)
    } else {
        Err(CheckpointError::BadRunId(run_id.to_string()))
    }
}

/// `refs/auto-etl/runs/<run>`.
pub fn run_ref(run: &str) -> String {
    format!("{RUNS}{run}")
}

/// `refs/auto-etl/iterations/<run>/<iter>`.
pub fn iteration_ref(run: &str, iteration: u32) -> String {
    format!("{ITERATIONS}{run}/{iteration}")
}

/// The signature from the repository's git config (`user.name`,
/// `user.email`), else `auto-etl <auto-etl@localhost>`.
pub fn signature(repo: &Repository) -> Signature<'static> {
    repo.signature().unwrap_or_else(|_| fallback_signature())
}

/// `auto-etl <auto-etl@localhost>`, now.
pub fn fallback_signature() -> Signature<'static> {
    Signature::now("auto-etl", "auto-etl@localhost").expect("a constant signature is valid")
}

/// The commit HEAD points at; `None` on an unborn branch.
pub fn head_commit(repo: &Repository) -> Result<Option<Oid>, CheckpointError> {
    match repo.head() {
        Ok(r) => Ok(Some(
            r.peel_to_commit()
                .map_err(git_err("read the HEAD commit"))?
                .id(),
        )),
        Err(e) if matches!(e.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => Ok(None),
        Err(e) => Err(CheckpointError::Git {
            what: "read HEAD",
            source: e,
        }),
    }
}

/// Points the iteration's ref at a fresh tag object on `commit` with
/// `status`. The tagger (and so the time `checkpoints` shows) is `tagger`.
pub fn write_iteration_tag(
    repo: &Repository,
    run: &str,
    iteration: u32,
    commit: Oid,
    status: &str,
    tagger: &Signature,
) -> Result<(), CheckpointError> {
    let target = repo
        .find_object(commit, Some(ObjectType::Commit))
        .map_err(git_err("find the checkpoint commit"))?;
    let tag = repo
        .tag_annotation_create(
            &format!("auto-etl/{run}/{iteration}"),
            &target,
            tagger,
            &message::tag_message(run, iteration, status),
        )
        .map_err(git_err("write the iteration tag"))?;
    let log = format!("auto-etl: run {run} iteration {iteration}: {status}");
    repo.reference(&iteration_ref(run, iteration), tag, true, &log)
        .map_err(git_err("update the iteration ref"))?;
    Ok(())
}
