//! Human renderings of a report: the end-of-run summary.

use super::Report;
use std::fmt::Write;
use std::path::Path;

/// The short summary printed on stdout at the end of a run.
pub fn summary(report: &Report, path: &Path) -> String {
    let mut out = String::new();
    let verdict = match report.status.as_str() {
        "success" => "GREEN",
        "non_retryable" => "STOPPED (not retryable)",
        "interrupted" => "INTERRUPTED",
        _ => "RED",
    };
    let _ = writeln!(out, "auto-etl {verdict}: {}", headline(report));
    for c in &report.cycles {
        let classes = classes_with_subjects(c);
        let _ = write!(
            out,
            "  #{:<2} {:<11} {:>7.1}s",
            c.iteration, c.status, c.duration_seconds
        );
        if !classes.is_empty() {
            let _ = write!(out, "  {}", classes.join(", "));
        } else if let Some(e) = c.errors.first().filter(|_| !c.success) {
            let _ = write!(out, "  {e}");
        }
        out.push('\n');
        for a in &c.adjustments {
            let _ = writeln!(out, "        -> {a}");
        }
    }
    for a in report
        .recovery_actions
        .iter()
        .filter(|a| a.action_type == "rollback")
    {
        let _ = writeln!(out, "{}", rollback_line(&a.config, a.success));
    }
    let _ = writeln!(out, "report: {}", path.display());
    out
}

/// The stop reason with the count and time, said once: the reasons the
/// loop gives ("green at iteration 3", "still failing after 10
/// iteration(s) (max-iterations)") often name the count already.
fn headline(report: &Report) -> String {
    let reason = report.stop_reason.trim();
    let time = format!("{:.1}s", report.total_duration_seconds);
    if reason.is_empty() {
        format!("{} iteration(s) in {time}", report.iterations_executed)
    } else if reason.contains("iteration") {
        format!("{reason}, {time} in all")
    } else {
        format!(
            "{reason} after {} iteration(s) in {time}",
            report.iterations_executed
        )
    }
}

/// Distinct classes of a cycle, each with the subject of its first hit
/// when it has one: `no_such_table (etl.sales)`.
fn classes_with_subjects(c: &super::CycleRecord) -> Vec<String> {
    c.first_hit_per_class()
        .into_iter()
        .map(|m| match &m.subject {
            Some(s) => format!("{} ({s})", m.class),
            None => m.class.to_string(),
        })
        .collect()
}

/// One line on a `rollback` action: what went back, and where the failing
/// state is kept.
fn rollback_line(config: &serde_json::Value, success: bool) -> String {
    let text = |k: &str| config[k].as_str().unwrap_or("?").to_string();
    let short = |k: &str| text(k).chars().take(10).collect::<String>();
    if !success {
        return format!("rollback: not done: {}", text("reason"));
    }
    let files = config["files_restored"].as_u64().unwrap_or(0);
    format!(
        "rollback: {files} file(s) back to last-green {} in the working tree (HEAD untouched); the failing state is kept: auto-etl restore {}",
        short("to_commit"),
        text("from"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;

    fn red_after(n: u32) -> Report {
        let mut r = sample::report();
        let one = r.cycles[0].clone();
        r.cycles = (1..=n)
            .map(|i| {
                let mut c = one.clone();
                c.iteration = i;
                c.adjustments.clear();
                c
            })
            .collect();
        r.status = "failed".into();
        r.overall_success = false;
        r.iterations_executed = n;
        r.stop_reason = format!("still failing after {n} iteration(s) (max-iterations)");
        r
    }

    /// "still failing after 10 iteration(s) (max-iterations) after 10
    /// iteration(s)": the count was said twice.
    #[test]
    fn the_headline_says_the_count_once() {
        let text = summary(&red_after(10), Path::new("logs/r.json"));
        let first = text.lines().next().unwrap();
        assert_eq!(first.matches("iteration(s)").count(), 1, "{first}");
    }

    #[test]
    fn a_reason_without_a_count_gets_one() {
        let mut r = sample::report();
        r.status = "non_retryable".into();
        r.stop_reason = "syntax_error cannot be fixed by retrying".into();
        let text = summary(&r, Path::new("logs/r.json"));
        assert!(text.starts_with("auto-etl STOPPED (not retryable): syntax_error cannot be fixed by retrying after 3 iteration(s) in 9.8s\n"), "{text}");
    }

    #[test]
    fn summary_of_a_healed_run() {
        let mut r = sample::report();
        r.cycles[0].classified_errors[0].subject = Some("localhost:5432".into());
        insta::assert_snapshot!(summary(
            &r,
            Path::new("logs/auto_cycle_report_20250109_123456.json")
        ));
    }

    #[test]
    fn summary_of_a_red_run() {
        insta::assert_snapshot!(summary(
            &red_after(3),
            Path::new("logs/auto_cycle_report_20250109_123456.json")
        ));
    }
}
