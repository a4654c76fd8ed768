//! The fuzz targets' bodies, shared by the cargo-fuzz targets (nightly,
//! libFuzzer) and the bounded random loop (`random-loop`, stable). Each one
//! must return normally on any input: a panic is a finding.

use auto_etl::classify::{FailureClass, Markers, Rule, RuleSet, RuleSource, Scanner};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The config loader on arbitrary text.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let args = auto_etl::cli::RunArgs::default();
    let outside = auto_etl::config::Outside {
        cwd: PathBuf::from("/nonexistent/fuzz"),
        ci: false,
        env_push: false,
    };
    let _ = auto_etl::config::resolve(
        text,
        "fuzz.toml",
        PathBuf::from("/nonexistent/fuzz"),
        None,
        &args,
        &outside,
    );
}

/// A user rule (the first line) compiled and run, with the built-ins and the
/// markers, over the rest in uneven chunks; then the redactor over it all.
pub fn classify(data: &[u8]) {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let (pattern, rest) = data.split_at(split);
    let rule = Rule {
        id: "fuzz".into(),
        class: FailureClass::parse(if rest.len() % 2 == 0 {
            "timeout"
        } else {
            "custom_x"
        }),
        pattern: String::from_utf8_lossy(pattern).into_owned(),
        retryable: rest.len() % 3 == 0,
        source: RuleSource::Config,
    };
    let rules = match RuleSet::with_user_rules(vec![rule]) {
        Ok(r) => r,
        Err(_) => RuleSet::builtin(),
    };
    let markers = Markers {
        success: vec!["✅".into(), "SUCCESS".into()],
        error: vec!["❌".into(), "ERROR".into()],
    };
    let mut scanner = Scanner::new(Arc::new(rules), Arc::new(markers));
    let mut at = 0;
    let mut step = 1 + pattern.len() % 7;
    while at < rest.len() {
        let end = (at + step).min(rest.len());
        scanner.feed(&rest[at..end]);
        at = end;
        step = step * 3 % 97 + 1;
    }
    let report = scanner.finish();
    let _ = report.primary();
    let redactor = auto_etl::redact::Redactor::with_values(["s3cr3t", "eyJpass"]);
    let masked = redactor.redact(data);
    assert!(
        !masked.windows(6).any(|w| w == b"s3cr3t"),
        "a known secret survived redaction"
    );
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = redactor.redact_str(text);
    }
}

/// The report reader, then what is rendered from a report.
pub fn report(data: &[u8]) {
    let Ok(report) = serde_json::from_slice::<auto_etl::report::Report>(data) else {
        return;
    };
    let _ = auto_etl::report::render::summary(&report, Path::new("r.json"));
    let masked = auto_etl::redact::Redactor::default().redact_serde(&report);
    let _ = serde_json::to_vec(&masked).expect("a report serialises");
}

/// The journal reader/verifier and the rebuild from it.
pub fn journal(data: &[u8]) {
    let read = auto_etl::journal::read(data);
    if read.problem.is_none() {
        assert!(!read.entries.is_empty(), "an intact journal has entries");
    }
    let _ = auto_etl::journal::rebuild(data, Path::new("logs/j.journal.jsonl"), None);
}

/// The cleanup path resolver: a pattern read lexically must keep to plain
/// components, and expanding it (dry run) over a tree full of link loops
/// and links out of the root lists only paths inside the root.
pub fn cleanup_paths(data: &[u8]) {
    use auto_etl::cleanup::{parse_pattern, Component};
    let text = String::from_utf8_lossy(data);
    if let Ok(p) = parse_pattern(&text) {
        assert!(!p.components.is_empty(), "an empty pattern was accepted");
        assert!(!matches!(p.components.last(), Some(Component::AnyDepth)));
        for c in &p.components {
            if let Component::Literal(s) | Component::Glob(s) = c {
                assert!(!s.is_empty() && s != "." && s != "..", "component {s:?}");
                assert!(!s.contains('/') && !s.contains('\0'), "component {s:?}");
            }
        }
    }
    let (root, outside) = cleanup_tree();
    let never = || false;
    let patterns = [text.into_owned()];
    let out = auto_etl::cleanup::remove_generated(&auto_etl::cleanup::PathCleanup {
        root,
        patterns: &patterns,
        protect: &[root.join("logs")],
        dry_run: true,
        cancelled: &never,
        limits: auto_etl::cleanup::Limits {
            max_entries: 10_000,
            ..Default::default()
        },
    });
    for r in &out.removed {
        let p = root.join(r);
        assert!(p.starts_with(root) && !r.starts_with(".."), "listed {r}");
        assert!(
            !p.starts_with(root.join("logs")),
            "listed the report dir: {r}"
        );
    }
    assert!(outside.join("precious").exists());
}

