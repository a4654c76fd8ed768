//! The built-in rules held to the rules corpus in `fixtures/corpus/`: real
//! lines that real tools printed, each with its expected class and subject.
//!
//! Every corpus file goes through the real binary once (`classify --format
//! json -`); a line that misses its expectation there, or matches more than
//! one rule, is classified again on its own, so each line is judged as if it
//! were alone. Multi-line excerpts are classified whole and judged on
//! `primary`.

use crate::support::AutoEtl;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// Lowest share of tune-split items whose class must be right: the bar
/// issue 12 sets for the primary class.
const MIN_TUNE_CLASS_ACCURACY: f64 = 0.95;
/// Floors under today's figures, so a change that loses ground fails: the
/// tune split with the subject too (0.911 on 2026-12-01), and the class on
/// the holdout split nobody tuned to (0.855). Raise them as the rules get
/// better; BENCHMARKS.md gives the figures.
const MIN_TUNE_ACCURACY: f64 = 0.90;
const MIN_HOLDOUT_CLASS_ACCURACY: f64 = 0.85;
/// Highest share of benign lines the rules may call a failure.
const MAX_FALSE_ALARMS: f64 = 0.05;

/// One corpus item: a line (or an excerpt) and what a user expects of it.
struct Item {
    origin: String,
    class: String,
    subject: Option<String>,
    split: String,
    text: String,
}

/// What the engine said about one item.
struct Verdict {
    class: Option<String>,
    subject: Option<String>,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/corpus")
}

fn files_in(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files
}

fn optional(field: &str) -> Option<String> {
    (field != "-" && !field.is_empty()).then(|| field.to_string())
}

/// Rows of one TSV file: class, subject, tool, split, source, note, line.
fn read_lines_file(path: &Path) -> Vec<Item> {
    let text = std::fs::read_to_string(path).expect("read corpus file");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut items = Vec::new();
    for (n, row) in text.lines().enumerate() {
        if row.trim().is_empty() || row.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = row.splitn(7, '\t').collect();
        assert_eq!(
            f.len(),
            7,
            "{name}:{}: expected 7 tab-separated fields",
            n + 1
        );
        assert!(
            f[3] == "tune" || f[3] == "holdout",
            "{name}:{}: split must be tune or holdout, not {:?}",
            n + 1,
            f[3]
        );
        assert!(!f[4].trim().is_empty(), "{name}:{}: source missing", n + 1);
        items.push(Item {
            origin: format!("{name}:{}", n + 1),
            class: f[0].to_string(),
            subject: optional(f[1]),
            split: f[3].to_string(),
            text: f[6].to_string(),
        });
    }
    items
}

/// An excerpt: `## key: value` header lines, then the lines as printed.
fn read_excerpt(path: &Path) -> Item {
    let text = std::fs::read_to_string(path).expect("read excerpt");
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut header = BTreeMap::new();
    let mut body = Vec::new();
    for line in text.lines() {
        match line.strip_prefix("## ") {
            Some(h) if body.is_empty() => {
                let (k, v) = h.split_once(':').expect("header is `## key: value`");
                header.insert(k.trim().to_string(), v.trim().to_string());
            }
            _ => body.push(line),
        }
    }
    let get = |k: &str| {
        header
            .get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: header `{k}` missing"))
    };
    assert!(header.contains_key("source"), "{name}: source missing");
    let (class, split) = (get("class"), get("split"));
    Item {
        origin: name,
        class,
        subject: header.get("subject").and_then(|s| optional(s)),
        split,
        text: body.join("\n") + "\n",
    }
}

fn classify(input: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = AutoEtl::new(dir.path())
        .args(["classify", "--format", "json", "-"])
        .command();
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn auto-etl classify");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait for classify");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "classify printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn is_failure(m: &Value) -> bool {
    m["class"].as_str().is_some_and(|c| c != "benign")
}

