//! Iteration outcomes: recording them against their checkpoints (the
//! iteration tag's status, `refs/auto-etl/last-green`) and reading them back
//! for `checkpoints` and `restore`.

use super::message::{self, TRAILER_STATUS};
use super::repo::{self, git_err, CheckpointError};
use super::CheckpointRecord;
use git2::{Oid, Repository};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Records an iteration's outcome against its checkpoint: the iteration
/// tag's status becomes `success` or `failed`, and a green iteration moves
/// `refs/auto-etl/last-green` to its checkpoint commit. Returns a warning
/// when that could not be done; a skipped checkpoint has nothing to mark.
pub fn mark_outcome(
    root: &Path,
    record: &CheckpointRecord,
    run_id: &str,
    iteration: u32,
    success: bool,
) -> Option<String> {
    let commit = record.commit.as_deref()?;
    let marked = catch_unwind(AssertUnwindSafe(|| {
        mark(root, commit, run_id, iteration, success)
    }));
    match marked {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!(
            "checkpoint outcome of iteration {iteration} not recorded: {e}"
        )),
        Err(_) => Some(format!(
            "checkpoint outcome of iteration {iteration} not recorded: internal error (panic)"
        )),
    }
}

fn mark(
    root: &Path,
    commit: &str,
    run_id: &str,
    iteration: u32,
    success: bool,
) -> Result<(), CheckpointError> {
    let repo = repo::open(root)?;
    let run = repo::run_component(run_id)?;
    let oid = Oid::from_str(commit).map_err(git_err("read the checkpoint commit id"))?;
    // Keep the checkpoint's own time as the tag's time.
    let tagger = repo
        .find_reference(&repo::iteration_ref(run, iteration))
        .and_then(|r| r.peel_to_tag())
        .ok()
        .and_then(|t| t.tagger().map(|s| s.to_owned()))
        .unwrap_or_else(|| repo::signature(&repo));
    let status = if success { "success" } else { "failed" };
    repo::write_iteration_tag(&repo, run, iteration, oid, status, &tagger)?;
    if success {
        let log = format!("auto-etl: last green: run {run} iteration {iteration}");
        repo.reference(repo::LAST_GREEN, oid, true, &log)
            .map_err(git_err("update refs/auto-etl/last-green"))?;
    }
    Ok(())
}

/// One iteration's checkpoint as stored in the repository.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub run: String,
    pub iteration: u32,
    /// `pending`, `success` or `failed`.
    pub status: String,
    pub commit: String,
    /// When the checkpoint was taken, RFC 3339 UTC.
    pub time: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
}

/// The stored checkpoints of `run` (all runs when `None`), by run and
/// iteration.
pub fn entries(repo: &Repository, run: Option<&str>) -> Result<Vec<Entry>, git2::Error> {
    let glob = match run {
        Some(r) => format!("{}{r}/*", repo::ITERATIONS),
        None => format!("{}*", repo::ITERATIONS),
    };
    let mut out = Vec::new();
    for reference in repo.references_glob(&glob)? {
        let reference = reference?;
        let Some(name) = reference.name().map(str::to_string) else {
            continue;
        };
        let Some((run, iteration)) = parse_iteration_ref(&name) else {
            continue;
        };
        let Ok(commit) = reference.peel_to_commit() else {
            continue;
        };
        let (status, seconds) = match reference.peel_to_tag() {
            Ok(tag) => (
                tag.message()
                    .and_then(|m| message::trailer(m, TRAILER_STATUS))
                    .unwrap_or("unknown")
                    .to_string(),
                tag.tagger().map(|s| s.when().seconds()),
            ),
            Err(_) => ("unknown".to_string(), None),
        };
        let seconds = seconds.unwrap_or_else(|| commit.time().seconds());
        out.push(Entry {
            run,
            iteration,
            status,
            commit: commit.id().to_string(),
            time: rfc3339(seconds),
            ref_name: name,
        });
    }
    out.sort_by(|a, b| (&a.run, a.iteration).cmp(&(&b.run, b.iteration)));
    Ok(out)
}

/// `refs/auto-etl/iterations/<run>/<iter>` → (run, iter).
pub fn parse_iteration_ref(name: &str) -> Option<(String, u32)> {
    let rest = name.strip_prefix(repo::ITERATIONS)?;
    let (run, iter) = rest.rsplit_once('/')?;
    if run.is_empty() || run.contains('/') {
        return None;
    }
    Some((run.to_string(), iter.parse().ok()?))
}

fn rfc3339(seconds: i64) -> String {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iteration_refs_parse() {
        assert_eq!(
            parse_iteration_ref("refs/auto-etl/iterations/20250109_123456/12"),
            Some(("20250109_123456".into(), 12))
        );
        assert_eq!(parse_iteration_ref("refs/auto-etl/iterations/r/x"), None);
        assert_eq!(parse_iteration_ref("refs/auto-etl/iterations/a/b/1"), None);
        assert_eq!(parse_iteration_ref("refs/auto-etl/runs/r"), None);
    }

    #[test]
    fn times_are_utc_rfc3339() {
        assert_eq!(rfc3339(1_736_426_096), "2025-01-09T12:34:56Z");
    }
}
