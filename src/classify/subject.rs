//! What a classified error is about (`subject`: the path, table, column,
//! host:port, image, user, connector or slot) and where in the repository it
//! comes from (`source`: `etl/load.py:8`).
//!
//! The subject is the rule's named capture group `subject`. The source is
//! read from the lines around the error: a Python traceback frame (`File
//! "etl/load.py", line 8, in <module>`), psql's `psql:sql/x.sql:3:` prefix,
//! dbt's `Database Error in model customers (models/customers.sql)`, a
//! compiler-style `etl/load.py:12:` or bash's `./run.sh: line 3:`. Only
//! files of the project count: frames in installed packages or the Python
//! runtime are skipped, so the innermost frame of the project's own code wins.

use regex::bytes::Regex;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Lowercase strings that make a line a candidate for the scanner, so that
/// frame lines reach [`Frames::observe`] although no rule matches them.
/// dbt's frames are spelled out with the word before ` in ` (as the frame
/// pattern requires it): a needle starting with ` in ` would be searched as
/// such, and ordinary lines (`committed in 12 ms`, `in stage 3.0`) hold
/// that so often that the prefilter slowed down (BENCHMARKS.md).
pub const FRAME_NEEDLES: &[&str] = &[
    "\", line ",
    "psql:",
    "error in model ",
    "error in test ",
    "error in seed ",
    "error in snapshot ",
    "failure in model ",
    "failure in test ",
    "failure in seed ",
    "failure in snapshot ",
    "warning in model ",
    "warning in test ",
    "warning in seed ",
    "warning in snapshot ",
    ".sh: line ",
    // Not `traceback`: its first bytes are those of `extracted`.
    "(most recent call last)",
];

/// A frame older than this many lines says nothing about the error.
const FRAME_REACH: u64 = 40;
/// Longest subject kept; longer captures are cut.
const MAX_SUBJECT: usize = 200;

fn frame_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r#"\bFile "(?P<py>[^"]+)", line (?P<pyl>\d+)"#,
            r"|\bpsql:(?P<psql>[^:\s]+):(?P<psqll>\d+):",
            r"|\b(?:Error|Failure|Warning) in (?:model|test|seed|snapshot) \S+ \((?P<dbt>[^()\s]+)\)",
            r"|(?P<sh>[\w./-]+\.(?:sh|bash)): line (?P<shl>\d+):",
            r"|^\s*(?P<cc>[\w./-]+\.(?:py|sql|sh|scala|java|rs|go|js|ts|rb|r|R)):(?P<ccl>\d+):",
        ))
        .expect("frame pattern compiles")
    })
}

/// `file:line` (or `file`) named on `line`, if it names a file of the
/// project rooted at `root` (relative to it).
pub fn frame_of(line: &[u8], root: &Path) -> Option<String> {
    let caps = frame_re().captures(line)?;
    let pairs = [
        ("py", "pyl"),
        ("psql", "psqll"),
        ("dbt", ""),
        ("sh", "shl"),
        ("cc", "ccl"),
    ];
    for (path, num) in pairs {
        let Some(p) = caps.name(path) else { continue };
        let p = String::from_utf8_lossy(p.as_bytes());
        let p = project_path(&p, root)?;
        return Some(match caps.name(num) {
            Some(n) => format!("{p}:{}", String::from_utf8_lossy(n.as_bytes())),
            None => p.to_string(),
        });
    }
    None
}

/// `path` relative to the project, if it is a file of the project rather
/// than of an installed package, the interpreter or the system. Python
/// prints absolute paths (`/repo/etl/load.py`, or `/app/etl/load.py` inside
/// a container): those under `root` lose the prefix; others count when a
/// tail of them exists under `root` (the repository mounted elsewhere).
fn project_path(path: &str, root: &Path) -> Option<String> {
    if !looks_like_project(path) {
        return None;
    }
    let rel = path.strip_prefix("./").unwrap_or(path);
    let abs = Path::new(rel);
    if !abs.is_absolute() {
        return Some(rel.to_string());
    }
    if let Ok(inside) = abs.strip_prefix(root) {
        return Some(inside.to_string_lossy().into_owned());
    }
    let parts: Vec<_> = abs.components().skip(1).collect();
    (1..parts.len()).find_map(|skip| {
        let tail: PathBuf = parts[skip..].iter().collect();
        root.join(&tail)
            .is_file()
            .then(|| tail.to_string_lossy().into_owned())
    })
}

