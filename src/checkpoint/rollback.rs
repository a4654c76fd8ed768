//! Rolling the working tree back to the last green checkpoint after a red
//! run (`--rollback`): the files the green checkpoint tracks get its content
//! back; HEAD, the branches and the index are not written.
//!
//! Nothing may be lost. A file is only overwritten when its current content
//! is what this run's failing checkpoint holds, so `auto-etl restore RUN:ITER`
//! brings it back. If any file the rollback would overwrite changed after
//! that checkpoint was taken (e.g. a step rewrote a tracked file), or is out
//! of checkpoints (excluded, too large), the whole rollback is refused and
//! the working tree is left exactly as it is. Untracked files and files the
//! green checkpoint does not have are never touched.

use super::exclude::Exclusions;
use super::repo::{self, LAST_GREEN};
use super::CheckpointRecord;
use crate::config::{CheckpointMode, GitConfig};
use git2::{build::CheckoutBuilder, Delta, DiffOptions, Oid, Repository, Tree};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Files named in the report at most (the count is kept in full).
const MAX_LISTED: usize = 20;

/// What a rollback was asked to do.
pub struct RollbackRequest<'a> {
    pub root: &'a Path,
    pub git: &'a GitConfig,
    pub report_dir: &'a Path,
    pub run_id: &'a str,
    /// The last iteration, whose checkpoint holds the failing state.
    pub iteration: u32,
    pub failing: &'a CheckpointRecord,
}

/// What a rollback did, for the report's `recovery_actions`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackOutcome {
    pub success: bool,
    /// `RUN:ITER` of the failing checkpoint, when there is one.
    pub from: Option<String>,
    pub from_commit: Option<String>,
    pub to_commit: Option<String>,
    /// Files given the green content again (relative, `/`-separated).
    pub restored: Vec<String>,
    /// Why nothing was rolled back, or what went wrong.
    pub reason: Option<String>,
}

impl RollbackOutcome {
    fn refused(mut self, reason: impl Into<String>) -> RollbackOutcome {
        self.success = false;
        self.restored.clear();
        self.reason = Some(reason.into());
        self
    }

    /// The report's `config` of the `rollback` action.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "from": self.from,
            "from_commit": self.from_commit,
            "to": "last-green",
            "to_commit": self.to_commit,
            "files_restored": self.restored.len(),
            "files": self.restored.iter().take(MAX_LISTED).collect::<Vec<_>>(),
            "reason": self.reason,
        })
    }
}

/// Whether a run that ended with `status` is red enough to roll back: a
/// failed or non-retryable run, not an interrupted one (the user stopped it
/// and gets the working tree as it is).
pub fn wanted(status: &str) -> bool {
    matches!(status, "failed" | "non_retryable")
}

/// The files to restore: those differing from the green checkpoint, minus
/// the ones checkpoints never hold; refused when any of them is not in the
/// failing checkpoint. A path counts as "not held" when it, anything under
/// it, or a directory above it differs from the failing checkpoint: a file
/// `foo` to restore where the disk now has `foo/secret` would overwrite that
/// directory. Pure.
pub fn plan(
    differ_from_green: &[String],
    differ_from_failing: &[String],
    excluded: impl Fn(&str) -> bool,
) -> Result<Vec<String>, String> {
    let files: Vec<String> = differ_from_green
        .iter()
        .filter(|p| !excluded(p))
        .cloned()
        .collect();
    let uncaptured: Vec<&str> = files
        .iter()
        .filter(|p| differ_from_failing.iter().any(|q| overlaps(p, q)))
        .map(String::as_str)
        .collect();
    if uncaptured.is_empty() {
        return Ok(files);
    }
    let shown: Vec<&str> = uncaptured.iter().take(5).copied().collect();
    Err(format!(
        "{} changed after the failing checkpoint was taken ({}{}): rolling back would lose {}; nothing rolled back",
        if uncaptured.len() == 1 { "a file" } else { "files" },
        shown.join(", "),
        if uncaptured.len() > shown.len() { ", ..." } else { "" },
        if uncaptured.len() == 1 { "it" } else { "them" },
    ))
}

/// Whether writing `p` can touch `q`: the same path, `q` inside `p`, or `p`
/// inside `q`.
fn overlaps(p: &str, q: &str) -> bool {
    let under =
        |a: &str, b: &str| a.len() > b.len() && a.starts_with(b) && a.as_bytes()[b.len()] == b'/';
    p == q || under(q, p) || under(p, q)
}

/// Paths of `files` whose restore would replace something of another kind on
/// disk: a directory where the file goes, or a file (or symlink) where one
/// of its parent directories goes. Checkout would delete it, with whatever
/// ignored or untracked content it holds.
fn kind_clashes(workdir: &Path, files: &[String]) -> Vec<String> {
    let is_dir = |p: &Path| std::fs::symlink_metadata(p).map(|m| m.is_dir()).ok();
    files
        .iter()
        .filter(|f| {
            let target = workdir.join(f.as_str());
            if is_dir(&target) == Some(true) {
                return true;
            }
            Path::new(f.as_str())
                .ancestors()
                .skip(1)
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| is_dir(&workdir.join(a)) == Some(false))
        })
        .cloned()
        .collect()
}

