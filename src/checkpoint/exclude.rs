//! What never goes into a checkpoint: `.env*` and `.envrc` files, credential
//! files (`*.pem`, `*.key`, `id_*`, `.pgpass`, `.netrc`, `credentials*.json`,
//! a `profiles.yml` holding a password), the configured exclude globs and
//! the report directory. Path matching on repository-relative paths with
//! `/` separators (ignored files are left to git's own rules); content
//! checks (`holds_password`) are separate, pure functions on bytes.

use glob::{MatchOptions, Pattern};

/// Why a path is kept out of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excluded {
    /// `.env*` or `.envrc`, at any depth: usually secrets.
    EnvFile,
    /// A file that holds credentials by its kind (a key, `.pgpass`, ...).
    Credentials,
    /// Its content holds a secret value the agent knows of.
    SecretValue,
    /// Matches one of `[git] exclude`.
    Glob(String),
    /// Inside the report directory, which changes every iteration.
    ReportDir,
}

/// The compiled exclusion rules of one checkpoint.
#[derive(Debug, Clone)]
pub struct Exclusions {
    globs: Vec<(String, Pattern)>,
    report_dir: Option<String>,
}

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    // `*` stays inside one path component, as in .gitignore.
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Exclusions {
    /// Compiles `globs`; a pattern that does not parse comes back as a
    /// warning instead of failing the checkpoint. `report_dir` is relative
    /// to the repository's working directory (`None` when it lies outside).
    pub fn new(globs: &[String], report_dir: Option<&str>) -> (Exclusions, Vec<String>) {
        let mut warnings = Vec::new();
        let mut compiled = Vec::new();
        for g in globs {
            let text = g.trim().trim_start_matches("./").trim_end_matches('/');
            if text.is_empty() {
                continue;
            }
            match Pattern::new(text) {
                Ok(p) => compiled.push((g.clone(), p)),
                Err(e) => warnings.push(format!("git.exclude: `{g}` is not a glob ({e}); ignored")),
            }
        }
        let report_dir = report_dir
            .map(|d| d.trim_matches('/').to_string())
            .filter(|d| !d.is_empty() && d != ".");
        (
            Exclusions {
                globs: compiled,
                report_dir,
            },
            warnings,
        )
    }

    /// Why `path` (relative, `/`-separated) is excluded, if it is.
    pub fn check(&self, path: &str) -> Option<Excluded> {
        let path = path.trim_end_matches('/');
        if let Some(dir) = &self.report_dir {
            if path == dir
                || path
                    .strip_prefix(dir.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
            {
                return Some(Excluded::ReportDir);
            }
        }
        if path.split('/').any(is_env_file) {
            return Some(Excluded::EnvFile);
        }
        if path.rsplit('/').next().is_some_and(is_credentials_file) {
            return Some(Excluded::Credentials);
        }
        for (text, pattern) in &self.globs {
            if glob_matches(pattern, path) {
                return Some(Excluded::Glob(text.clone()));
            }
        }
        None
    }
}

/// `.env`, `.env<anything>` (`.env.prod`, `.env-prod`, `.env_local`) and
/// `.envrc`; not `env.example` or `x.env`.
fn is_env_file(name: &str) -> bool {
    name.starts_with(".env")
}

/// Files that hold credentials by their kind, whatever is in them.
fn is_credentials_file(name: &str) -> bool {
    name.ends_with(".pem")
        || name.ends_with(".key")
        || (name.starts_with("id_") && !name.contains('.'))
        || (name.starts_with("id_") && name.ends_with(".ppk"))
        || name == ".pgpass"
        || name == ".netrc"
        || (name.starts_with("credentials") && name.ends_with(".json"))
}

/// Whether `path` is a dbt `profiles.yml` whose `content` holds a literal
/// password (`password: "{{ env_var('DB_PASS') }}"` is no password).
pub fn holds_password(path: &str, content: &[u8]) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name != "profiles.yml" && name != "profiles.yaml" {
        return false;
    }
    String::from_utf8_lossy(content).lines().any(|line| {
        let line = line.trim_start();
        let Some((key, value)) = line.split_once(':') else {
            return false;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        matches!(key.trim(), "password" | "pass" | "private_key_passphrase")
            && !value.is_empty()
            && !value.starts_with("{{")
            && !value.starts_with('#')
    })
}

/// Gitignore-like: a pattern without `/` matches any single component (so
/// `*.key` or `secrets` work at any depth, and a matched directory takes its
/// contents with it); a pattern with `/` matches the path or one of its
/// leading directories.
fn glob_matches(pattern: &Pattern, path: &str) -> bool {
    if !pattern.as_str().contains('/') {
        return path.split('/').any(|c| pattern.matches_with(c, OPTIONS));
    }
    let dirs = path.match_indices('/').map(|(i, _)| &path[..i]);
    dirs.chain(std::iter::once(path))
        .any(|p| pattern.matches_with(p, OPTIONS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(globs: &[&str], report: Option<&str>) -> Exclusions {
        let globs: Vec<String> = globs.iter().map(|s| s.to_string()).collect();
        let (e, w) = Exclusions::new(&globs, report);
        assert!(w.is_empty(), "{w:?}");
        e
    }

    #[test]
    fn env_files_at_any_depth() {
        let e = ex(&[], None);
        for p in [
            ".env",
            ".env.local",
            "svc/.env",
            "a/b/.env.production",
            ".env/x",
        ] {
            assert_eq!(e.check(p), Some(Excluded::EnvFile), "{p}");
        }
        for p in ["env.example", "src/environment.rs", "x.env"] {
            assert_eq!(e.check(p), None, "{p}");
        }
    }

    #[test]
    fn regression_env_variants_and_credential_files_are_excluded() {
        let e = ex(&[], None);
        for p in [".env-prod", ".env_local", ".envrc", "svc/.env.staged"] {
            assert_eq!(e.check(p), Some(Excluded::EnvFile), "{p}");
        }
        for p in [
            "certs/server.pem",
            "tls/server.key",
            "deploy/id_ed25519",
            "id_rsa",
            ".pgpass",
            "home/.netrc",
            "credentials.json",
            "gcp/credentials-prod.json",
        ] {
            assert_eq!(e.check(p), Some(Excluded::Credentials), "{p}");
        }
        for p in ["id_rsa.pub", "src/keys.rs", "credentials.md", "monkey.txt"] {
            assert_eq!(e.check(p), None, "{p}");
        }
    }

    #[test]
    fn a_profiles_yml_with_a_literal_password_holds_one() {
        let with = b"etl:\n  outputs:\n    dev:\n      type: postgres\n      password: hunter22\n";
        let templated =
            b"etl:\n  outputs:\n    dev:\n      password: \"{{ env_var('DBT_PASS') }}\"\n";
        assert!(holds_password("dbt/profiles.yml", with));
        assert!(!holds_password("dbt/profiles.yml", templated));
        assert!(!holds_password("dbt/other.yml", with));
    }

    #[test]
    fn report_dir_and_its_contents() {
        let e = ex(&[], Some("logs/"));
        assert_eq!(e.check("logs"), Some(Excluded::ReportDir));
        assert_eq!(
            e.check("logs/auto_cycle_report_1.json"),
            Some(Excluded::ReportDir)
        );
        assert_eq!(e.check("logs2/x"), None);
        assert_eq!(e.check("src/logs/x"), None);
        let nested = ex(&[], Some("build/reports"));
        assert_eq!(
            nested.check("build/reports/a/b.log"),
            Some(Excluded::ReportDir)
        );
        assert_eq!(nested.check("build/other"), None);
    }

    #[test]
    fn globs_without_slash_match_any_component() {
        let e = ex(&["*.bak", "secrets", "tmp*"], None);
        assert!(matches!(e.check("a/b/server.bak"), Some(Excluded::Glob(g)) if g == "*.bak"));
        assert!(e.check("secrets/db.txt").is_some());
        assert!(e.check("deep/secrets/db.txt").is_some());
        assert!(e.check("tmpdata/x.csv").is_some());
        assert_eq!(e.check("src/main.rs"), None);
        assert_eq!(e.check("keys.txt"), None);
    }

    #[test]
    fn globs_with_slash_match_from_the_root() {
        let e = ex(&["data/raw", "output/*.csv", "**/cache/**"], None);
        assert!(e.check("data/raw/2025.parquet").is_some());
        assert!(e.check("x/data/raw/2025.parquet").is_none());
        assert!(e.check("output/a.csv").is_some());
        assert!(e.check("output/sub/a.csv").is_none());
        assert!(e.check("a/cache/b").is_some());
    }

    #[test]
    fn a_bad_glob_is_a_warning() {
        let (e, w) = Exclusions::new(&["[".to_string(), "ok".to_string()], None);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("`[`"), "{w:?}");
        assert!(e.check("ok").is_some());
    }
}
