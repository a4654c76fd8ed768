//! Git checkpoints with git2: a snapshot before every iteration.
//! (Skeleton: the real implementation lands with the checkpoint issue.)

use crate::config::{CheckpointMode, GitConfig};
use serde::Serialize;
use std::path::Path;

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
    #[serde(rename = "ref")]
    pub ref_name: Option<String>,
    pub commit: Option<String>,
    pub files_changed: u32,
    pub skipped_reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push_error: Option<String>,
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
        }
    }
}

/// Takes a checkpoint of `root`'s working tree. Blocking: call it off the
/// async workers. Never fails the run: problems become `skipped_reason`.
pub fn checkpoint(
    root: &Path,
    git: &GitConfig,
    report_dir: &Path,
    ctx: &CheckpointContext,
) -> CheckpointRecord {
    let _ = (root, report_dir, ctx);
    CheckpointRecord::skipped(git.mode, "git checkpoints are not built yet")
}

/// Records an iteration's outcome against its checkpoint (e.g. last-green).
pub fn mark_outcome(
    root: &Path,
    record: &CheckpointRecord,
    run_id: &str,
    iteration: u32,
    success: bool,
) -> Option<String> {
    let _ = (root, record, run_id, iteration, success);
    None
}