fn verdict_of(m: Option<&Value>) -> Verdict {
    match m.filter(|m| is_failure(m)) {
        Some(m) => Verdict {
            class: m["class"].as_str().map(str::to_string),
            subject: m["subject"].as_str().map(str::to_string),
        },
        None => Verdict {
            class: None,
            subject: None,
        },
    }
}

/// What the engine says about one line on its own: its `primary`.
fn judge_alone(item: &Item) -> Verdict {
    let out = classify(&format!("{}\n", item.text));
    verdict_of(Some(&out["primary"]))
}

/// Lines of a file are classified in one run for speed; a line whose batch
/// verdict misses its expectation, or that matched several rules, is asked
/// again alone (eight at a time), so neighbouring lines can neither hide nor add
/// a failure and the engine's own choice of primary decides.
fn judge_lines(items: &[Item]) -> Vec<Verdict> {
    let input: String = items.iter().map(|i| format!("{}\n", i.text)).collect();
    let out = classify(&input);
    let matches = out["matches"].as_array().cloned().unwrap_or_default();
    let mut verdicts = Vec::with_capacity(items.len());
    let mut again = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let n = i as u64 + 1;
        let on_line: Vec<&Value> = matches
            .iter()
            .filter(|m| m["line"].as_u64() == Some(n) && is_failure(m))
            .collect();
        let v = verdict_of(on_line.first().copied());
        if on_line.len() > 1 || !meets(item, &v) {
            again.push(i);
        }
        verdicts.push(v);
    }
    let alone: Vec<(usize, Verdict)> = std::thread::scope(|s| {
        let workers: Vec<_> = again
            .chunks(again.len().div_ceil(8).max(1))
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|&i| (i, judge_alone(&items[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("classify worker"))
            .collect()
    });
    for (i, v) in alone {
        verdicts[i] = v;
    }
    verdicts
}

/// Whether a verdict is what the corpus expects of the item.
fn meets(item: &Item, v: &Verdict) -> bool {
    if item.class == "benign" {
        return v.class.is_none();
    }
    v.class.as_deref() == Some(item.class.as_str())
        && item
            .subject
            .as_deref()
            .is_none_or(|s| same_subject(s, v.subject.as_deref()))
}

/// Subjects compare without surrounding quotes and case.
fn same_subject(expected: &str, got: Option<&str>) -> bool {
    let norm = |s: &str| {
        s.trim_matches(|c| matches!(c, '"' | '\'' | '`'))
            .to_lowercase()
    };
    got.is_some_and(|g| norm(g) == norm(expected))
}

#[derive(Default)]
struct Tally {
    errors: usize,
    right: usize,
    class_right: usize,
    benign: usize,
    false_alarms: usize,
}

impl Tally {
    fn accuracy(&self) -> f64 {
        self.right as f64 / self.errors.max(1) as f64
    }
    fn class_accuracy(&self) -> f64 {
        self.class_right as f64 / self.errors.max(1) as f64
    }
    fn false_alarm_rate(&self) -> f64 {
        self.false_alarms as f64 / self.benign.max(1) as f64
    }
}

fn score(
    items: &[Item],
    verdicts: &[Verdict],
    tallies: &mut BTreeMap<String, Tally>,
) -> Vec<String> {
    let mut misses = Vec::new();
    for (item, v) in items.iter().zip(verdicts) {
        let t = tallies.entry(item.split.clone()).or_default();
        if item.class == "benign" {
            t.benign += 1;
            if let Some(c) = &v.class {
                t.false_alarms += 1;
                misses.push(format!(
                    "{} [{}] benign called {c}: {}",
                    item.origin, item.split, item.text
                ));
            }
            continue;
        }
        t.errors += 1;
        t.class_right += usize::from(v.class.as_deref() == Some(item.class.as_str()));
        if meets(item, v) {
            t.right += 1;
        } else {
            misses.push(format!(
                "{} [{}] want {} / {:?}, got {:?} / {:?}",
                item.origin, item.split, item.class, item.subject, v.class, v.subject
            ));
        }
    }
    misses
}

#[test]
fn builtin_rules_name_the_class_and_subject_of_real_tool_output() {
    let dir = corpus_dir();
    let mut tallies = BTreeMap::new();
    let mut misses = Vec::new();
    for file in files_in(&dir.join("lines"), "tsv") {
        let items = read_lines_file(&file);
        let verdicts = judge_lines(&items);
        misses.extend(score(&items, &verdicts, &mut tallies));
    }
    for file in files_in(&dir.join("excerpts"), "log") {
        let item = read_excerpt(&file);
        let out = classify(&item.text);
        let verdict = verdict_of(Some(&out["primary"]));
        misses.extend(score(std::slice::from_ref(&item), &[verdict], &mut tallies));
    }
    for m in &misses {
        eprintln!("miss: {m}");
    }
    for (split, t) in &tallies {
        eprintln!(
            "corpus {split}: accuracy {:.3} ({}/{}; class alone {}), false alarms {:.3} ({}/{})",
            t.accuracy(),
            t.right,
            t.errors,
            t.class_right,
            t.false_alarm_rate(),
            t.false_alarms,
            t.benign
        );
    }
    let tune = tallies.get("tune").expect("corpus has a tune split");
    let holdout = tallies.get("holdout").expect("corpus has a holdout split");
    let benign: usize = tallies.values().map(|t| t.benign).sum();
    let alarms: usize = tallies.values().map(|t| t.false_alarms).sum();
    assert!(benign > 0, "corpus has benign lines");
    assert!(
        tune.class_accuracy() >= MIN_TUNE_CLASS_ACCURACY,
        "tune class accuracy {:.3} below {MIN_TUNE_CLASS_ACCURACY}",
        tune.class_accuracy()
    );
    assert!(
        tune.accuracy() >= MIN_TUNE_ACCURACY,
        "tune accuracy (class and subject) {:.3} below {MIN_TUNE_ACCURACY}",
        tune.accuracy()
    );
    assert!(
        holdout.class_accuracy() >= MIN_HOLDOUT_CLASS_ACCURACY,
        "holdout class accuracy {:.3} below {MIN_HOLDOUT_CLASS_ACCURACY}",
        holdout.class_accuracy()
    );
    let rate = alarms as f64 / benign as f64;
    assert!(
        rate <= MAX_FALSE_ALARMS,
        "benign false alarms {rate:.3} above {MAX_FALSE_ALARMS}"
    );
}

/// The contract's classes (DESIGN.md, incl. the second round) and `benign`.
const CLASSES: [&str; 20] = [
    "timeout",
    "connection_refused",
    "dns_failure",
    "port_in_use",
    "already_exists",
    "duplicate_connector",
    "no_such_table",
    "out_of_memory",
    "disk_full",
    "image_not_found",
    "file_not_found",
    "permission_denied",
    "auth_failed",
    "syntax_error",
    "lock_conflict",
    "data_test_failed",
    "data_error",
    "config_error",
    "schema_mismatch",
    "benign",
];

#[test]
fn corpus_items_name_contract_classes_and_both_splits() {
    let dir = corpus_dir();
    let mut items: Vec<Item> = files_in(&dir.join("lines"), "tsv")
        .iter()
        .flat_map(|f| read_lines_file(f))
        .collect();
    items.extend(
        files_in(&dir.join("excerpts"), "log")
            .iter()
            .map(|f| read_excerpt(f)),
    );
    for item in &items {
        assert!(
            CLASSES.contains(&item.class.as_str()),
            "{}: unknown class {:?}",
            item.origin,
            item.class
        );
        assert!(!item.text.trim().is_empty(), "{}: empty line", item.origin);
    }
    let holdout = items.iter().filter(|i| i.split == "holdout").count();
    let share = holdout as f64 / items.len() as f64;
    assert!(
        (0.25..=0.4).contains(&share),
        "holdout share {share:.2} is not about a third"
    );
}
