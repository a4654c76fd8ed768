//! Git checkpoints on real repositories, checked with the `git` command.

use crate::support::{git, AutoEtl};
use auto_etl::checkpoint::{
    checkpoint, mark_outcome, push_record, CheckpointContext, CheckpointRecord, PreviousIteration,
};
use auto_etl::config::{CheckpointMode, GitConfig};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const RUN: &str = "20250109_123456";

fn config(mode: CheckpointMode) -> GitConfig {
    GitConfig {
        mode,
        push: false,
        push_refused: None,
        remote: "origin".into(),
        exclude: vec!["*.key".into(), "data/raw".into()],
        max_file_size: 1000,
    }
}

fn ctx(iteration: u32) -> CheckpointContext {
    let previous = (iteration > 1).then(|| PreviousIteration {
        status: "failed".into(),
        errors: vec!["connection_refused: could not connect to server (line 41)".into()],
        adjustments: vec!["service wait 10s -> 20s (connection_refused)".into()],
    });
    CheckpointContext {
        run_id: RUN.into(),
        iteration,
        previous,
    }
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

/// A repository with one commit on `main`.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Checkpoint Tester"]);
    git(root, &["config", "user.email", "tester@example.com"]);
    write(root, ".gitignore", "ignored.txt\nbuild/\n");
    write(root, "a.txt", "one\n");
    write(root, "src/b.txt", "bee\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "initial"]);
    dir
}

/// Everything a user would look at to see whether git was touched.
#[derive(Debug, PartialEq)]
struct Look {
    head: String,
    branch: String,
    status: String,
    cached: String,
    log: String,
    index: Vec<u8>,
    index_mtime: std::time::SystemTime,
}

fn look(root: &Path) -> Look {
    let index = root.join(".git/index");
    Look {
        head: git(root, &["rev-parse", "HEAD"]),
        branch: git(root, &["branch", "--show-current"]),
        // `--no-optional-locks`: a plain `git status` may refresh (rewrite)
        // the index itself, which would hide what the checkpoint did.
        status: git(
            root,
            &[
                "--no-optional-locks",
                "status",
                "--porcelain",
                "--untracked-files=all",
            ],
        ),
        cached: git(root, &["--no-optional-locks", "diff", "--cached"]),
        log: git(root, &["log", "--oneline"]),
        index: fs::read(&index).unwrap(),
        index_mtime: fs::metadata(&index).unwrap().modified().unwrap(),
    }
}

fn files(root: &Path, commit: &str) -> Vec<String> {
    git(root, &["ls-tree", "-r", "--name-only", commit])
        .lines()
        .map(str::to_string)
        .collect()
}

fn take(root: &Path, cfg: &GitConfig, iteration: u32) -> CheckpointRecord {
    checkpoint(root, cfg, &root.join("logs"), &ctx(iteration))
}

/// A checkpoint pushed the way a run pushes it: taken, then `push_record`.
fn take_and_push(root: &Path, cfg: &GitConfig, iteration: u32) -> CheckpointRecord {
    let mut rec = take(root, cfg, iteration);
    assert_eq!(rec.pushed, None, "a checkpoint pushed by itself: {rec:?}");
    match push_record(root, cfg, RUN, &rec) {
        Ok(()) => rec.pushed = Some(true),
        Err(e) => {
            rec.pushed = Some(false);
            rec.push_error = Some(e.to_string());
        }
    }
    rec
}

fn fsck_clean(root: &Path) {
    let out = Command::new("git")
        .args(["fsck", "--strict"])
        .current_dir(root)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && !text.contains("error") && !text.contains("warning"),
        "{text}"
    );
}

/// Untracked and modified content, plus everything that must stay out.
fn dirty(root: &Path) {
    write(root, "a.txt", "one\ntwo\n");
    write(root, "src/b.txt", "bee staged\n");
    git(root, &["add", "src/b.txt"]);
    write(root, "new/untracked.txt", "fresh\n");
    write(root, ".env", "SECRET=1\n");
    write(root, ".env.local", "SECRET=2\n");
    write(root, "svc/.env.production", "SECRET=3\n");
    write(root, "ignored.txt", "ignored\n");
    write(root, "build/out.o", "ignored dir\n");
    write(root, "certs/server.key", "key\n");
    write(root, "data/raw/dump.csv", "excluded dir\n");
    write(root, "logs/auto_cycle_report_1.json", "{}\n");
    write(root, "big.bin", &"x".repeat(5000));
}

