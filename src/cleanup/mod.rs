//! The cleanup phase's generated-file half and the shared cleanup level.
//! Docker resources are handled by `docker`; this module removes the
//! config's `[cleanup] paths`, never leaving the repository: `pattern` reads
//! them, `walk` expands them (bounded, no links followed), `remove` checks
//! and removes each candidate.

mod pattern;
mod remove;
mod walk;

pub use pattern::{parse as parse_pattern, CleanupPattern, Component, PatternError};
pub use remove::{canonical_lossy, Tracked};
pub use walk::{Limits, Stopped};

use remove::NotRemoved;
use serde::Serialize;
use std::path::{Path, PathBuf};
use walk::Walker;

/// How much the cleanup phase removes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CleanupLevel {
    /// Containers, in any state.
    Light,
    /// + the scope's networks and volumes, and `[cleanup] paths`.
    Standard,
    /// + project images, anonymous volumes, orphaned prefixed containers.
    Deep,
}

impl CleanupLevel {
    pub fn parse(s: &str) -> Option<CleanupLevel> {
        match s {
            "light" => Some(CleanupLevel::Light),
            "standard" => Some(CleanupLevel::Standard),
            "deep" => Some(CleanupLevel::Deep),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CleanupLevel::Light => "light",
            CleanupLevel::Standard => "standard",
            CleanupLevel::Deep => "deep",
        }
    }

    /// One level deeper (deep stays deep).
    pub fn deeper(self) -> CleanupLevel {
        match self {
            CleanupLevel::Light => CleanupLevel::Standard,
            _ => CleanupLevel::Deep,
        }
    }

    /// Whether generated files go at this level.
    pub fn removes_files(self) -> bool {
        self >= CleanupLevel::Standard
    }
}

impl std::fmt::Display for CleanupLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the file half of a cleanup removed.
#[derive(Debug, Default, Clone, Serialize)]
pub struct FileCleanup {
    pub removed: Vec<String>,
    pub warnings: Vec<String>,
}

/// One file cleanup: what to remove, what to keep, and how far to look.
pub struct PathCleanup<'a> {
    /// The repository root the patterns are relative to.
    pub root: &'a Path,
    /// `[cleanup] paths`.
    pub patterns: &'a [String],
    /// Never removed, nor anything holding them (report directory, lock,
    /// journal, `.git`); compared by canonical path.
    pub protect: &'a [PathBuf],
    /// List only.
    pub dry_run: bool,
    /// Checked between any two directory entries: a signal stops the cleanup.
    pub cancelled: &'a (dyn Fn() -> bool + Sync),
    pub limits: Limits,
}

/// Expands the patterns under the root and removes what they match. Every
/// candidate is reached through real directories on the root's filesystem
/// (links are never walked through; a link named by a pattern is unlinked,
/// never followed), and is refused with a warning when it holds a protected
/// path or a file git tracks. A walk that hits a limit or a signal removes
/// nothing more.
pub fn remove_generated(req: &PathCleanup) -> FileCleanup {
    let mut out = FileCleanup::default();
    let root = match req.root.canonicalize() {
        Ok(r) => r,
        Err(e) => {
            out.warnings.push(format!(
                "cannot resolve repository root {}: {e}",
                req.root.display()
            ));
            return out;
        }
    };
    let tracked = match remove::Tracked::from_git(&root) {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => {
            out.warnings.push(format!("{e}; no file removed"));
            return out;
        }
    };
    let protect: Vec<PathBuf> = req.protect.iter().map(|p| canonical_lossy(p)).collect();
    let keep = remove::Keep {
        protect: &protect,
        tracked: &tracked,
    };
    let mut walker = match Walker::new(root, req.limits, req.cancelled) {
        Ok(w) => w,
        Err(e) => {
            out.warnings.push(format!(
                "cannot read repository root {}: {e}",
                req.root.display()
            ));
            return out;
        }
    };
    for raw in req.patterns {
        let pattern = match pattern::parse(raw) {
            Ok(p) => p,
            Err(e) => {
                out.warnings.push(e.to_string());
                continue;
            }
        };
        let stopped = match walker.expand(&pattern) {
            Ok(found) => remove_found(&mut walker, &pattern, &found, &keep, req.dry_run, &mut out),
            Err(s) => Some(s),
        };
        if let Some(why) = stopped {
            out.warnings.push(format!(
                "file cleanup stopped at `{}`: {why}; the remaining paths were not removed",
                pattern.display()
            ));
            break;
        }
    }
    out.warnings.append(&mut walker.notes);
    out
}

