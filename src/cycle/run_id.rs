//! Run ids unique per repository: two runs started in the same second (each
//! with its own report directory and Docker project) must not share
//! `refs/auto-etl/runs/<id>`, so each id is claimed with an exclusive create
//! in the repository's common git directory, which every worktree and
//! checkout of that clone shares.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Claims older than this are pruned: the second-resolution ids they guard
/// can never come back.
const CLAIM_TTL: Duration = Duration::from_secs(7 * 86400);

/// A fresh run id (`YYYYMMDD_HHMMSS`, then `_2`, `_3`... when taken), unique
/// in the report directory `report_dir` and in the git repository holding
/// `root`. Outside a git repository only the report directory is checked.
pub fn claim(root: &Path, report_dir: &Path) -> String {
    let base = chrono::Local::now().format("%Y%m%d_%H%M%S").to_string();
    let claims = claims_dir(root);
    if let Some(dir) = &claims {
        prune(dir);
    }
    claim_from(&base, report_dir, claims.as_deref())
}

/// The first id from `base` that no report file in `report_dir` uses and
/// that a claim file in `claims` could be created for.
pub fn claim_from(base: &str, report_dir: &Path, claims: Option<&Path>) -> String {
    let in_reports = |id: &str| {
        report_dir
            .join(format!("auto_cycle_report_{id}.json"))
            .exists()
            || report_dir.join(format!("auto_cycle_{id}.log")).exists()
    };
    for n in 1..10_000u32 {
        let id = if n == 1 {
            base.to_string()
        } else {
            format!("{base}_{n}")
        };
        if in_reports(&id) {
            continue;
        }
        let Some(dir) = claims else { return id };
        let made = std::fs::create_dir_all(dir).and_then(|_| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(&id))
        });
        match made {
            Ok(_) => return id,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            // A read-only git directory: the report directory check is all
            // there is, as outside a repository.
            Err(_) => return id,
        }
    }
    base.to_string()
}

/// `<common git dir>/auto-etl/run-ids`, when `root` is inside a repository.
fn claims_dir(root: &Path) -> Option<PathBuf> {
    let repo = git2::Repository::discover(root).ok()?;
    Some(repo.commondir().join("auto-etl").join("run-ids"))
}

fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > CLAIM_TTL);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_second_gives_distinct_ids_across_report_dirs() {
        let claims = tempfile::tempdir().unwrap();
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let base = "20250109_123456";
        let first = claim_from(base, a.path(), Some(claims.path()));
        let second = claim_from(base, b.path(), Some(claims.path()));
        let third = claim_from(base, a.path(), Some(claims.path()));
        assert_eq!(
            (first.as_str(), second.as_str(), third.as_str()),
            (base, "20250109_123456_2", "20250109_123456_3")
        );
    }

    #[test]
    fn a_report_already_in_the_directory_moves_the_id_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("auto_cycle_report_20250109_123456.json"),
            "{}",
        )
        .unwrap();
        assert_eq!(
            claim_from("20250109_123456", dir.path(), None),
            "20250109_123456_2"
        );
    }

    #[test]
    fn claims_live_in_the_common_git_dir() {
        let repo = tempfile::tempdir().unwrap();
        git2::Repository::init(repo.path()).unwrap();
        let sub = repo.path().join("pipeline");
        std::fs::create_dir_all(&sub).unwrap();
        let dir = claims_dir(&sub).unwrap();
        assert!(dir.ends_with(".git/auto-etl/run-ids"), "{}", dir.display());
        assert!(claims_dir(Path::new("/")).is_none() || !Path::new("/.git").exists());
    }
}
