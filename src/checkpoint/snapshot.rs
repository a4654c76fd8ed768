//! Builds the tree of a checkpoint: the repository's index, read into
//! memory, updated with what the working tree has changed (tracked files and
//! untracked files that are not ignored), minus the exclusions.
//!
//! Speed comes from git's own stat cache: the index-to-workdir status only
//! hashes files whose stat data changed since the index was written, so a
//! checkpoint of a large tree with a few edits reads only those few files.
//! The index given here is never written back by this module.

use super::exclude::{holds_password, Excluded, Exclusions};
use git2::{Index, IndexEntry, IndexTime, Oid, Repository, Status, StatusOptions, StatusShow};
use std::fs::Metadata;
use std::path::Path;

const MODE_FILE: u32 = 0o100644;
const MODE_EXEC: u32 = 0o100755;
const MODE_LINK: u32 = 0o120000;

/// The limits one snapshot works under.
pub struct Limits<'a> {
    pub exclusions: &'a Exclusions,
    pub max_file_size: u64,
}

/// Updates `index` (in memory) to the working tree and writes its tree.
/// Problems with single files become `warnings`; only a failure of the
/// repository itself is an error.
pub fn build_tree(
    repo: &Repository,
    index: &mut Index,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<Oid, git2::Error> {
    let workdir = repo
        .workdir()
        .ok_or_else(|| git2::Error::from_str("repository has no working tree"))?
        .to_path_buf();
    let trust_filemode = repo
        .config()
        .and_then(|c| c.get_bool("core.filemode"))
        .unwrap_or(cfg!(unix));
    let mut opts = StatusOptions::new();
    // Index against working tree only: HEAD does not matter, the index (HEAD
    // plus whatever the user staged) is the base we update.
    opts.show(StatusShow::Workdir)
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .include_unreadable(true)
        .exclude_submodules(true)
        .update_index(false);
    let statuses = repo.statuses(Some(&mut opts))?;
    for st in statuses.iter() {
        let Ok(path) = std::str::from_utf8(st.path_bytes()) else {
            warnings.push(format!(
                "skipped a path that is not UTF-8: {}",
                String::from_utf8_lossy(st.path_bytes())
            ));
            continue;
        };
        let status = st.status();
        if status.contains(Status::WT_DELETED) {
            // Removing content never leaks anything, excluded or not.
            let _ = index.remove_path(Path::new(path));
            continue;
        }
        if status.contains(Status::WT_UNREADABLE) {
            warnings.push(format!("cannot read {path}: permission denied; left out"));
            continue;
        }
        if status.intersects(Status::WT_NEW | Status::WT_MODIFIED | Status::WT_TYPECHANGE) {
            let entry = Change {
                workdir: &workdir,
                path,
                tracked: index.get_path(Path::new(path), 0),
                trust_filemode,
            };
            if let Some(e) = entry.to_index_entry(repo, limits, warnings) {
                index.add(&e)?;
            }
        }
    }
    drop_staged_exclusions(repo, index, limits, warnings)?;
    write_tree(repo, index)
}

/// What the user staged is in the index without being a working-tree
/// change: an excluded path there goes back to HEAD's content (or out).
fn drop_staged_exclusions(
    repo: &Repository,
    index: &mut Index,
    limits: &Limits,
    warnings: &mut Vec<String>,
) -> Result<(), git2::Error> {
    let excluded: Vec<(String, Excluded, Oid)> = index
        .iter()
        .filter_map(|e| {
            let path = String::from_utf8(e.path.clone()).ok()?;
            let why = limits.exclusions.check(&path)?;
            Some((path, why, e.id))
        })
        .collect();
    if excluded.is_empty() {
        return Ok(());
    }
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    for (path, why, id) in excluded {
        let committed = head
            .as_ref()
            .and_then(|t| t.get_path(Path::new(&path)).ok())
            .map(|e| (e.id(), e.filemode()));
        match committed {
            Some((old, _)) if old == id => continue,
            Some((old, mode)) => {
                if let Some(mut e) = index.get_path(Path::new(&path), 0) {
                    e.id = old;
                    e.mode = mode as u32;
                    index.add(&e)?;
                }
            }
            None => index.remove_path(Path::new(&path))?,
        }
        warnings.push(format!(
            "{path} is staged but excluded ({}): left out of the checkpoint",
            describe(&why)
        ));
    }
    Ok(())
}

/// Writes the index's trees. libgit2 checks that every entry's object
/// exists while building each changed directory's tree, one odb lookup per
/// entry (10,000 stats of loose objects in a fresh repository): more than
/// half the checkpoint's time. The ids come from the index git wrote and
/// from blobs written just now, so the check is switched off for this call
/// and back on (libgit2's default) after it.
fn write_tree(repo: &Repository, index: &mut Index) -> Result<Oid, git2::Error> {
    git2::opts::strict_object_creation(false);
    let tree = index.write_tree_to(repo);
    git2::opts::strict_object_creation(true);
    tree
}

/// One changed or new working-tree file.
struct Change<'a> {
    workdir: &'a Path,
    path: &'a str,
    tracked: Option<IndexEntry>,
    trust_filemode: bool,
}

