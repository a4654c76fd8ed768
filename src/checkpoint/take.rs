//! Taking one checkpoint, in ref mode (a side chain; HEAD, index, working
//! tree and branch untouched) or branch mode (a normal commit on the current
//! branch, index included).

use super::exclude::Exclusions;
use super::index_lock::IndexLock;
use super::push::{self, PushError};
use super::repo::{self, git_err, CheckpointError};
use super::snapshot::{self, Limits};
use super::{message, CheckpointContext, CheckpointRecord};
use crate::config::{CheckpointMode, GitConfig};
use git2::{Index, Oid, Repository, RepositoryState, Signature};
use std::path::{Path, PathBuf};

/// What a mode made: where the checkpoint lives and what changed.
struct Made {
    ref_name: String,
    commit: Oid,
    files_changed: u32,
    note: Option<String>,
}

/// Takes the checkpoint (no push); an `Err` is a reason to skip it.
pub fn take(
    root: &Path,
    git: &GitConfig,
    report_dir: &Path,
    ctx: &CheckpointContext,
) -> Result<CheckpointRecord, CheckpointError> {
    let repo = repo::open(root)?;
    let run = repo::run_component(&ctx.run_id)?;
    let workdir = repo.workdir().map(Path::to_path_buf).unwrap_or_default();
    let report_rel = relative_report_dir(&workdir, root, report_dir);
    let (exclusions, mut warnings) = Exclusions::new(&git.exclude, report_rel.as_deref());
    let limits = Limits {
        exclusions: &exclusions,
        max_file_size: git.max_file_size,
    };
    let sig = repo::signature(&repo);
    let text = message::commit_message(ctx);
    let made = match git.mode {
        CheckpointMode::Ref => ref_mode(&repo, run, &limits, &sig, &text, &mut warnings)?,
        CheckpointMode::Branch => branch_mode(&repo, &limits, &sig, &text, &mut warnings)?,
        CheckpointMode::Off => return Ok(CheckpointRecord::skipped(git.mode, super::OFF)),
    };
    // The commit exists either way; a missing tag only costs the listing.
    if let Err(e) = repo::write_iteration_tag(
        &repo,
        run,
        ctx.iteration,
        made.commit,
        message::STATUS_PENDING,
        &sig,
    ) {
        warnings.push(e.to_string());
    }
    Ok(CheckpointRecord {
        mode: git.mode,
        ref_name: Some(made.ref_name.clone()),
        commit: Some(made.commit.to_string()),
        files_changed: made.files_changed,
        skipped_reason: None,
        warnings,
        pushed: None,
        push_error: None,
        note: made.note,
    })
}

/// Pushes a checkpoint taken earlier in `root`, once.
pub fn push_record(
    root: &Path,
    git: &GitConfig,
    run_id: &str,
    record: &CheckpointRecord,
) -> Result<(), PushError> {
    let repo = repo::open(root).map_err(|e| PushError::Remote(e.to_string()))?;
    let run = repo::run_component(run_id).map_err(|e| PushError::Remote(e.to_string()))?;
    push_taken(&repo, git, run, record)
}

fn push_taken(
    repo: &Repository,
    git: &GitConfig,
    run: &str,
    record: &CheckpointRecord,
) -> Result<(), PushError> {
    let Some(ref_name) = record.ref_name.as_deref() else {
        return Err(PushError::Remote(
            "the checkpoint has no ref to push".into(),
        ));
    };
    let refspecs = refspecs(repo, git.mode, ref_name, run);
    push::push(repo, &git.remote, &refspecs)
}