fn looks_like_project(path: &str) -> bool {
    const OUTSIDE: &[&str] = &[
        "site-packages",
        "dist-packages",
        "/lib/python",
        "/.venv/",
        "/venv/",
        "node_modules",
        "/usr/",
        "/opt/conda",
        "/nix/store",
    ];
    !path.is_empty()
        && !path.starts_with('<')
        && !OUTSIDE.iter().any(|o| path.contains(o))
        && !path.starts_with("/usr")
}

/// The frames seen so far in a log, for the errors that follow them.
#[derive(Debug)]
pub struct Frames {
    /// The project's directory: the working directory, where the agent runs.
    root: PathBuf,
    /// The latest project frame and its line number.
    last: Option<(u64, String)>,
}

impl Default for Frames {
    fn default() -> Frames {
        Frames::new(std::env::current_dir().unwrap_or_default())
    }
}

impl Frames {
    /// Frames of the project rooted at `root`.
    pub fn new(root: PathBuf) -> Frames {
        Frames { root, last: None }
    }

    /// Notes a frame on line `n`; a new traceback forgets the older frames.
    pub fn observe(&mut self, n: u64, line: &[u8]) {
        if contains_ci(line, b"traceback (most recent call last)") {
            self.last = None;
            return;
        }
        if let Some(f) = frame_of(line, &self.root) {
            self.last = Some((n, f));
        }
    }

    /// The source of an error on line `n`: named on the line itself, else
    /// the latest project frame within reach before it.
    pub fn source_for(&self, n: u64, line: &[u8]) -> Option<String> {
        if let Some(f) = frame_of(line, &self.root) {
            return Some(f);
        }
        match &self.last {
            Some((at, f)) if *at < n && n - at <= FRAME_REACH => Some(f.clone()),
            _ => None,
        }
    }
}

fn contains_ci(hay: &[u8], lower_needle: &[u8]) -> bool {
    hay.len() >= lower_needle.len()
        && hay
            .windows(lower_needle.len())
            .any(|w| w.eq_ignore_ascii_case(lower_needle))
}