/// Rolls the working tree back to `refs/auto-etl/last-green`. Blocking (git2):
/// call it off the async workers. Never fails the run: a rollback that could
/// not be done says why.
pub fn rollback(req: &RollbackRequest) -> RollbackOutcome {
    let mut out = RollbackOutcome {
        from_commit: req.failing.commit.clone(),
        from: req
            .failing
            .commit
            .as_ref()
            .map(|_| format!("{}:{}", req.run_id, req.iteration)),
        ..RollbackOutcome::default()
    };
    if req.git.mode == CheckpointMode::Off {
        return out.refused(
            "checkpoints are off: the failing state could not be kept, so the working tree was left alone",
        );
    }
    let Some(failing) = req.failing.commit.clone() else {
        let why = req.failing.skipped_reason.as_deref().unwrap_or("no commit");
        return out.refused(format!(
            "the last iteration's checkpoint was skipped ({why}): the failing state is not kept, so the working tree was left alone"
        ));
    };
    match catch_unwind(AssertUnwindSafe(|| restore(req, &failing, &mut out))) {
        Ok(Ok(())) => out,
        Ok(Err(why)) => out.refused(why),
        Err(_) => out.refused("rollback aborted by an internal error (panic)"),
    }
}

fn restore(req: &RollbackRequest, failing: &str, out: &mut RollbackOutcome) -> Result<(), String> {
    let repo = repo::open(req.root).map_err(|e| e.to_string())?;
    let green = repo.refname_to_id(LAST_GREEN).map_err(|_| {
        format!("no green checkpoint yet ({LAST_GREEN} does not exist): nothing to roll back to")
    })?;
    out.to_commit = Some(green.to_string());
    on_this_branch(&repo, green)?;
    let green_tree = tree_of(&repo, green, "the last green checkpoint")?;
    let failing_id =
        Oid::from_str(failing).map_err(|e| format!("bad checkpoint id {failing}: {e}"))?;
    let failing_tree = tree_of(&repo, failing_id, "the failing checkpoint")?;

    let from_green = differing(&repo, &green_tree, &[])?;
    let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
    let report_rel = super::take::relative_report_dir(&workdir, req.root, req.report_dir);
    let (exclusions, _) = Exclusions::new(&req.git.exclude, report_rel.as_deref());
    // Exclusions are applied once, by plan().
    let from_failing = differing(&repo, &failing_tree, &from_green)?;
    let files = plan(&from_green, &from_failing, |p| {
        exclusions.check(p).is_some()
    })?;
    let clashes = kind_clashes(&workdir, &files);
    if !clashes.is_empty() {
        let shown: Vec<&str> = clashes.iter().take(5).map(String::as_str).collect();
        return Err(format!(
            "{} a directory or file of another kind on disk now ({}{}): rolling back would delete what it holds; nothing rolled back",
            if clashes.len() == 1 { "a path to restore is" } else { "paths to restore are" },
            shown.join(", "),
            if clashes.len() > shown.len() { ", ..." } else { "" },
        ));
    }
    if files.is_empty() {
        out.success = true;
        out.reason = Some("the working tree already matches the last green checkpoint".into());
        return Ok(());
    }
    let mut checkout = CheckoutBuilder::new();
    checkout
        .force()
        .update_index(false)
        .disable_pathspec_match(true);
    for f in &files {
        checkout.path(f);
    }
    repo.checkout_tree(green_tree.as_object(), Some(&mut checkout))
        .map_err(|e| format!("failed to write the green files: {}", e.message()))?;
    let left = differing(&repo, &green_tree, &files)?;
    if !left.is_empty() {
        return Err(format!(
            "{} still differ(s) from the last green checkpoint after the rollback",
            left.join(", ")
        ));
    }
    out.success = true;
    out.restored = files;
    Ok(())
}

/// Checkpoint commits followed back to the commit they were taken on, at
/// most (a run's chain is one commit per iteration).
const MAX_CHAIN: usize = 10_000;

