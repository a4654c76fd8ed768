//! Removing one cleanup candidate, after every check that keeps the removal
//! inside the scope: canonical parent inside the root, no protected path
//! (report directory, lock, journal, `.git`) involved, no file git tracks,
//! no mount point inside, and a link asked for as a directory refused.

use super::walk::{Stopped, Walker};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// The files git tracks (its index), as canonical paths.
#[derive(Debug, Default, Clone)]
pub struct Tracked(BTreeSet<PathBuf>);

impl Tracked {
    /// Asks git for the index of the repository `root` is in; `Ok(None)`
    /// when `root` is in no work tree.
    pub fn from_git(root: &Path) -> Result<Option<Tracked>, String> {
        let repo = match git2::Repository::discover(root) {
            Ok(r) => r,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "cannot open the git repository of {}: {e}",
                    root.display()
                ))
            }
        };
        let Some(workdir) = repo.workdir() else {
            return Ok(None);
        };
        let workdir = workdir
            .canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", workdir.display()))?;
        let index = repo
            .index()
            .map_err(|e| format!("cannot read the git index of {}: {e}", workdir.display()))?;
        let paths = index.iter().map(|e| {
            use std::os::unix::ffi::OsStrExt;
            workdir.join(std::ffi::OsStr::from_bytes(&e.path))
        });
        Ok(Some(Tracked(paths.collect())))
    }

    /// A tracked file at or under `path`, if any.
    pub fn under(&self, path: &Path) -> Option<&Path> {
        // Paths order by component, so everything under `path` follows it.
        self.0
            .range(path.to_path_buf()..)
            .next()
            .filter(|t| t.starts_with(path))
            .map(PathBuf::as_path)
    }
}

/// `path` made absolute and canonical as far as it exists; the rest is
/// appended with `.` dropped and `..` applied, so a report directory named
/// `x/../logs`, or reached through a link to the repository, compares
/// equal to the directory it is.
pub fn canonical_lossy(path: &Path) -> PathBuf {
    let parts: Vec<Component> = path.components().collect();
    for split in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        let Ok(mut out) = head.canonicalize() else {
            continue;
        };
        for part in &parts[split..] {
            match part {
                Component::ParentDir => {
                    out.pop();
                }
                Component::Normal(n) => out.push(n),
                _ => {}
            }
        }
        return out;
    }
    path.to_path_buf()
}

/// Why a candidate was not removed.
#[derive(Debug)]
pub enum NotRemoved {
    /// Refused or failed: a warning for the report.
    Refused(String),
    /// The cleanup must stop here.
    Stopped(Stopped),
}

/// What the removal of one candidate may not touch.
pub struct Keep<'a> {
    /// Canonical paths: neither removed nor removed with what holds them.
    pub protect: &'a [PathBuf],
    pub tracked: &'a Tracked,
}

/// Removes `path` (a walk candidate under `w.root`), or with `dry_run`
/// only checks it; `Ok(false)` when it was already gone.
pub fn remove_candidate(
    w: &mut Walker,
    path: &Path,
    wants_dir: bool,
    keep: &Keep,
    dry_run: bool,
) -> Result<bool, NotRemoved> {
    let rel = w.relative(path);
    let refuse = |why: String| NotRemoved::Refused(format!("refused to remove {rel}: {why}"));
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(false);
    };
    let parent = path.parent().unwrap_or(path);
    if path == w.root
        || !path.starts_with(&w.root)
        || parent.canonicalize().ok().as_deref() != Some(parent)
    {
        return Err(refuse("it does not resolve inside the repository".into()));
    }
    if let Some(p) = keep
        .protect
        .iter()
        .find(|p| p.starts_with(path) || path.starts_with(p))
    {
        return Err(refuse(format!(
            "it holds {}, which cleanup never touches",
            p.display()
        )));
    }
    if let Some(t) = keep.tracked.under(path) {
        let t = w.relative(t);
        return Err(refuse(format!(
            "git tracks {t}; cleanup never deletes tracked files"
        )));
    }
    let kind = meta.file_type();
    if kind.is_symlink() && wants_dir {
        return Err(refuse(
            "it is a symbolic link and the pattern asks for a directory through it (name the link without a trailing `/` or `/.` to remove the link)".into(),
        ));
    }
    if kind.is_dir() {
        if meta.dev() != w.dev {
            return Err(refuse("another filesystem is mounted there".into()));
        }
        if let Some(mount) = mount_point_under(w, path)? {
            return Err(refuse(format!("another filesystem is mounted at {mount}")));
        }
    }
    if dry_run {
        return Ok(true);
    }
    // std's remove_dir_all never follows links inside the tree (it works
    // through directory handles), so a link swapped in after the checks
    // is unlinked, not followed.
    let result = if kind.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(NotRemoved::Refused(format!(
            "cannot remove {}: {e}",
            w.relative(path)
        ))),
    }
}

/// The first directory under `dir` on another filesystem, looked for within
/// the walker's limits.
fn mount_point_under(w: &mut Walker, dir: &Path) -> Result<Option<String>, NotRemoved> {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in read.flatten() {
            w.tick().map_err(NotRemoved::Stopped)?;
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.is_dir() && !meta.file_type().is_symlink() {
                if meta.dev() != w.dev {
                    return Ok(Some(w.relative(&entry.path())));
                }
                stack.push(entry.path());
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_lossy_sees_through_dot_dot_and_links() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(real.join("x")).unwrap();
        std::os::unix::fs::symlink(&real, real.join("alias")).unwrap();
        let logs = real.join("logs");
        assert_eq!(canonical_lossy(&real.join("x/../logs")), logs);
        assert_eq!(canonical_lossy(&real.join("alias/logs")), logs);
        assert_eq!(canonical_lossy(&real.join("alias/./x/../logs/")), logs);
        std::fs::create_dir_all(&logs).unwrap();
        assert_eq!(canonical_lossy(&real.join("alias/x/../logs")), logs);
    }

    #[test]
    fn tracked_files_are_found_under_a_directory() {
        let t = Tracked(
            ["/r/a/b.txt", "/r/a.txt", "/r/c"]
                .iter()
                .map(PathBuf::from)
                .collect(),
        );
        assert_eq!(t.under(Path::new("/r/a")), Some(Path::new("/r/a/b.txt")));
        assert_eq!(t.under(Path::new("/r/c")), Some(Path::new("/r/c")));
        assert_eq!(t.under(Path::new("/r/b")), None);
        assert_eq!(t.under(Path::new("/r/a.tx")), None);
    }
}