fn ref_mode(
    repo: &Repository,
    run: &str,
    limits: &Limits,
    sig: &Signature,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Made, CheckpointError> {
    let run_ref = repo::run_ref(run);
    let tip = repo.refname_to_id(&run_ref).ok();
    let (parent, since) = match tip {
        Some(t) => (Some(t), "the last checkpoint"),
        None => (repo::head_commit(repo)?, "HEAD"),
    };
    // The repository's own index object, which the status reuses instead of
    // parsing the file twice. Changed in memory only and never written:
    // `.git/index` stays byte for byte.
    let mut index = repo.index().map_err(git_err("read the index"))?;
    if index.has_conflicts() {
        return Err(CheckpointError::Conflicts);
    }
    let tree = snapshot::build_tree(repo, &mut index, limits, warnings)
        .map_err(git_err("snapshot the working tree"))?;
    let (commit, files_changed, note) =
        commit_if_changed(repo, parent, tree, None, sig, text, since)?;
    if tip != Some(commit) {
        let log = "auto-etl: checkpoint";
        match tip {
            // Compare-and-swap: a concurrent writer of the same run loses loudly.
            Some(old) => repo.reference_matching(&run_ref, commit, true, old, log),
            None => repo.reference(&run_ref, commit, false, log),
        }
        .map_err(git_err("update the run ref"))?;
    }
    Ok(Made {
        ref_name: run_ref,
        commit,
        files_changed,
        note,
    })
}

fn branch_mode(
    repo: &Repository,
    limits: &Limits,
    sig: &Signature,
    text: &str,
    warnings: &mut Vec<String>,
) -> Result<Made, CheckpointError> {
    let state = repo.state();
    if state != RepositoryState::Clean {
        return Err(CheckpointError::InProgress(describe_state(state).into()));
    }
    let head = repo.find_reference("HEAD").map_err(git_err("read HEAD"))?;
    let Some(branch) = head.symbolic_target().map(str::to_string) else {
        return Err(CheckpointError::DetachedHead);
    };
    if let Some(path) = staged_apart(repo)? {
        return Err(CheckpointError::StagedDiffers(path));
    }
    let lock = IndexLock::acquire(repo.path())?;
    if lock.index_path().exists() {
        std::fs::copy(lock.index_path(), lock.staged_path()).map_err(|source| {
            CheckpointError::Io {
                what: "copy the index",
                source,
            }
        })?;
    }
    let mut index = Index::open(lock.staged_path()).map_err(git_err("read the index"))?;
    if index.has_conflicts() {
        return Err(CheckpointError::Conflicts);
    }
    let tree = snapshot::build_tree(repo, &mut index, limits, warnings)
        .map_err(git_err("snapshot the working tree"))?;
    let parent = repo::head_commit(repo)?;
    if let Some(p) = parent {
        let same = repo
            .find_commit(p)
            .map(|c| c.tree_id() == tree)
            .unwrap_or(false);
        if same {
            // Nothing to commit: the lock goes, the index stays as it was.
            return Ok(Made {
                ref_name: branch,
                commit: p,
                files_changed: 0,
                note: Some("nothing changed since HEAD: no new commit".into()),
            });
        }
    }
    index.write().map_err(git_err("write the new index"))?;
    lock.stage()?;
    // libgit2 refuses if the branch moved since we read HEAD (the parent is
    // checked against the ref's current value); the lock then restores the index.
    let (commit, files_changed, note) =
        commit_if_changed(repo, parent, tree, Some("HEAD"), sig, text, "HEAD")?;
    if let Err(e) = lock.commit() {
        warnings.push(format!(
            "{branch} moved to {commit} but {e}: run `git reset` to bring the index in line"
        ));
    }
    Ok(Made {
        ref_name: branch,
        commit,
        files_changed,
        note,
    })
}

/// The first path whose staged content differs from both HEAD and the
/// working tree: branch mode writes the index, which would lose it.
fn staged_apart(repo: &Repository) -> Result<Option<String>, CheckpointError> {
    let mut opts = git2::StatusOptions::new();
    opts.show(git2::StatusShow::IndexAndWorkdir)
        .include_untracked(false)
        .exclude_submodules(true)
        .update_index(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(git_err("read the status"))?;
    let staged = git2::Status::INDEX_NEW | git2::Status::INDEX_MODIFIED;
    let changed =
        git2::Status::WT_MODIFIED | git2::Status::WT_DELETED | git2::Status::WT_TYPECHANGE;
    Ok(statuses
        .iter()
        .find(|s| s.status().intersects(staged) && s.status().intersects(changed))
        .map(|s| String::from_utf8_lossy(s.path_bytes()).into_owned()))
}

/// Commits `tree` on `parent` unless it is the parent's tree; returns the
/// commit (the parent when unchanged), the files changed and a note.
fn commit_if_changed(
    repo: &Repository,
    parent: Option<Oid>,
    tree: Oid,
    update_ref: Option<&str>,
    sig: &Signature,
    text: &str,
    since: &str,
) -> Result<(Oid, u32, Option<String>), CheckpointError> {
    let parent = parent
        .map(|p| repo.find_commit(p))
        .transpose()
        .map_err(git_err("read the parent commit"))?;
    let new_tree = repo
        .find_tree(tree)
        .map_err(git_err("read the snapshot tree"))?;
    if let Some(p) = parent.as_ref().filter(|p| p.tree_id() == tree) {
        let note = format!("nothing changed since {since}: no new commit");
        return Ok((p.id(), 0, Some(note)));
    }
    let old_tree = parent
        .as_ref()
        .map(|p| p.tree())
        .transpose()
        .map_err(git_err("read the parent tree"))?;
    let diff = repo
        .diff_tree_to_tree(old_tree.as_ref(), Some(&new_tree), None)
        .map_err(git_err("compare with the parent"))?;
    let files = u32::try_from(diff.deltas().len()).unwrap_or(u32::MAX);
    let parents: Vec<_> = parent.iter().collect();
    let id = repo
        .commit(update_ref, sig, sig, text, &new_tree, &parents)
        .map_err(git_err("create the checkpoint commit"))?;
    Ok((id, files, None))
}

/// What to push: the run's chain and its iteration tags (ref mode), or
/// the branch (branch mode).
fn refspecs(repo: &Repository, mode: CheckpointMode, ref_name: &str, run: &str) -> Vec<String> {
    let mut specs = vec![format!("{ref_name}:{ref_name}")];
    if mode == CheckpointMode::Ref {
        let glob = format!("{}{run}/*", repo::ITERATIONS);
        if let Ok(refs) = repo.references_glob(&glob) {
            // Forced: mark_outcome rewrites a tag after it was first pushed.
            specs.extend(
                refs.flatten()
                    .filter_map(|r| r.name().map(|n| format!("+{n}:{n}"))),
            );
        }
    }
    specs
}

/// The report directory relative to the working tree, if it lies inside.
pub(super) fn relative_report_dir(
    workdir: &Path,
    root: &Path,
    report_dir: &Path,
) -> Option<String> {
    let abs = if report_dir.is_absolute() {
        report_dir.to_path_buf()
    } else {
        root.join(report_dir)
    };
    let canonical = |p: &Path| -> PathBuf {
        p.canonicalize()
            .unwrap_or_else(|_| match (p.parent(), p.file_name()) {
                (Some(dir), Some(name)) => dir
                    .canonicalize()
                    .map(|d| d.join(name))
                    .unwrap_or_else(|_| p.to_path_buf()),
                _ => p.to_path_buf(),
            })
    };
    let rel = canonical(&abs)
        .strip_prefix(canonical(workdir))
        .ok()?
        .to_path_buf();
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn describe_state(state: RepositoryState) -> &'static str {
    match state {
        RepositoryState::Merge => "merge",
        RepositoryState::Revert | RepositoryState::RevertSequence => "revert",
        RepositoryState::CherryPick | RepositoryState::CherryPickSequence => "cherry-pick",
        RepositoryState::Bisect => "bisect",
        RepositoryState::Rebase
        | RepositoryState::RebaseInteractive
        | RepositoryState::RebaseMerge => "rebase",
        RepositoryState::ApplyMailbox | RepositoryState::ApplyMailboxOrRebase => "git am",
        RepositoryState::Clean => "clean state",
    }
}