/// `refs/auto-etl/last-green` is repository-wide: it may have been taken on
/// another branch. Its files are only this branch's last green state when
/// the commit it was taken on (the first non-checkpoint commit on its chain)
/// is HEAD or an ancestor of HEAD; otherwise rolling back would bring the
/// other branch's work into this working tree.
fn on_this_branch(repo: &Repository, green: Oid) -> Result<(), String> {
    let head = repo::head_commit(repo)
        .map_err(|e| e.to_string())?
        .ok_or("HEAD has no commit yet: the last green checkpoint cannot be from this branch; nothing rolled back")?;
    let mut base = repo.find_commit(green).map_err(|e| {
        format!(
            "cannot read the last green checkpoint ({green}): {}",
            e.message()
        )
    })?;
    for _ in 0..MAX_CHAIN {
        let is_checkpoint = base
            .message()
            .and_then(|m| super::message::trailer(m, super::message::TRAILER_RUN))
            .is_some();
        if !is_checkpoint {
            break;
        }
        match base.parent(0) {
            Ok(p) => base = p,
            Err(_) => break,
        }
    }
    let base = base.id();
    if base == head || repo.graph_descendant_of(head, base).unwrap_or(false) {
        return Ok(());
    }
    Err(format!(
        "the last green checkpoint ({}) was taken on {}, which is not HEAD or an ancestor of HEAD ({}): it belongs to another branch, so rolling back would bring that branch's files here; nothing rolled back",
        short(green),
        short(base),
        short(head),
    ))
}

fn short(id: Oid) -> String {
    id.to_string().chars().take(10).collect()
}

fn tree_of<'r>(repo: &'r Repository, commit: Oid, what: &str) -> Result<Tree<'r>, String> {
    repo.find_commit(commit)
        .and_then(|c| c.tree())
        .map_err(|e| format!("cannot read {what} ({commit}): {}", e.message()))
}

/// Paths whose working-tree state differs from `tree`: changed, deleted or
/// of another type; with `only` non-empty, among those paths, and then a
/// path the tree lacks but the disk has (tracked or not) differs too.
fn differing(repo: &Repository, tree: &Tree, only: &[String]) -> Result<Vec<String>, String> {
    let mut opts = DiffOptions::new();
    opts.include_typechange(true);
    if !only.is_empty() {
        opts.disable_pathspec_match(true)
            .include_untracked(true)
            .include_ignored(true)
            .recurse_untracked_dirs(true)
            .recurse_ignored_dirs(true);
        for p in only {
            opts.pathspec(p);
        }
    }
    let diff = repo
        .diff_tree_to_workdir(Some(tree), Some(&mut opts))
        .map_err(|e| format!("cannot compare the working tree: {}", e.message()))?;
    let mut paths = Vec::new();
    for d in diff.deltas() {
        let counts = match d.status() {
            Delta::Modified | Delta::Deleted | Delta::Typechange => true,
            Delta::Untracked | Delta::Ignored | Delta::Added => !only.is_empty(),
            _ => false,
        };
        let file = if d.status() == Delta::Deleted {
            d.old_file()
        } else {
            d.new_file()
        };
        if let (true, Some(p)) = (counts, file.path().and_then(Path::to_str)) {
            paths.push(p.to_string());
        }
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plans_follow_what_the_failing_checkpoint_holds() {
        let none = |_: &str| false;
        let env = |p: &str| p.ends_with(".env");
        // (differ from green, differ from failing, excluded, expected)
        type Row<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            &'a dyn Fn(&str) -> bool,
            Result<Vec<String>, ()>,
        );
        let table: Vec<Row> = vec![
            (&[], &[], &none, Ok(v(&[]))),
            (&["etl.py"], &[], &none, Ok(v(&["etl.py"]))),
            (
                &["etl.py", "a/b.sql"],
                &[],
                &none,
                Ok(v(&["etl.py", "a/b.sql"])),
            ),
            // the step rewrote etl.py after the checkpoint: refuse it all
            (&["etl.py", "a/b.sql"], &["etl.py"], &none, Err(())),
            // a file only the failing side differs on is not rolled back
            (&["etl.py"], &["new.py"], &none, Ok(v(&["etl.py"]))),
            // excluded files are never touched, captured or not
            (&["etl.py", "x.env"], &["x.env"], &env, Ok(v(&["etl.py"]))),
            // a file to restore where a directory with content now is
            (&["foo"], &["foo/data.secret"], &none, Err(())),
            // a file to restore inside a path that is now something else
            (&["a/b.sql"], &["a"], &none, Err(())),
            // a sibling sharing the prefix is not inside
            (&["foo"], &["foobar/x"], &none, Ok(v(&["foo"]))),
        ];
        for (i, (green, failing, excluded, want)) in table.into_iter().enumerate() {
            let got = plan(&v(green), &v(failing), excluded).map_err(|_| ());
            assert_eq!(got, want, "row {i}");
        }
    }

    #[test]
    fn a_refusal_names_the_files_that_would_be_lost() {
        let e = plan(&v(&["etl.py"]), &v(&["etl.py"]), |_| false).unwrap_err();
        assert!(
            e.contains("etl.py") && e.contains("nothing rolled back"),
            "{e}"
        );
    }

    #[test]
    fn only_red_runs_roll_back() {
        for (status, want) in [
            ("failed", true),
            ("non_retryable", true),
            ("success", false),
            ("interrupted", false),
            ("error", false),
        ] {
            assert_eq!(wanted(status), want, "{status}");
        }
    }
}
