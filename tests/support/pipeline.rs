//! Small pipelines in temporary directories, and their reports.

use std::path::{Path, PathBuf};

/// A pipeline directory holding `auto-etl.toml`.
pub struct Pipeline {
    pub dir: tempfile::TempDir,
}

/// Settings that keep a test pipeline fast and self-contained.
pub const FAST: &str = r#"
[cycle.backoff]
initial = "100ms"
max = "200ms"
jitter = "none"

[git]
checkpoint = "off"

[verify]
success_patterns = []
"#;

impl Pipeline {
    /// A pipeline with `toml` as its config (append `FAST` for speed).
    pub fn new(toml: &str) -> Pipeline {
        let dir = tempfile::Builder::new()
            .prefix("aetl-pipe-")
            .tempdir()
            .expect("tempdir");
        std::fs::write(dir.path().join("auto-etl.toml"), toml).expect("write config");
        Pipeline { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, name: &str, text: &str) {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// The reports in `logs/`, oldest first.
    pub fn reports(&self) -> Vec<serde_json::Value> {
        reports_in(&self.path().join("logs"))
    }

    /// The only report in `logs/`.
    pub fn report(&self) -> serde_json::Value {
        let mut all = self.reports();
        assert_eq!(all.len(), 1, "expected exactly one report");
        all.remove(0)
    }
}

/// Report files in `dir`, parsed, oldest first.
pub fn reports_in(dir: &Path) -> Vec<serde_json::Value> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with("auto_cycle_report_") && n.ends_with(".json")
                })
                .collect()
        })
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).expect("report is valid JSON"))
        .collect()
}

/// Command lines of live processes whose command line contains `needle`.
pub fn processes_matching(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let zombie = stat
            .rsplit(')')
            .next()
            .map(|r| r.trim_start().starts_with('Z'))
            .unwrap_or(false);
        if zombie {
            continue;
        }
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(cmd);
            }
        }
    }
    found
}
