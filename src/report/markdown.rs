//! The Markdown rendering of a report: the GitHub step summary and
//! `auto-etl report FILE --format markdown`. Bounded in size, because GitHub
//! refuses a step summary over 1 MiB and a runaway report must not cost the
//! whole summary.

use super::{CycleRecord, Report};
use std::fmt::Write;

/// GitHub's limit for one step's summary.
pub const GITHUB_SUMMARY_LIMIT: usize = 1024 * 1024;

/// The longest text kept in one table cell.
const CELL_MAX: usize = 300;

/// The verdict word for a report status, as the text summary says it.
pub fn verdict(status: &str) -> (&'static str, &'static str) {
    match status {
        "success" => ("✅", "GREEN"),
        "non_retryable" => ("⛔", "STOPPED (not retryable)"),
        "interrupted" => ("⚠️", "INTERRUPTED"),
        _ => ("❌", "RED"),
    }
}

/// The distinct failure classes of an iteration, in order of first sight.
pub fn classes_of(cycle: &CycleRecord) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for m in &cycle.classified_errors {
        let c = m.class.to_string();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The whole report as Markdown, with no size bound.
pub fn markdown(report: &Report) -> String {
    step_summary(report, usize::MAX)
}

/// The report as Markdown in at most `max_bytes` bytes: iterations that do
/// not fit are left out with a line saying how many.
pub fn step_summary(report: &Report, max_bytes: usize) -> String {
    let (icon, word) = verdict(&report.status);
    let mut head = String::new();
    let _ = writeln!(
        head,
        "## auto-etl {icon} {word}: {}\n",
        cell(&report.stop_reason)
    );
    let _ = writeln!(
        head,
        "Run `{}`: {} of at most {} iteration(s) in {:.1}s.\n",
        report.execution_id,
        report.iterations_executed,
        report.max_iterations,
        report.total_duration_seconds
    );
    head.push_str("| # | status | duration | failure classes | adjustments |\n");
    head.push_str("|--:|---|--:|---|---|\n");
    let mut foot = String::new();
    let _ = writeln!(
        foot,
        "\n**Verdict:** `{}`: {}",
        report.status,
        cell(&report.stop_reason)
    );
    if !report.files.report.is_empty() {
        let _ = writeln!(foot, "\nReport: `{}`", report.files.report);
    }
    // Room for the "left out" line, whatever the count.
    let reserve = 120;
    let mut out = head;
    let budget = max_bytes.saturating_sub(foot.len() + reserve);
    let mut shown = 0;
    for c in &report.cycles {
        let row = row(c);
        if out.len() + row.len() > budget {
            break;
        }
        out.push_str(&row);
        shown += 1;
    }
    let left = report.cycles.len() - shown;
    if left > 0 {
        let _ = writeln!(
            out,
            "\n_{left} more iteration(s) left out to stay under the size limit; see the JSON report._"
        );
    }
    out.push_str(&foot);
    if out.len() > max_bytes {
        // Only a budget smaller than the header itself gets here.
        out.truncate(floor_char_boundary(&out, max_bytes));
    }
    out
}

fn row(c: &CycleRecord) -> String {
    let status = if c.success {
        format!("✅ {}", c.status)
    } else {
        format!("❌ {}", c.status)
    };
    let classes = classes_with_where(c);
    let classes = if classes.is_empty() {
        c.errors
            .first()
            .filter(|_| !c.success)
            .map(|e| cell(e))
            .unwrap_or_default()
    } else {
        classes.join(", ")
    };
    let adjustments = c
        .adjustments
        .iter()
        .map(|a| cell(a))
        .collect::<Vec<_>>()
        .join("<br>");
    format!(
        "| {} | {status} | {:.1}s | {classes} | {} |\n",
        c.iteration,
        c.duration_seconds,
        cut(&adjustments, CELL_MAX * 3)
    )
}

/// Each distinct class of a cycle as code, with what its first hit is
/// about and where in the repository, when the classifier found them:
/// `` `no_such_table` on `etl.sales` at `sql/load.sql:12` ``.
fn classes_with_where(c: &CycleRecord) -> Vec<String> {
    c.first_hit_per_class()
        .into_iter()
        .map(|m| {
            let mut text = format!("`{}`", code(m.class.as_str()));
            if let Some(s) = &m.subject {
                text.push_str(&format!(" on `{}`", code(s)));
            }
            if let Some(s) = &m.source {
                text.push_str(&format!(" at `{}`", code(s)));
            }
            text
        })
        .collect()
}

/// Text for inside backticks in a table cell: one line, bounded, no
/// backtick or column break.
fn code(text: &str) -> String {
    cell(text).replace('`', "'")
}

/// Text made safe for one table cell: one line, no column breaks, bounded.
pub fn cell(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    cut(&one_line, CELL_MAX)
        .replace('|', "\\|")
        .replace('<', "&lt;")
}

fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    format!("{}…", &text[..floor_char_boundary(text, max)])
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;

    #[test]
    fn the_table_has_a_row_per_iteration_and_the_verdict() {
        let md = markdown(&sample::report());
        assert!(md.contains("## auto-etl ✅ GREEN"), "{md}");
        assert!(
            md.contains("| 1 | ❌ failed | 4.2s | `connection_refused` | service wait 10s -> 20s"),
            "{md}"
        );
        assert!(md.contains("| 3 | ✅ success |"), "{md}");
        assert!(md.contains("**Verdict:** `success`"), "{md}");
    }

    #[test]
    fn subjects_and_sources_are_shown() {
        let mut r = sample::report();
        r.cycles[0].classified_errors[0].subject = Some("localhost:5432".into());
        r.cycles[0].classified_errors[0].source = Some("tools/load.py:41".into());
        let md = markdown(&r);
        assert!(
            md.contains("| `connection_refused` on `localhost:5432` at `tools/load.py:41` |"),
            "{md}"
        );
        insta::assert_snapshot!(md);
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(cell("<script>"), "&lt;script>");
        assert!(cell(&"x".repeat(1000)).len() <= CELL_MAX + 3);
    }

    #[test]
    fn a_huge_report_stays_under_githubs_limit() {
        let mut r = sample::report();
        let one = r.cycles[0].clone();
        r.cycles = (1..=20_000)
            .map(|i| {
                let mut c = one.clone();
                c.iteration = i;
                c.adjustments = vec!["y".repeat(2000); 3];
                c
            })
            .collect();
        let md = step_summary(&r, GITHUB_SUMMARY_LIMIT);
        assert!(md.len() <= GITHUB_SUMMARY_LIMIT, "{}", md.len());
        assert!(md.contains("more iteration(s) left out"));
        assert!(md.contains("**Verdict:**"));
        assert!(md.len() > GITHUB_SUMMARY_LIMIT / 2);
        let tiny = step_summary(&r, 50);
        assert!(tiny.len() <= 50);
    }
}