/// The rule's subject on `text`: its `subject` capture group, else the
/// first other named group that took part (a pattern with several
/// alternatives names one group per alternative, as names must differ).
/// Cleaned: quotes and trailing punctuation trimmed, `"host", port 5432`
/// as `host:5432`, cut to a bounded length.
pub fn subject(re: &Regex, text: &[u8]) -> Option<String> {
    if re.captures_len() < 2 {
        return None;
    }
    let caps = re.captures(text)?;
    let m = caps.name("subject").or_else(|| {
        re.capture_names()
            .flatten()
            .find_map(|name| caps.name(name))
    })?;
    let mut s = String::from_utf8_lossy(m.as_bytes())
        .replace('\0', "")
        .replace("\", port ", ":");
    // A host captured apart from its port (`"localhost" (127.0.0.1), port
    // 5432`) is named `host:port`.
    if let Some(port) = caps.name("port").filter(|p| p.start() > m.end()) {
        s = format!("{s}:{}", String::from_utf8_lossy(port.as_bytes()));
    }
    let s = s
        .trim()
        .trim_matches(|c| matches!(c, '"' | '\'' | '`'))
        .trim_end_matches(['.', ',', ';', ':']);
    if s.is_empty() {
        return None;
    }
    let mut end = s.len().min(MAX_SUBJECT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(s[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_of(line: &[u8]) -> Option<String> {
        super::frame_of(line, Path::new("/repo"))
    }

    #[test]
    fn frames_of_project_files() {
        // Produced here by Python 3.11.7 running `python3 etl/load.py` in
        // /repo (a script opening a missing file): the path comes absolute.
        assert_eq!(
            frame_of(br#"  File "/repo/etl/load.py", line 8, in main"#).as_deref(),
            Some("etl/load.py:8")
        );
        assert_eq!(
            frame_of(br#"  File "etl/load.py", line 8, in <module>"#).as_deref(),
            Some("etl/load.py:8")
        );
        // https://github.com/sqlfluff/sqlfluff/issues/1042
        assert_eq!(
            frame_of(br#"  File "/usr/local/lib/python3.8/site-packages/dbt/config/profile.py", line 370, in from_raw_profiles"#),
            None
        );
        assert_eq!(frame_of(br#"  File "<string>", line 2, in <module>"#), None);
        // psql, produced here by psql 15 running `psql -f t.sql`.
        assert_eq!(
            frame_of(br#"psql:sql/t.sql:3: ERROR:  42703: column "first_name" does not exist"#)
                .as_deref(),
            Some("sql/t.sql:3")
        );
        assert_eq!(
            frame_of(b"  Database Error in model customers (models/customers.sql)").as_deref(),
            Some("models/customers.sql")
        );
        assert_eq!(
            frame_of(b"./run.sh: line 3: dbtx: command not found").as_deref(),
            Some("run.sh:3")
        );
        assert_eq!(frame_of(b"2025-01-09 INFO loaded 10 rows"), None);
    }

    #[test]
    fn every_frame_line_is_a_scanner_candidate() {
        // The scanner only shows candidate lines to `Frames::observe`: each
        // kind of frame must hold one of the needles. Lines as in
        // `frames_of_project_files` (sources there), plus dbt's other words,
        // produced here by dbt-core 1.9.11 + dbt-postgres 1.9.1 (the corpus,
        // fixtures/corpus/lines/dbt.tsv).
        let lines: &[&[u8]] = &[
            br#"  File "/repo/etl/load.py", line 8, in main"#,
            br#"psql:sql/t.sql:3: ERROR:  42703: column "first_name" does not exist"#,
            b"  Database Error in model customers (models/customers.sql)",
            b"17:41:38  Failure in test unique_customers_customer_id (models/schema.yml)",
            b"17:49:51  Warning in test not_null_customers_status (models/schema.yml)",
            b"./run.sh: line 3: dbtx: command not found",
            b"Traceback (most recent call last):",
        ];
        for line in lines {
            let lower = line.to_ascii_lowercase();
            let held = FRAME_NEEDLES
                .iter()
                .any(|n| lower.windows(n.len()).any(|w| w == n.as_bytes()));
            assert!(held, "{}", String::from_utf8_lossy(line));
            assert!(
                frame_re().is_match(line) || lower.starts_with(b"traceback"),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_tail_of_an_outside_path_found_in_the_repository_counts() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etl")).unwrap();
        std::fs::write(dir.path().join("etl/load.py"), "").unwrap();
        let line = br#"  File "/app/etl/load.py", line 8, in main"#;
        assert_eq!(
            super::frame_of(line, dir.path()).as_deref(),
            Some("etl/load.py:8")
        );
        let other = br#"  File "/app/etl/other.py", line 8, in main"#;
        assert_eq!(super::frame_of(other, dir.path()), None);
    }

    #[test]
    fn the_latest_frame_within_reach_is_the_source() {
        let mut f = Frames::new(PathBuf::from("/repo"));
        f.observe(1, b"Traceback (most recent call last):");
        f.observe(2, br#"  File "etl/load.py", line 8, in <module>"#);
        f.observe(4, br#"  File "/usr/lib/python3.11/csv.py", line 3, in x"#);
        let line = b"FileNotFoundError: [Errno 2] No such file or directory: 'data/sales.csv'";
        assert_eq!(f.source_for(5, line).as_deref(), Some("etl/load.py:8"));
        assert_eq!(f.source_for(200, line), None);
        f.observe(6, b"Traceback (most recent call last):");
        assert_eq!(f.source_for(7, line), None);
    }

    #[test]
    fn subject_is_the_named_group_cleaned() {
        let re = Regex::new(r"No such file or directory: (?P<subject>'[^']+')").unwrap();
        assert_eq!(
            subject(&re, b"No such file or directory: 'data/sales.csv'").as_deref(),
            Some("data/sales.csv")
        );
        let plain = Regex::new(r"boom").unwrap();
        assert_eq!(subject(&plain, b"boom"), None);
    }
}
