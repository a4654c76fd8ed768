//! The `checkpoints` and `restore` commands. Neither touches HEAD, the
//! current branch, the index or the working tree: `restore` only creates a
//! branch (and, if asked, a separate worktree).

use super::message;
use super::outcome::{self, Entry};
use super::repo::{self, LAST_GREEN};
use anyhow::{anyhow, bail, Context};
use git2::{BranchType, Oid, Repository};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Lists the checkpoints of `run` (all runs when `None`) as a table or as
/// JSON `{"checkpoints": [{run, iteration, status, commit, time, ref}],
/// "last_green": {commit, run, iteration} | null}`.
pub fn cmd_checkpoints(
    root: &Path,
    run: Option<&str>,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let repo = repo::open(root)?;
    if let Some(r) = run {
        repo::run_component(r)?;
    }
    let entries =
        outcome::entries(&repo, run).context("failed to read refs/auto-etl/iterations")?;
    if let (Some(r), true) = (run, entries.is_empty()) {
        bail!("no checkpoints for run `{r}` (`auto-etl checkpoints` lists all runs)");
    }
    let green = last_green(&repo, &entries);
    if json {
        let value = serde_json::json!({
            "checkpoints": entries,
            "last_green": green.as_ref().map(|(commit, at)| serde_json::json!({
                "commit": commit.to_string(),
                "run": at.as_ref().map(|e| e.run.clone()),
                "iteration": at.as_ref().map(|e| e.iteration),
            })),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(crate::exit::SUCCESS);
    }
    if entries.is_empty() {
        writeln!(out, "no checkpoints yet")?;
        return Ok(crate::exit::SUCCESS);
    }
    let width = entries
        .iter()
        .map(|e| e.run.len())
        .max()
        .unwrap_or(3)
        .max(3);
    writeln!(
        out,
        "{:<width$}  {:>4}  {:<8}  {:<10}  TIME",
        "RUN", "ITER", "STATUS", "COMMIT"
    )?;
    for e in &entries {
        writeln!(
            out,
            "{:<width$}  {:>4}  {:<8}  {:<10}  {}",
            e.run,
            e.iteration,
            e.status,
            &e.commit[..10.min(e.commit.len())],
            e.time
        )?;
    }
    if let Some((commit, at)) = green {
        let short = &commit.to_string()[..10];
        match at {
            Some(e) => writeln!(
                out,
                "last-green: {short} (run {} iteration {})",
                e.run, e.iteration
            )?,
            None => writeln!(out, "last-green: {short}")?,
        }
    }
    Ok(crate::exit::SUCCESS)
}

/// Brings a checkpoint back as a new branch (default
/// `auto-etl/restore-<run>-<iter>`), or checked out in a new worktree at
/// `worktree`. `target` is `RUN:ITER` or `last-green`.
pub fn cmd_restore(
    root: &Path,
    target: &str,
    to_branch: Option<&str>,
    worktree: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let repo = repo::open(root)?;
    let (commit, label, default_branch) = resolve(&repo, target)?;
    let branch = to_branch.map(str::to_string).unwrap_or(default_branch);
    if !git2::Branch::name_is_valid(&branch).unwrap_or(false) {
        bail!("`{branch}` is not a valid branch name");
    }
    if repo.find_branch(&branch, BranchType::Local).is_ok() {
        bail!("branch `{branch}` already exists: choose another name with --to-branch");
    }
    if let Some(path) = worktree {
        let busy = path.exists()
            && path
                .read_dir()
                .map(|mut d| d.next().is_some())
                .unwrap_or(true);
        if busy {
            bail!(
                "{} already exists and is not empty: choose a new worktree path",
                path.display()
            );
        }
    }
    let target_commit = repo
        .find_commit(commit)
        .context("failed to read the checkpoint commit")?;
    repo.branch(&branch, &target_commit, false)
        .with_context(|| format!("failed to create branch `{branch}`"))?;
    let short = &commit.to_string()[..10];
    writeln!(out, "restored {label} (commit {short}) as branch {branch}")?;
    match worktree {
        Some(path) => {
            if let Err(e) = add_worktree(&repo, path, &branch) {
                // Leave nothing half-made behind.
                if let Ok(mut b) = repo.find_branch(&branch, BranchType::Local) {
                    let _ = b.delete();
                }
                return Err(e);
            }
            writeln!(out, "worktree: {} (on {branch})", path.display())?;
        }
        None => writeln!(out, "see it with: git switch {branch}")?,
    }
    Ok(crate::exit::SUCCESS)
}

/// The commit, a label for messages and the default branch name of `target`.
fn resolve(repo: &Repository, target: &str) -> anyhow::Result<(Oid, String, String)> {
    if target == "last-green" {
        let commit = repo
            .refname_to_id(LAST_GREEN)
            .map_err(|_| anyhow!("no green checkpoint yet: {LAST_GREEN} does not exist"))?;
        let entries = outcome::entries(repo, None).unwrap_or_default();
        let at = green_entry(&entries, commit)
            .map(|e| (e.run.clone(), e.iteration))
            .or_else(|| from_trailers(repo, commit));
        return Ok(match at {
            Some((run, iter)) => (
                commit,
                format!("last-green: run {run} iteration {iter}"),
                format!("auto-etl/restore-{run}-{iter}"),
            ),
            None => (
                commit,
                "last-green".into(),
                format!("auto-etl/restore-last-green-{}", &commit.to_string()[..10]),
            ),
        });
    }
    let Some((run, iter)) = target.split_once(':') else {
        bail!("`{target}` is not RUN:ITER or last-green (e.g. 20250109_123456:2)");
    };
    let iteration: u32 = iter
        .parse()
        .map_err(|_| anyhow!("`{iter}` in `{target}` is not an iteration number"))?;
    repo::run_component(run)?;
    let reference = repo::iteration_ref(run, iteration);
    let Ok(commit) = repo
        .find_reference(&reference)
        .and_then(|r| r.peel_to_commit())
    else {
        let known: Vec<String> = outcome::entries(repo, Some(run))
            .unwrap_or_default()
            .iter()
            .map(|e| e.iteration.to_string())
            .collect();
        if known.is_empty() {
            bail!("no checkpoints for run `{run}` (`auto-etl checkpoints` lists the runs)");
        }
        bail!(
            "run `{run}` has no checkpoint for iteration {iteration} (it has: {})",
            known.join(", ")
        );
    };
    Ok((
        commit.id(),
        format!("run {run} iteration {iteration}"),
        format!("auto-etl/restore-{run}-{iteration}"),
    ))
}

/// `refs/auto-etl/last-green` and the green iteration it came from.
fn last_green<'e>(repo: &Repository, entries: &'e [Entry]) -> Option<(Oid, Option<&'e Entry>)> {
    let commit = repo.refname_to_id(LAST_GREEN).ok()?;
    Some((commit, green_entry(entries, commit)))
}

/// The latest green iteration whose checkpoint is `commit`.
fn green_entry(entries: &[Entry], commit: Oid) -> Option<&Entry> {
    let id = commit.to_string();
    entries
        .iter()
        .filter(|e| e.commit == id && e.status == "success")
        .max_by(|a, b| (&a.time, &a.run, a.iteration).cmp(&(&b.time, &b.run, b.iteration)))
}

fn from_trailers(repo: &Repository, commit: Oid) -> Option<(String, u32)> {
    let c = repo.find_commit(commit).ok()?;
    let m = c.message()?;
    let run = message::trailer(m, message::TRAILER_RUN)?.to_string();
    let iter = message::trailer(m, message::TRAILER_ITERATION)?
        .parse()
        .ok()?;
    Some((run, iter))
}

/// `git worktree add PATH BRANCH`: libgit2's worktree support does not run
/// git's checkout machinery (hooks, sparse checkout, filters) as faithfully.
fn add_worktree(repo: &Repository, path: &Path, branch: &str) -> anyhow::Result<()> {
    let dir = repo.workdir().unwrap_or_else(|| repo.path());
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["worktree", "add", "--quiet"])
        .arg(path)
        .arg(branch)
        .output()
        .context("failed to run `git worktree add` (is git installed?)")?;
    if !output.status.success() {
        bail!(
            "git worktree add {} {branch} failed: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
