//! Expands parsed cleanup patterns under the repository root without ever
//! following a symbolic link, leaving the root's filesystem or visiting a
//! directory twice; bounded in entries, depth and time, and stopped by a
//! signal between any two entries.

use super::pattern::{CleanupPattern, Component};
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How far one cleanup may look before it gives up.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directory entries looked at, over every pattern (also bounds memory).
    pub max_entries: usize,
    /// Directories below the root.
    pub max_depth: usize,
    /// Wall-clock time for the whole cleanup.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_entries: 200_000,
            max_depth: 64,
            max_time: Duration::from_secs(60),
        }
    }
}

/// Why a walk stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    #[error("interrupted by a signal")]
    Cancelled,
    #[error("looked at {0} entries, the limit")]
    TooManyEntries(usize),
    #[error("took longer than {}s", .0.as_secs())]
    TooLong(Duration),
}

/// The bounded walker over one root.
pub struct Walker<'a> {
    /// Canonical.
    pub root: PathBuf,
    /// The root's filesystem: nothing on another one is entered or removed.
    pub dev: u64,
    limits: Limits,
    started: Instant,
    entries: usize,
    visited: HashSet<(u64, u64)>,
    cancelled: &'a (dyn Fn() -> bool + Sync),
    /// Links and mount points met on the way, for the record.
    pub notes: Vec<String>,
}