/// A tree made once per process: files, link loops, links to `/` and out
/// of the root, a report directory.
fn cleanup_tree() -> (&'static Path, &'static Path) {
    static TREE: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    let (root, outside) = TREE.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("auto-etl-fuzz-{}", std::process::id()));
        let (root, outside) = (base.join("root"), base.join("outside"));
        std::fs::create_dir_all(root.join("out/deep")).expect("fuzz tree");
        std::fs::create_dir_all(root.join("logs")).expect("fuzz tree");
        std::fs::create_dir_all(&outside).expect("fuzz tree");
        let _ = std::fs::write(outside.join("precious"), "p");
        let _ = std::fs::write(root.join("a.json"), "{}");
        let _ = std::fs::write(root.join("out/deep/b.json"), "{}");
        let _ = std::fs::write(root.join("logs/lock"), "");
        let _ = std::os::unix::fs::symlink("..", root.join("out/up"));
        let _ = std::os::unix::fs::symlink(".", root.join("out/self"));
        let _ = std::os::unix::fs::symlink("/", root.join("out/slash"));
        let _ = std::os::unix::fs::symlink(&outside, root.join("link"));
        (root.canonicalize().expect("fuzz tree"), outside)
    });
    (root.as_path(), outside.as_path())
}

/// The chunk sizes an input is cut into: derived from its first byte, so
/// the fuzzer explores read boundaries as well as contents.
fn chunks(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut step = 1 + data.first().map_or(0, |&b| b as usize) * 61;
    let mut at = 0;
    std::iter::from_fn(move || {
        if at >= data.len() {
            return None;
        }
        let end = (at + step).min(data.len());
        let piece = &data[at..end];
        at = end;
        step = step * 7 % 70_001 + 1;
        Some(piece)
    })
}

/// Line reassembly: the scanner (windows of long lines, `\r` pieces) counts
/// every line whatever the chunking, and a stream redactor fed the same
/// chunks writes every line end it was given.
pub fn lines(data: &[u8]) {
    let markers = Markers {
        success: vec!["SUCCESS".into()],
        error: vec!["FAILED".into()],
    };
    let mut scanner = Scanner::new(Arc::new(RuleSet::builtin()), Arc::new(markers));
    let redactor = auto_etl::redact::Redactor::with_values(["s3cr3t-value"]);
    let mut stream = auto_etl::redact::stream::Stream::default();
    let mut out = Vec::new();
    for piece in chunks(data) {
        scanner.feed(piece);
        stream.push(&redactor, piece, &mut out);
    }
    stream.finish(&redactor, &mut out);
    let report = scanner.finish();
    let newlines = data.iter().filter(|&&b| b == b'\n').count() as u64;
    let partial = u64::from(!data.is_empty() && !data.ends_with(b"\n"));
    assert_eq!(report.lines, newlines + partial, "lines miscounted");
    assert!(report.matches.iter().all(|m| m.line >= 1 && m.line <= report.lines));
}

/// The redactor, whole and as a stream cut anywhere: a known secret value
/// never survives, whatever surrounds it.
pub fn redact(data: &[u8]) {
    let secret: &[u8] = b"s3cr3t-value";
    let redactor = auto_etl::redact::Redactor::with_values(["s3cr3t-value"]);
    let masked = redactor.redact(data);
    assert!(
        !masked.windows(secret.len()).any(|w| w == secret),
        "a known secret survived redaction"
    );
    let mut stream = auto_etl::redact::stream::Stream::default();
    let mut out = Vec::new();
    for piece in chunks(data) {
        stream.push(&redactor, piece, &mut out);
    }
    stream.finish(&redactor, &mut out);
    assert!(
        !out.windows(secret.len()).any(|w| w == secret),
        "a known secret survived stream redaction"
    );
}

/// The targets by name, for the random loop.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("config", config),
    ("classify", classify),
    ("report", report),
    ("journal", journal),
    ("cleanup_paths", cleanup_paths),
    ("lines", lines),
    ("redact", redact),
];