#[test]
fn ref_mode_leaves_head_index_and_status_untouched() {
    let dir = repo();
    let root = dir.path();
    dirty(root);
    let before = look(root);

    let rec = take(root, &config(CheckpointMode::Ref), 1);

    assert_eq!(rec.skipped_reason, None, "{rec:?}");
    assert_eq!(look(root), before);
    fsck_clean(root);
    let commit = rec.commit.clone().unwrap();
    assert_eq!(
        rec.ref_name.as_deref(),
        Some("refs/auto-etl/runs/20250109_123456")
    );
    assert_eq!(
        git(root, &["rev-parse", "refs/auto-etl/runs/20250109_123456"]).trim(),
        commit
    );
    assert_eq!(
        git(root, &["rev-parse", &format!("{commit}^")]),
        before.head
    );
    assert_eq!(rec.files_changed, 3, "{rec:?}");
    assert_eq!(
        files(root, &commit),
        [".gitignore", "a.txt", "new/untracked.txt", "src/b.txt"]
    );
    assert_eq!(
        git(root, &["show", &format!("{commit}:a.txt")]),
        "one\ntwo\n"
    );
    assert_eq!(
        git(root, &["show", &format!("{commit}:src/b.txt")]),
        "bee staged\n"
    );
    assert!(
        rec.warnings.iter().any(|w| w.contains("big.bin")),
        "{:?}",
        rec.warnings
    );
    let msg = git(root, &["log", "-1", "--format=%B", &commit]);
    assert!(
        msg.starts_with("auto-etl checkpoint: run 20250109_123456, iteration 1"),
        "{msg}"
    );
    assert_eq!(
        git(root, &["log", "-1", "--format=%an <%ae>", &commit]).trim(),
        "Checkpoint Tester <tester@example.com>"
    );
}

#[test]
fn a_second_checkpoint_without_changes_makes_no_commit() {
    let dir = repo();
    let root = dir.path();
    write(root, "a.txt", "changed\n");
    let cfg = config(CheckpointMode::Ref);
    let first = take(root, &cfg, 1);
    let second = take(root, &cfg, 2);

    assert_eq!(second.commit, first.commit);
    assert_eq!(second.files_changed, 0);
    assert!(
        second
            .note
            .as_deref()
            .unwrap_or("")
            .contains("nothing changed"),
        "{second:?}"
    );
    assert_eq!(
        git(
            root,
            &["rev-list", "--count", "refs/auto-etl/runs/20250109_123456"]
        )
        .trim(),
        "2"
    );

    write(root, "a.txt", "changed again\n");
    let third = take(root, &cfg, 3);
    let c3 = third.commit.unwrap();
    assert_eq!(
        git(root, &["rev-parse", &format!("{c3}^")]).trim(),
        first.commit.unwrap()
    );
    assert_eq!(third.files_changed, 1);
    let msg = git(root, &["log", "-1", "--format=%B", &c3]);
    assert!(msg.contains("previous iteration 2: failed"), "{msg}");
    assert!(
        msg.contains("- connection_refused: could not connect"),
        "{msg}"
    );
    assert!(msg.contains("Auto-Etl-Iteration: 3"), "{msg}");
}

#[test]
fn a_clean_tree_checkpoints_head_itself() {
    let dir = repo();
    let root = dir.path();
    let rec = take(root, &config(CheckpointMode::Ref), 1);
    assert_eq!(
        rec.commit.as_deref(),
        Some(git(root, &["rev-parse", "HEAD"]).trim())
    );
    assert_eq!(rec.files_changed, 0);
    assert!(rec.note.is_some());
}

#[test]
fn ref_mode_works_on_a_detached_head_and_leaves_it_detached() {
    let dir = repo();
    let root = dir.path();
    git(root, &["checkout", "-q", "--detach"]);
    write(root, "a.txt", "detached edit\n");
    let before = look(root);
    let rec = take(root, &config(CheckpointMode::Ref), 1);
    assert_eq!(rec.skipped_reason, None, "{rec:?}");
    assert_eq!(look(root), before);
}