impl<'a> Walker<'a> {
    /// A walker over `root` (already canonical).
    pub fn new(
        root: PathBuf,
        limits: Limits,
        cancelled: &'a (dyn Fn() -> bool + Sync),
    ) -> std::io::Result<Walker<'a>> {
        let dev = std::fs::metadata(&root)?.dev();
        Ok(Walker {
            root,
            dev,
            limits,
            started: Instant::now(),
            entries: 0,
            visited: HashSet::new(),
            cancelled,
            notes: Vec::new(),
        })
    }

    /// Counts one entry; stops on a signal or a spent limit.
    pub fn tick(&mut self) -> Result<(), Stopped> {
        self.entries += 1;
        if (self.cancelled)() {
            return Err(Stopped::Cancelled);
        }
        if self.entries > self.limits.max_entries {
            return Err(Stopped::TooManyEntries(self.limits.max_entries));
        }
        // The clock is read every 256 entries: cheap, and fine-grained enough.
        if self.entries.is_multiple_of(256) && self.started.elapsed() > self.limits.max_time {
            return Err(Stopped::TooLong(self.limits.max_time));
        }
        Ok(())
    }

    /// Every existing path under the root that `pattern` names, sorted.
    pub fn expand(&mut self, pattern: &CleanupPattern) -> Result<Vec<PathBuf>, Stopped> {
        let mut out = Vec::new();
        // Loops are per pattern: the next pattern may enter the same directories.
        self.visited.clear();
        let root = self.root.clone();
        self.step(&root, &pattern.components, 0, &mut out)?;
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Whether `dir` is a directory the walk may enter: a real directory (not
    /// a link to one), on the root's filesystem, not entered before.
    pub fn enterable(&mut self, dir: &Path, meta: &std::fs::Metadata) -> bool {
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return false;
        }
        if meta.dev() != self.dev {
            self.notes.push(format!(
                "not entered {}: another filesystem is mounted there",
                self.relative(dir)
            ));
            return false;
        }
        self.visited.insert((meta.dev(), meta.ino()))
    }

    fn step(
        &mut self,
        dir: &Path,
        comps: &[Component],
        depth: usize,
        out: &mut Vec<PathBuf>,
    ) -> Result<(), Stopped> {
        let Some((first, rest)) = comps.split_first() else {
            return Ok(());
        };
        if depth > self.limits.max_depth {
            self.notes.push(format!(
                "not entered {}: deeper than {} levels",
                self.relative(dir),
                self.limits.max_depth
            ));
            return Ok(());
        }
        match first {
            Component::Literal(name) => self.child(&dir.join(name), rest, depth, out),
            Component::Glob(glob) => {
                let Ok(pattern) = glob::Pattern::new(glob) else {
                    return Ok(());
                };
                for child in self.children(dir)? {
                    let name = child.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if pattern.matches_with(name, super::shell_like()) {
                        self.child(&child, rest, depth, out)?;
                    }
                }
                Ok(())
            }
            Component::AnyDepth => {
                self.step(dir, rest, depth, out)?;
                for child in self.children(dir)? {
                    // As in a shell, `**` does not descend into hidden
                    // directories (`.git` among them).
                    let hidden = child
                        .file_name()
                        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
                    let meta = std::fs::symlink_metadata(&child);
                    if !hidden && meta.is_ok_and(|m| self.enterable(&child, &m)) {
                        self.step(&child, comps, depth + 1, out)?;
                    }
                }
                Ok(())
            }
        }
    }

    /// `path` matched `first`: a candidate when nothing follows, else a
    /// directory to go on in.
    fn child(
        &mut self,
        path: &Path,
        rest: &[Component],
        depth: usize,
        out: &mut Vec<PathBuf>,
    ) -> Result<(), Stopped> {
        self.tick()?;
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Ok(());
        };
        if rest.is_empty() {
            out.push(path.to_path_buf());
            return Ok(());
        }
        if meta.file_type().is_symlink() {
            self.notes.push(format!(
                "not followed {}: a symbolic link is never walked through",
                self.relative(path)
            ));
            return Ok(());
        }
        if self.enterable(path, &meta) {
            self.step(path, rest, depth + 1, out)?;
        }
        Ok(())
    }

    /// The entries of `dir`, each counted.
    fn children(&mut self, dir: &Path) -> Result<Vec<PathBuf>, Stopped> {
        let Ok(read) = std::fs::read_dir(dir) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in read.flatten() {
            self.tick()?;
            out.push(entry.path());
        }
        out.sort();
        Ok(out)
    }

    /// `path` relative to the root, for messages.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::super::pattern::parse;
    use super::*;
    use std::os::unix::fs::symlink;

    fn never() -> bool {
        false
    }

    fn expand(root: &Path, raw: &str, limits: Limits) -> Result<Vec<String>, Stopped> {
        let mut w = Walker::new(root.canonicalize().unwrap(), limits, &never).unwrap();
        let found = w.expand(&parse(raw).unwrap())?;
        Ok(found.iter().map(|p| w.relative(p)).collect())
    }

    #[test]
    fn symlink_loops_and_a_link_to_the_filesystem_root_end_quickly() {
        // Issue 14, reproduction 2: `**/*.json` over `out/up -> ..`,
        // `out/self -> .` and `out/slash -> /` walked for ever.
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("deep")).unwrap();
        std::fs::write(out.join("deep/a.json"), "{}").unwrap();
        symlink("..", out.join("up")).unwrap();
        symlink(".", out.join("self")).unwrap();
        symlink("/", out.join("slash")).unwrap();
        let started = Instant::now();
        let found = expand(dir.path(), "**/*.json", Limits::default()).unwrap();
        assert_eq!(found, ["out/deep/a.json"]);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_walk_stops_at_its_entry_limit_and_on_a_signal() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..50 {
            std::fs::write(dir.path().join(format!("f{i}.json")), "").unwrap();
        }
        let tight = Limits {
            max_entries: 10,
            ..Limits::default()
        };
        assert_eq!(
            expand(dir.path(), "*.json", tight),
            Err(Stopped::TooManyEntries(10))
        );
        let yes = || true;
        let mut w =
            Walker::new(dir.path().canonicalize().unwrap(), Limits::default(), &yes).unwrap();
        assert_eq!(
            w.expand(&parse("**/*.json").unwrap()),
            Err(Stopped::Cancelled)
        );
    }

    #[test]
    fn a_glob_does_not_walk_through_a_linked_directory() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("x.csv"), "").unwrap();
        let dir = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("output")).unwrap();
        assert!(expand(dir.path(), "output/*.csv", Limits::default())
            .unwrap()
            .is_empty());
        // The link itself is still a candidate when named.
        assert_eq!(
            expand(dir.path(), "output", Limits::default()).unwrap(),
            ["output"]
        );
    }

    #[test]
    fn hidden_directories_are_matched_only_literally() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".cache/x")).unwrap();
        std::fs::write(dir.path().join(".cache/x/a.json"), "").unwrap();
        assert!(expand(dir.path(), "**/*.json", Limits::default())
            .unwrap()
            .is_empty());
        assert_eq!(
            expand(dir.path(), ".cache/**/*.json", Limits::default()).unwrap(),
            [".cache/x/a.json"]
        );
    }
}
