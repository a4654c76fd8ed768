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
    let _ = writeln!(out, "report: {}", path.display());
    out
}