fn remove_found(
    walker: &mut Walker,
    pattern: &CleanupPattern,
    found: &[PathBuf],
    keep: &remove::Keep,
    dry_run: bool,
    out: &mut FileCleanup,
) -> Option<Stopped> {
    for path in found {
        match remove::remove_candidate(walker, path, pattern.wants_dir, keep, dry_run) {
            Ok(true) => out.removed.push(walker.relative(path)),
            Ok(false) => {}
            Err(NotRemoved::Refused(why)) => out.warnings.push(why),
            Err(NotRemoved::Stopped(s)) => return Some(s),
        }
    }
    None
}

/// Why the file cleanup may not run at all: it would delete files no git
/// checkpoint can bring back. `in_work_tree` is whether `root` is inside a
/// git work tree, `checkpoints_on` whether the run takes checkpoints. Pure.
pub fn unchecked_refusal(
    root: &Path,
    has_paths: bool,
    in_work_tree: bool,
    checkpoints_on: bool,
    allow_unchecked: bool,
) -> Option<String> {
    if !has_paths || allow_unchecked || (in_work_tree && checkpoints_on) {
        return None;
    }
    let why = if in_work_tree {
        "checkpoints are off"
    } else {
        "it is not inside a git repository"
    };
    Some(format!(
        "[cleanup] paths would delete files under {} with no checkpoint to bring them back ({why}); \
         take checkpoints there (git init, --checkpoint ref), or pass --allow-unchecked-cleanup \
         (AUTO_ETL_ALLOW_UNCHECKED_CLEANUP=1) to delete them anyway",
        root.display()
    ))
}