#[test]
fn branch_mode_commits_on_the_branch_and_updates_the_index() {
    let dir = repo();
    let root = dir.path();
    dirty(root);
    let head = git(root, &["rev-parse", "HEAD"]);

    let rec = take(root, &config(CheckpointMode::Branch), 2);

    assert_eq!(rec.skipped_reason, None, "{rec:?}");
    assert_eq!(rec.ref_name.as_deref(), Some("refs/heads/main"));
    let new_head = git(root, &["rev-parse", "HEAD"]);
    assert_eq!(new_head.trim(), rec.commit.as_deref().unwrap());
    assert_eq!(git(root, &["rev-parse", "HEAD^"]), head);
    assert_eq!(git(root, &["branch", "--show-current"]).trim(), "main");
    let subject = git(root, &["log", "-1", "--format=%s"]);
    assert_eq!(
        subject.trim(),
        "auto-etl checkpoint: run 20250109_123456, iteration 2"
    );
    assert_eq!(git(root, &["diff", "--cached"]), "");
    // What is left untracked is exactly what must never be committed.
    let status = git(root, &["status", "--porcelain", "--untracked-files=all"]);
    let mut left: Vec<&str> = status.lines().collect();
    left.sort();
    assert_eq!(
        left,
        [
            "?? .env",
            "?? .env.local",
            "?? big.bin",
            "?? certs/server.key",
            "?? data/raw/dump.csv",
            "?? logs/auto_cycle_report_1.json",
            "?? svc/.env.production"
        ]
    );
    assert!(!root.join(".git/index.lock").exists());
    fsck_clean(root);

    let again = take(root, &config(CheckpointMode::Branch), 3);
    assert_eq!(again.commit, rec.commit);
    assert_eq!(git(root, &["rev-parse", "HEAD"]), new_head);
}

#[test]
fn branch_mode_skips_a_detached_head() {
    let dir = repo();
    let root = dir.path();
    git(root, &["checkout", "-q", "--detach"]);
    write(root, "a.txt", "edit\n");
    let before = look(root);
    let rec = take(root, &config(CheckpointMode::Branch), 1);
    assert!(
        rec.skipped_reason
            .as_deref()
            .unwrap()
            .contains("HEAD is detached"),
        "{rec:?}"
    );
    assert_eq!(rec.commit, None);
    assert_eq!(look(root), before);
}

#[test]
fn branch_mode_skips_while_a_merge_is_in_progress() {
    let dir = repo();
    let root = dir.path();
    let head = git(root, &["rev-parse", "HEAD"]);
    fs::write(root.join(".git/MERGE_HEAD"), &head).unwrap();
    write(root, "a.txt", "edit\n");
    let rec = take(root, &config(CheckpointMode::Branch), 1);
    assert!(
        rec.skipped_reason
            .as_deref()
            .unwrap()
            .contains("a merge is in progress"),
        "{rec:?}"
    );
    assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
}

#[test]
fn branch_mode_leaves_a_held_index_lock_alone() {
    let dir = repo();
    let root = dir.path();
    write(root, "a.txt", "edit\n");
    let lock = root.join(".git/index.lock");
    fs::write(&lock, "held by someone else").unwrap();
    let head = git(root, &["rev-parse", "HEAD"]);
    let index = fs::read(root.join(".git/index")).unwrap();

    let rec = take(root, &config(CheckpointMode::Branch), 1);

    assert!(
        rec.skipped_reason
            .as_deref()
            .unwrap()
            .contains("index.lock"),
        "{rec:?}"
    );
    assert_eq!(fs::read_to_string(&lock).unwrap(), "held by someone else");
    assert_eq!(fs::read(root.join(".git/index")).unwrap(), index);
    assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
    // Ref mode does not need the index lock.
    fs::remove_file(&lock).unwrap();
    fs::write(&lock, "held").unwrap();
    let rec = take(root, &config(CheckpointMode::Ref), 1);
    assert_eq!(rec.skipped_reason, None, "{rec:?}");
    assert_eq!(fs::read_to_string(&lock).unwrap(), "held");
}