impl Change<'_> {
    /// The index entry for the file's current content, or `None` when it
    /// stays out (then a tracked file keeps the content the index has).
    fn to_index_entry(
        &self,
        repo: &Repository,
        limits: &Limits,
        warnings: &mut Vec<String>,
    ) -> Option<IndexEntry> {
        let path = self.path;
        if path.ends_with('/') {
            warnings.push(format!("{path}: a nested repository; left out"));
            return None;
        }
        if let Some(why) = limits.exclusions.check(path) {
            // An untracked excluded file is the normal case and needs no
            // word; a tracked one keeps its committed content, which is
            // worth saying because the checkpoint differs from the disk.
            if self.tracked.is_some() {
                warnings.push(format!(
                    "{path} is tracked but excluded ({}): its working-tree changes are left out",
                    describe(&why)
                ));
            }
            return None;
        }
        let abs = self.workdir.join(path);
        let meta = match std::fs::symlink_metadata(&abs) {
            Ok(m) => m,
            Err(e) => {
                warnings.push(format!("cannot read {path}: {e}; left out"));
                return None;
            }
        };
        if meta.is_file() && meta.len() > limits.max_file_size {
            warnings.push(format!(
                "{path} ({} bytes) is larger than git.max_file_size ({} bytes); left out",
                meta.len(),
                limits.max_file_size
            ));
            return None;
        }
        if !meta.is_file() && !meta.file_type().is_symlink() {
            return None;
        }
        let id = if meta.is_file() {
            let content = match std::fs::read(&abs) {
                Ok(c) => c,
                Err(e) => {
                    warnings.push(format!("cannot read {path}: {e}; left out"));
                    return None;
                }
            };
            if let Some(why) = secret_content(path, &content) {
                warnings.push(format!(
                    "{path} is excluded ({}): left out of the checkpoint",
                    describe(&why)
                ));
                return None;
            }
            repo.blob(&content)
        } else {
            repo.blob_path(&abs)
        };
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                warnings.push(format!("cannot read {path}: {}; left out", e.message()));
                return None;
            }
        };
        Some(entry(path, &meta, id, self.mode(&meta)))
    }

    fn mode(&self, meta: &Metadata) -> u32 {
        if meta.file_type().is_symlink() {
            return MODE_LINK;
        }
        if !self.trust_filemode {
            return self
                .tracked
                .as_ref()
                .map(|e| e.mode)
                .filter(|m| *m == MODE_EXEC)
                .unwrap_or(MODE_FILE);
        }
        if is_executable(meta) {
            MODE_EXEC
        } else {
            MODE_FILE
        }
    }
}

/// Why a file must stay out for what it holds, if it must.
fn secret_content(path: &str, content: &[u8]) -> Option<Excluded> {
    if holds_password(path, content) {
        return Some(Excluded::Credentials);
    }
    crate::redact::global()
        .holds_secret_value(content)
        .then_some(Excluded::SecretValue)
}

fn describe(why: &Excluded) -> String {
    match why {
        Excluded::EnvFile => ".env file".into(),
        Excluded::Credentials => "credentials file".into(),
        Excluded::SecretValue => "it holds a secret value".into(),
        Excluded::Glob(g) => format!("git.exclude `{g}`"),
        Excluded::ReportDir => "report directory".into(),
    }
}

#[cfg(unix)]
fn is_executable(meta: &Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &Metadata) -> bool {
    false
}

/// An index entry with the file's stat data, so that git (and the next
/// checkpoint) can trust it without hashing the file again. Index fields are
/// 32 bits wide: truncation is what git itself does.
#[cfg(unix)]
fn entry(path: &str, meta: &Metadata, id: Oid, mode: u32) -> IndexEntry {
    use std::os::unix::fs::MetadataExt;
    IndexEntry {
        ctime: IndexTime::new(meta.ctime() as i32, meta.ctime_nsec() as u32),
        mtime: IndexTime::new(meta.mtime() as i32, meta.mtime_nsec() as u32),
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        mode,
        uid: meta.uid(),
        gid: meta.gid(),
        file_size: meta.len() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

#[cfg(not(unix))]
fn entry(path: &str, meta: &Metadata, id: Oid, mode: u32) -> IndexEntry {
    IndexEntry {
        ctime: IndexTime::new(0, 0),
        mtime: IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: meta.len() as u32,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}
