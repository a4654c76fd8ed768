//! The `classify` and `rules` subcommands, as functions over a reader and a
//! writer so they can be tested without the binary.

use super::scan::{Markers, Scanner};
use super::{Match, RuleSet};
use anyhow::Context;
use serde::Serialize;
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

/// Exit code of `classify` when nothing in the log is a failure.
pub const CLEAN: u8 = 0;
/// Exit code of `classify` when at least one line is a failure.
pub const FAILURES_FOUND: u8 = 1;

const READ_CHUNK: usize = 256 * 1024;

/// How `classify` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One line per kept match, then a summary line.
    Text,
    /// The DESIGN.md object on one line.
    Json,
    /// Which rule won and why the others lost (keeps the log in memory).
    Explain,
}

/// `auto-etl classify`: streams `input` through the rules (no verify markers)
/// and prints what it found.
///
/// Text format: one line per kept match,
/// `line N: class (rule_id, retryable|non-retryable): excerpt`, followed by
/// `  (subject: S; source: F)` when the rule named them, then a summary
/// line. JSON format: exactly the DESIGN.md object
/// `{"primary": {...} | null, "matches": [...]}` on one line. Explain: see
/// [`super::explain`].
///
/// Returns the exit code: [`CLEAN`] (0) when no line is a failure,
/// [`FAILURES_FOUND`] (1) when at least one is. Read and write errors are
/// `Err` (the caller maps them to its own code).
pub fn run_classify(
    input: &mut dyn Read,
    rules: Arc<RuleSet>,
    style: Style,
    out: &mut dyn Write,
) -> anyhow::Result<u8> {
    let mut scanner = Scanner::new(rules.clone(), Arc::new(Markers::default()));
    let mut kept = Vec::new();
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("failed to read the log"),
        };
        scanner.feed(&buf[..n]);
        if style == Style::Explain {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    let report = scanner.finish();
    if style == Style::Explain {
        super::explain::explain(&kept, &rules, &report, out)
            .context("failed to write the result")?;
    } else if style == Style::Json {
        #[derive(Serialize)]
        struct Out<'a> {
            primary: Option<&'a Match>,
            matches: &'a [Match],
        }
        let doc = Out {
            primary: report.primary(),
            matches: &report.matches,
        };
        serde_json::to_writer(&mut *out, &doc).context("failed to write the result")?;
        writeln!(out).context("failed to write the result")?;
    } else {
        for m in &report.matches {
            writeln!(
                out,
                "line {}: {} ({}, {}): {}{}",
                m.line,
                m.class,
                m.rule_id,
                m.retryability(),
                m.excerpt,
                named(m)
            )
            .context("failed to write the result")?;
        }
        let summary = match report.primary() {
            None => format!("no failure found in {} lines", report.lines),
            Some(p) => {
                let shown = if report.total_matches > report.matches.len() as u64 {
                    format!(" (first {} shown)", report.matches.len())
                } else {
                    String::new()
                };
                let about = p.about().map(|a| format!(": {a}")).unwrap_or_default();
                format!(
                    "{} failure line(s){} in {} lines; primary: {} ({}) at line {}{about}",
                    report.total_matches, shown, report.lines, p.class, p.rule_id, p.line
                )
            }
        };
        writeln!(out, "{summary}").context("failed to write the result")?;
    }
    Ok(if report.total_matches == 0 {
        CLEAN
    } else {
        FAILURES_FOUND
    })
}

/// `  (subject: S; source: F)`, or nothing when the rule named neither.
fn named(m: &Match) -> String {
    let parts: Vec<String> = [("subject", &m.subject), ("source", &m.source)]
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}")))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("  ({})", parts.join("; "))
    }
}

/// `auto-etl rules`: lists the rules in force in priority order (id, class,
/// retryable, source, pattern). JSON format: an array of rule objects.
/// Always returns 0.
pub fn run_rules(rules: &RuleSet, json: bool, out: &mut dyn Write) -> anyhow::Result<u8> {
    if json {
        serde_json::to_writer(&mut *out, rules.rules()).context("failed to write the rules")?;
        writeln!(out).context("failed to write the rules")?;
        return Ok(0);
    }
    let id_w = rules
        .rules()
        .iter()
        .map(|r| r.id.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let class_w = rules
        .rules()
        .iter()
        .map(|r| r.class.as_str().len())
        .max()
        .unwrap_or(5)
        .max(5);
    writeln!(
        out,
        "{:id_w$}  {:class_w$}  {:13}  {:7}  PATTERN",
        "ID", "CLASS", "RETRYABLE", "SOURCE"
    )
    .context("failed to write the rules")?;
    for r in rules.rules() {
        writeln!(
            out,
            "{:id_w$}  {:class_w$}  {:13}  {:7}  {}",
            r.id,
            r.class.as_str(),
            if r.retryable {
                "retryable"
            } else {
                "non-retryable"
            },
            r.source.as_str(),
            r.pattern
        )
        .context("failed to write the rules")?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(log: &str, json: bool) -> (u8, String) {
        let mut out = Vec::new();
        let style = if json { Style::Json } else { Style::Text };
        let code = run_classify(
            &mut log.as_bytes(),
            Arc::new(RuleSet::builtin()),
            style,
            &mut out,
        )
        .unwrap();
        (code, String::from_utf8(out).unwrap())
    }

    #[test]
    fn json_is_the_design_object() {
        let (code, out) = classify(
            "start\nERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist\n",
            true,
        );
        assert_eq!(code, FAILURES_FOUND);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 2);
        assert_eq!(v["primary"]["class"], "no_such_table");
        assert_eq!(v["primary"]["rule_id"], "mysql-no-such-table");
        assert_eq!(v["primary"]["retryable"], true);
        assert_eq!(v["primary"]["line"], 2);
        assert_eq!(
            v["primary"]["excerpt"],
            "ERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist"
        );
        assert_eq!(v["matches"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn clean_log_gives_null_primary_and_exit_0() {
        let (code, out) = classify("all good\n0 errors\n", true);
        assert_eq!(code, CLEAN);
        assert_eq!(out.trim(), r#"{"primary":null,"matches":[]}"#);
        let (code, out) = classify("all good\n", false);
        assert_eq!(code, CLEAN);
        assert_eq!(out.trim(), "no failure found in 1 lines");
    }

    #[test]
    fn text_lists_matches_then_a_summary() {
        let (code, out) = classify(
            "ConnectionRefusedError: [Errno 111] Connection refused\nERROR 1064 (42000): You have an error in your SQL syntax\n",
            false,
        );
        assert_eq!(code, FAILURES_FOUND);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "line 1: connection_refused (python-connection-refused, retryable): ConnectionRefusedError: [Errno 111] Connection refused"
        );
        assert!(lines[1]
            .starts_with("line 2: syntax_error (mysql-syntax-error, not retryable): ERROR 1064"));
        assert_eq!(
            lines[2],
            "2 failure line(s) in 2 lines; primary: syntax_error (mysql-syntax-error) at line 2"
        );
    }

    #[test]
    fn rules_lists_every_rule() {
        let set = RuleSet::builtin();
        let mut out = Vec::new();
        assert_eq!(run_rules(&set, false, &mut out).unwrap(), 0);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), set.rules().len() + 1);
        assert!(text.contains("mysql-no-such-table"));
        let mut out = Vec::new();
        run_rules(&set, true, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_array().unwrap().len(), set.rules().len());
        assert_eq!(v[0]["source"], "builtin");
    }
}