#[test]
fn an_empty_repository_gets_a_root_commit_and_head_stays_unborn() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    write(root, "first.txt", "hello\n");
    write(root, ".env", "SECRET=1\n");
    let status = git(root, &["status", "--porcelain"]);

    let rec = take(root, &config(CheckpointMode::Ref), 1);

    assert_eq!(rec.skipped_reason, None, "{rec:?}");
    let commit = rec.commit.unwrap();
    assert_eq!(
        git(root, &["rev-list", "--parents", "-n1", &commit]).trim(),
        commit
    );
    assert_eq!(files(root, &commit), ["first.txt"]);
    let head = Command::new("git")
        .args(["rev-parse", "--verify", "-q", "HEAD"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(!head.status.success(), "HEAD must stay unborn");
    assert_eq!(git(root, &["status", "--porcelain"]), status);
    assert!(
        !root.join(".git/index").exists(),
        "ref mode must not write an index"
    );
    fsck_clean(root);
}

#[test]
fn a_directory_that_is_no_repository_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "x.txt", "x\n");
    let rec = take(dir.path(), &config(CheckpointMode::Ref), 1);
    let reason = rec.skipped_reason.unwrap();
    assert!(reason.starts_with("not a git repository: "), "{reason}");
    assert!(!dir.path().join(".git").exists());
}

#[test]
fn off_mode_is_skipped() {
    let dir = repo();
    let rec = take(dir.path(), &config(CheckpointMode::Off), 1);
    assert_eq!(rec.skipped_reason.as_deref(), Some("checkpoints are off"));
}

fn bare_remote(root: &Path) -> (tempfile::TempDir, PathBuf) {
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("remote.git");
    git(remote.path(), &["init", "-q", "--bare", "remote.git"]);
    git(root, &["remote", "add", "origin", bare.to_str().unwrap()]);
    (remote, bare)
}

fn remote_refs(bare: &Path) -> String {
    let out = Command::new("git")
        .args(["show-ref"])
        .current_dir(bare)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn push_sends_the_run_ref_to_a_bare_remote() {
    let dir = repo();
    let root = dir.path();
    let (_keep, bare) = bare_remote(root);
    write(root, "a.txt", "pushed\n");
    let cfg = GitConfig {
        push: true,
        ..config(CheckpointMode::Ref)
    };
    let rec = take_and_push(root, &cfg, 1);
    assert_eq!(rec.pushed, Some(true), "{rec:?}");
    let refs = remote_refs(&bare);
    let commit = rec.commit.unwrap();
    assert!(
        refs.contains(&format!("{commit} refs/auto-etl/runs/20250109_123456")),
        "{refs}"
    );
    assert!(
        refs.contains("refs/auto-etl/iterations/20250109_123456/1"),
        "{refs}"
    );
}

#[test]
fn push_in_branch_mode_sends_the_branch() {
    let dir = repo();
    let root = dir.path();
    let (_keep, bare) = bare_remote(root);
    write(root, "a.txt", "pushed\n");
    let cfg = GitConfig {
        push: true,
        ..config(CheckpointMode::Branch)
    };
    let rec = take_and_push(root, &cfg, 1);
    assert_eq!(rec.pushed, Some(true), "{rec:?}");
    assert!(remote_refs(&bare).contains(&format!("{} refs/heads/main", rec.commit.unwrap())));
}

#[test]
fn no_push_unless_allowed_and_a_refusal_is_a_warning() {
    let dir = repo();
    let root = dir.path();
    let (_keep, bare) = bare_remote(root);
    write(root, "a.txt", "local only\n");
    let rec = take(root, &config(CheckpointMode::Ref), 1);
    assert_eq!(rec.pushed, None);
    let refused = GitConfig {
        push_refused: Some(
            "push refused: CI is set and --push was not given on the command line".into(),
        ),
        ..config(CheckpointMode::Ref)
    };
    let rec = take(root, &refused, 2);
    assert_eq!(rec.pushed, None);
    assert!(
        rec.warnings.iter().any(|w| w.starts_with("push refused")),
        "{rec:?}"
    );
    assert_eq!(remote_refs(&bare), "");
}

#[test]
fn a_failed_push_is_recorded_not_fatal() {
    let dir = repo();
    let root = dir.path();
    write(root, "a.txt", "x\n");
    let cfg = GitConfig {
        push: true,
        remote: "nowhere".into(),
        ..config(CheckpointMode::Ref)
    };
    let rec = take_and_push(root, &cfg, 1);
    assert!(rec.commit.is_some());
    assert_eq!(rec.pushed, Some(false));
    assert!(
        rec.push_error.as_deref().unwrap().contains("nowhere"),
        "{rec:?}"
    );
}

/// Two iterations: the first failed, the second green.
fn run_two(root: &Path) -> (String, String) {
    let cfg = config(CheckpointMode::Ref);
    write(root, "a.txt", "iteration one\n");
    let one = take(root, &cfg, 1);
    assert_eq!(mark_outcome(root, &one, RUN, 1, false), None);
    write(root, "a.txt", "iteration two\n");
    let two = take(root, &cfg, 2);
    assert_eq!(mark_outcome(root, &two, RUN, 2, true), None);
    (one.commit.unwrap(), two.commit.unwrap())
}

#[test]
fn mark_outcome_moves_last_green_and_checkpoints_lists_statuses() {
    let dir = repo();
    let root = dir.path();
    let (one, two) = run_two(root);
    assert_eq!(
        git(root, &["rev-parse", "refs/auto-etl/last-green"]).trim(),
        two
    );

    let run = AutoEtl::new(root).args(["checkpoints", "--run", RUN]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("RUN"), "{}", run.stdout);
    assert!(
        lines[1].contains(" 1  failed") && lines[1].contains(&one[..10]),
        "{}",
        run.stdout
    );
    assert!(
        lines[2].contains(" 2  success") && lines[2].contains(&two[..10]),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("last-green:"), "{}", run.stdout);

    let json = AutoEtl::new(root)
        .args(["checkpoints", "--format", "json"])
        .run();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["checkpoints"][1]["status"], "success");
    assert_eq!(v["checkpoints"][0]["commit"], one.as_str());
    assert_eq!(v["last_green"]["iteration"], 2);

    let unknown = AutoEtl::new(root)
        .args(["checkpoints", "--run", "nope"])
        .run();
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("no checkpoints for run `nope`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn restore_creates_a_branch_at_the_checkpoint_and_touches_nothing_else() {
    let dir = repo();
    let root = dir.path();
    let (one, two) = run_two(root);
    let before = look(root);

    let run = AutoEtl::new(root)
        .args(["restore", &format!("{RUN}:1")])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let branch = "auto-etl/restore-20250109_123456-1";
    assert!(run.stdout.contains(branch), "{}", run.stdout);
    assert_eq!(
        git(root, &["rev-parse", &format!("{branch}^{{tree}}")]),
        git(root, &["rev-parse", &format!("{one}^{{tree}}")])
    );

    let green = AutoEtl::new(root)
        .args(["restore", "last-green", "--to-branch", "green"])
        .run();
    assert_eq!(green.code, 0, "{}", green.stderr);
    assert_eq!(git(root, &["rev-parse", "green"]).trim(), two);
    assert_eq!(look(root), before);

    let again = AutoEtl::new(root)
        .args(["restore", &format!("{RUN}:1")])
        .run();
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let missing = AutoEtl::new(root)
        .args(["restore", &format!("{RUN}:9")])
        .run();
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("no checkpoint for iteration 9 (it has: 1, 2)"),
        "{}",
        missing.stderr
    );
    let bad = AutoEtl::new(root).args(["restore", "whatever"]).run();
    assert_eq!(bad.code, 2);
    assert_eq!(look(root), before);
}