/// Glob options as a shell has them: `*` does not match a leading dot.
pub fn shell_like() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn never() -> bool {
        false
    }

    fn remove_generated(
        root: &Path,
        patterns: &[String],
        protect: &[PathBuf],
        dry_run: bool,
    ) -> FileCleanup {
        super::remove_generated(&PathCleanup {
            root,
            patterns,
            protect,
            dry_run,
            cancelled: &never,
            limits: Limits::default(),
        })
    }

    #[test]
    fn levels_escalate_and_stop_at_deep() {
        assert_eq!(CleanupLevel::Light.deeper(), CleanupLevel::Standard);
        assert_eq!(CleanupLevel::Standard.deeper(), CleanupLevel::Deep);
        assert_eq!(CleanupLevel::Deep.deeper(), CleanupLevel::Deep);
    }

    #[test]
    fn removes_matches_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("output/sub")).unwrap();
        std::fs::write(root.join("output/sub/a.csv"), "x").unwrap();
        std::fs::create_dir_all(root.join("generated")).unwrap();
        std::fs::write(root.join("generated/a.json"), "{}").unwrap();
        std::fs::write(root.join("generated/keep.txt"), "k").unwrap();
        let out = remove_generated(
            root,
            &["output".into(), "generated/*.json".into()],
            &[],
            false,
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(!root.join("output").exists());
        assert!(!root.join("generated/a.json").exists());
        assert!(root.join("generated/keep.txt").exists());
        assert_eq!(out.removed.len(), 2);
    }

    #[test]
    fn a_symlink_to_outside_is_unlinked_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("precious"), "p").unwrap();
        let dir = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("output")).unwrap();
        let out = remove_generated(dir.path(), &["output".into()], &[], false);
        assert_eq!(out.removed, ["output"]);
        assert!(outside.path().join("precious").exists());
    }

    #[test]
    fn a_glob_through_a_symlinked_dir_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("precious.csv"), "p").unwrap();
        let dir = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("output")).unwrap();
        let out = remove_generated(dir.path(), &["output/*.csv".into()], &[], false);
        assert!(out.removed.is_empty());
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(outside.path().join("precious.csv").exists());
    }

    #[test]
    fn the_report_dir_and_git_are_protected() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("logs")).unwrap();
        std::fs::create_dir_all(dir.path().join(".git")).unwrap();
        let protect = [dir.path().join("logs"), dir.path().join(".git")];
        let out = remove_generated(dir.path(), &["*".into(), ".git".into()], &protect, false);
        assert!(dir.path().join("logs").exists() && dir.path().join(".git").exists());
        assert_eq!(out.warnings.len(), 2, "{:?}", out.warnings);
    }

    #[test]
    fn dry_run_lists_and_keeps() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        let out = remove_generated(dir.path(), &["*.json".into()], &[], true);
        assert_eq!(out.removed, ["a.json"]);
        assert!(dir.path().join("a.json").exists());
    }

    #[test]
    fn link_dot_and_link_slash_never_empty_the_directory_outside() {
        // Issue 14, reproduction 1: `link/.` joined to the root has the root
        // as its parent, and remove_dir_all followed the link.
        for raw in ["link/.", "link//", "link/./"] {
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("precious"), "p").unwrap();
            let dir = tempfile::tempdir().unwrap();
            symlink(outside.path(), dir.path().join("link")).unwrap();
            let out = remove_generated(dir.path(), &[raw.into()], &[], false);
            assert!(outside.path().join("precious").exists(), "{raw}");
            assert!(out.removed.is_empty(), "{raw}: {:?}", out.removed);
            assert!(
                out.warnings.iter().any(|w| w.contains("symbolic link")),
                "{raw}: {:?}",
                out.warnings
            );
        }
    }

    #[test]
    fn the_report_dir_is_protected_by_canonical_path() {
        // Issue 14, reproduction 7: `x/../logs` and a link alias of the repo
        // were compared as spelled, and `logs` went with its lock and journal.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("x")).unwrap();
        std::fs::create_dir_all(root.join("logs")).unwrap();
        std::fs::write(root.join("logs/.auto-etl.lock"), "").unwrap();
        let alias = tempfile::tempdir().unwrap();
        symlink(&root, alias.path().join("repo")).unwrap();
        for protect in [root.join("x/../logs"), alias.path().join("repo/logs")] {
            let out = remove_generated(&root, &["logs".into(), "*".into()], &[protect], false);
            assert!(root.join("logs/.auto-etl.lock").exists(), "{out:?}");
        }
    }

    #[test]
    fn files_git_tracks_are_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(args)
                .current_dir(root)
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@example.com")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@example.com")
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        git(&["init", "-q"]);
        std::fs::create_dir_all(root.join("output")).unwrap();
        std::fs::write(root.join("output/schema.sql"), "create").unwrap();
        std::fs::write(root.join("tracked.json"), "{}").unwrap();
        git(&["add", "output/schema.sql", "tracked.json"]);
        std::fs::write(root.join("output/a.csv"), "x").unwrap();
        std::fs::write(root.join("made.json"), "{}").unwrap();
        let out = remove_generated(root, &["output".into(), "*.json".into()], &[], false);
        assert_eq!(out.removed, ["made.json"]);
        assert!(root.join("output/schema.sql").exists() && root.join("tracked.json").exists());
        assert_eq!(
            out.warnings
                .iter()
                .filter(|w| w.contains("git tracks"))
                .count(),
            2,
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn a_signal_stops_the_file_cleanup_before_anything_goes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), "{}").unwrap();
        let yes = || true;
        let out = super::remove_generated(&PathCleanup {
            root: dir.path(),
            patterns: &["*.json".into()],
            protect: &[],
            dry_run: false,
            cancelled: &yes,
            limits: Limits::default(),
        });
        assert!(dir.path().join("a.json").exists());
        assert!(
            out.warnings[0].contains("interrupted"),
            "{:?}",
            out.warnings
        );
    }

    #[test]
    fn cleanup_without_a_checkpoint_is_refused_unless_allowed() {
        let root = Path::new("/srv/other");
        let table = [
            // has_paths, in_work_tree, checkpoints_on, allow -> refused with
            (
                true,
                false,
                true,
                false,
                Some("not inside a git repository"),
            ),
            (true, true, false, false, Some("checkpoints are off")),
            (true, false, false, true, None),
            (true, true, true, false, None),
            (false, false, false, false, None),
        ];
        for (paths, tree, on, allow, want) in table {
            let got = unchecked_refusal(root, paths, tree, on, allow);
            match (want, &got) {
                (None, None) => {}
                (Some(w), Some(m)) => {
                    assert!(m.contains(w) && m.contains("/srv/other"), "{m}");
                    assert!(m.contains("--allow-unchecked-cleanup"), "{m}");
                }
                _ => panic!("{paths} {tree} {on} {allow}: {got:?}"),
            }
        }
    }

    #[test]
    fn two_patterns_may_go_through_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("out")).unwrap();
        std::fs::write(dir.path().join("out/a.csv"), "").unwrap();
        std::fs::write(dir.path().join("out/b.json"), "").unwrap();
        let out = remove_generated(
            dir.path(),
            &["out/*.csv".into(), "out/*.json".into()],
            &[],
            false,
        );
        assert_eq!(out.removed, ["out/a.csv", "out/b.json"]);
    }
}
