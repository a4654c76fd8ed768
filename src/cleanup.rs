//! The cleanup phase's generated-file half and the shared cleanup level.
//! Docker resources are handled by `docker`; this module removes the
//! config's `[cleanup] paths`, never leaving the repository.

use serde::Serialize;
use std::path::{Path, PathBuf};

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

/// Expands `patterns` under `root` and removes what they match. Symlinks are
/// removed as links, never followed; anything that resolves outside `root` is
/// refused with a warning, and so is anything holding a `protect`ed path (the
/// report directory, `.git`). With `dry_run`, only lists.
pub fn remove_generated(
    root: &Path,
    patterns: &[String],
    protect: &[PathBuf],
    dry_run: bool,
) -> FileCleanup {
    let mut out = FileCleanup::default();
    let Ok(canonical_root) = root.canonicalize() else {
        out.warnings
            .push(format!("cannot resolve repository root {}", root.display()));
        return out;
    };
    for pattern in patterns {
        let full = root.join(pattern);
        let Ok(paths) = glob::glob_with(&full.to_string_lossy(), shell_like()) else {
            out.warnings
                .push(format!("invalid cleanup pattern `{pattern}`"));
            continue;
        };
        for path in paths.flatten() {
            if let Some(p) = protect
                .iter()
                .find(|p| p.starts_with(&path) || path.starts_with(p.as_path()))
            {
                out.warnings.push(format!(
                    "refused to remove {}: it holds {}, which cleanup never touches",
                    relative(root, &path),
                    p.display()
                ));
                continue;
            }
            match remove_inside(&canonical_root, &path, dry_run) {
                Ok(true) => out.removed.push(relative(root, &path)),
                Ok(false) => {}
                Err(w) => out.warnings.push(w),
            }
        }
    }
    out
}

/// Glob options as a shell has them: `*` does not match a leading dot.
pub fn shell_like() -> glob::MatchOptions {
    glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    }
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn remove_inside(root: &Path, path: &Path, dry_run: bool) -> Result<bool, String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(false),
    };
    // The parent must resolve inside the repository; the entry itself may be a
    // link pointing anywhere, since removing a link never touches its target.
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let parent = parent
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", path.display()))?;
    if !parent.starts_with(root) {
        return Err(format!(
            "refused to remove {}: it is outside the repository",
            path.display()
        ));
    }
    if dry_run {
        return Ok(true);
    }
    let result = if meta.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        std::os::unix::fs::symlink(outside.path(), dir.path().join("output")).unwrap();
        let out = remove_generated(dir.path(), &["output".into()], &[], false);
        assert_eq!(out.removed, ["output"]);
        assert!(outside.path().join("precious").exists());
    }

    #[test]
    fn a_glob_through_a_symlinked_dir_is_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("precious.csv"), "p").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("output")).unwrap();
        let out = remove_generated(dir.path(), &["output/*.csv".into()], &[], false);
        assert!(out.removed.is_empty());
        assert_eq!(out.warnings.len(), 1);
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
}
