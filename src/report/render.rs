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
    let _ = writeln!(
        out,
        "auto-etl {verdict}: {} after {} iteration(s) in {:.1}s",
        report.stop_reason, report.iterations_executed, report.total_duration_seconds
    );
    for c in &report.cycles {
        let classes: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for m in &c.classified_errors {
                if !v.contains(&m.class.to_string()) {
                    v.push(m.class.to_string());
                }
            }
            v
        };
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
