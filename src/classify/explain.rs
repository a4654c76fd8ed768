//! `auto-etl classify --explain`: which rule won, why the other matches
//! lost (a consequence of the cause, outranked by an earlier or stopping
//! cause, a lower rule on the same line), the subject and source it
//! extracted, and which lines a rule would have matched but were harmless.

use super::benign::{self, Benign};
use super::cause::{self, Standing};
use super::scan::ScanReport;
use super::{Match, RuleSet};
use std::io::{self, Write};

/// Harmless lines shown at most.
const MAX_BENIGN_SHOWN: usize = 20;

/// Writes the explanation of `report`, the scan of `log` with `rules`.
pub fn explain(
    log: &[u8],
    rules: &RuleSet,
    report: &ScanReport,
    out: &mut dyn Write,
) -> io::Result<()> {
    let standings = cause::standings(&report.matches);
    match cause::primary_index(&report.matches) {
        None => writeln!(out, "no failure found in {} lines", report.lines)?,
        Some(p) => {
            let m = &report.matches[p];
            writeln!(
                out,
                "primary: {} (rule {}, {}) at line {}",
                m.class,
                m.rule_id,
                m.retryability(),
                m.line
            )?;
            about(m, out)?;
            writeln!(out, "  line: {}", m.excerpt)?;
            let others = other_rules(rules, m, log);
            if !others.is_empty() {
                writeln!(
                    out,
                    "  same line, lower in rule order: {}",
                    others.join(", ")
                )?;
            }
        }
    }
    for (m, standing) in report.matches.iter().zip(&standings) {
        let why = match standing {
            Standing::Primary => continue,
            Standing::Consequence { cause, line } => {
                format!("lost: a consequence of {cause} (line {line})")
            }
            Standing::Outranked => "lost: the primary stops the loop or comes first".to_string(),
        };
        writeln!(
            out,
            "line {}: {} (rule {}): {why}",
            m.line, m.class, m.rule_id
        )?;
        about(m, out)?;
    }
    harmless(log, rules, out)
}

fn about(m: &Match, out: &mut dyn Write) -> io::Result<()> {
    if let Some(s) = &m.subject {
        writeln!(out, "  subject: {s}")?;
    }
    if let Some(s) = &m.source {
        writeln!(out, "  source: {s}")?;
    }
    Ok(())
}

/// The rules after the winner that match the winner's line too.
fn other_rules(rules: &RuleSet, m: &Match, log: &[u8]) -> Vec<String> {
    let Some(line) = nth_line(log, m.line) else {
        return Vec::new();
    };
    let text = Benign::get()
        .mask(&benign::neutralize_ansi(line))
        .into_owned();
    rules
        .rules()
        .iter()
        .zip(rules.compiled())
        .filter(|(r, re)| r.id != m.rule_id && re.is_match(&text))
        .map(|(r, _)| format!("{} ({})", r.id, r.class))
        .collect()
}

fn nth_line(log: &[u8], n: u64) -> Option<&[u8]> {
    let line = log.split(|&b| b == b'\n').nth(n.checked_sub(1)? as usize)?;
    Some(line.strip_suffix(b"\r").unwrap_or(line))
}

/// Lines a rule matches but the benign filter let pass, and why.
fn harmless(log: &[u8], rules: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let b = Benign::get();
    let mut shown = 0;
    for (i, raw) in log.split(|&c| c == b'\n').enumerate() {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let text = benign::neutralize_ansi(raw);
        let Some(r) = rules.first_match(&text) else {
            continue;
        };
        let why = if b.is_benign_line(&text) {
            "a harmless line (debug or notice level, a retry or fallback the tool handles, a deprecation)"
        } else if rules.first_match(&b.mask(&text)).is_none() {
            "its failure word is in a harmless span (a zero count, a setting's name)"
        } else {
            continue;
        };
        let rule = &rules.rules()[r];
        writeln!(
            out,
            "line {}: not a failure: {why}; rule {} ({}) would match",
            i + 1,
            rule.id,
            rule.class
        )?;
        shown += 1;
        if shown == MAX_BENIGN_SHOWN {
            writeln!(out, "(more harmless lines not shown)")?;
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::Scanner;
    use std::sync::Arc;

    #[test]
    fn explains_the_winner_the_losers_and_the_harmless_lines() {
        // Produced here by psql 15.20 (`psql -f c.sql`).
        let log = concat!(
            "psql:c.sql:1: NOTICE:  relation \"raw_customers\" already exists, skipping\n",
            "psql:c.sql:2: ERROR:  syntax error at or near \",\"\n",
            "psql:c.sql:3: ERROR:  relation \"stg_orders\" does not exist\n",
        );
        let rules = RuleSet::builtin();
        let mut s = Scanner::new(Arc::new(rules.clone()), Default::default());
        s.feed(log.as_bytes());
        let report = s.finish();
        let mut out = Vec::new();
        explain(log.as_bytes(), &rules, &report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "primary: syntax_error (rule pg-syntax-error, not retryable) at line 2"
        );
        assert_eq!(lines[1], "  source: c.sql:2");
        assert!(text.contains(
            "line 3: no_such_table (rule pg-relation-missing): lost: a consequence of syntax_error (line 2)\n  subject: stg_orders\n  source: c.sql:3"
        ), "{text}");
        assert!(
            text.contains("line 1: not a failure: a harmless line"),
            "{text}"
        );
        assert!(
            text.contains("same line, lower in rule order: generic-syntax-error (syntax_error)"),
            "{text}"
        );
    }
}