#[test]
fn restore_into_a_worktree_checks_the_checkpoint_out_there() {
    let dir = repo();
    let root = dir.path();
    let (_, two) = run_two(root);
    let before = look(root);
    let wt = tempfile::tempdir().unwrap();
    let path = wt.path().join("restored");

    let run = AutoEtl::new(root)
        .args(["restore", "last-green", "--worktree"])
        .arg_path(&path)
        .run();

    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        fs::read_to_string(path.join("a.txt")).unwrap(),
        "iteration two\n"
    );
    assert_eq!(git(&path, &["rev-parse", "HEAD"]).trim(), two);
    assert_eq!(look(root), before);
}

#[test]
fn a_corrupt_index_is_skipped_and_leaves_no_lock() {
    let dir = repo();
    let root = dir.path();
    write(root, "a.txt", "edit\n");
    fs::write(root.join(".git/index"), b"DIRC garbage").unwrap();
    let head = git(root, &["rev-parse", "HEAD"]);
    for mode in [CheckpointMode::Ref, CheckpointMode::Branch] {
        let rec = take(root, &config(mode), 1);
        let reason = rec.skipped_reason.unwrap_or_default();
        assert!(reason.contains("index"), "{mode:?}: {reason}");
        assert!(!root.join(".git/index.lock").exists(), "{mode:?}");
        assert_eq!(fs::read(root.join(".git/index")).unwrap(), b"DIRC garbage");
        assert_eq!(git(root, &["rev-parse", "HEAD"]), head);
    }
    let leftovers: Vec<_> = fs::read_dir(root.join(".git"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("index."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
