//! The verdict: an iteration is green only when every step exited 0, no
//! failure class matched its output, the markers agree, every expected file
//! exists and the validator passed. Pure: data in, data out.

use crate::classify::ScanReport;
use crate::orchestrator::{StepOutcome, StepStatus};
use crate::report::Validation;

/// Most error sentences listed per iteration (the count is kept in full).
const MAX_ERRORS: usize = 25;

/// What the iteration showed, gathered for the verdict.
pub struct Evidence<'a> {
    pub steps: &'a [StepOutcome],
    pub scan: &'a ScanReport,
    /// The configured success markers (empty: none required).
    pub success_markers: &'a [String],
    /// What each expected-file pattern matched.
    pub expected_files: &'a [ExpectedFile],
    /// The validator's check, if one is configured.
    pub validator: Option<Validation>,
    pub interrupted: bool,
    /// Problems of the agent itself (e.g. the log could not be written).
    pub agent_errors: &'a [String],
}

/// What one expected-file pattern matched.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedFile {
    pub pattern: String,
    /// Written during the iteration.
    pub fresh: Vec<String>,
    /// Older than the iteration: left over, proves nothing.
    pub stale: Vec<String>,
}

/// The iteration's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub success: bool,
    /// success | failed | timeout | interrupted
    pub status: &'static str,
    pub errors: Vec<String>,
    pub errors_count: usize,
    pub validations: Vec<Validation>,
}

/// Judges one iteration.
pub fn judge(e: &Evidence) -> Verdict {
    let mut validations = Vec::new();
    let mut errors: Vec<String> = Vec::new();

    let bad_steps: Vec<&StepOutcome> = e
        .steps
        .iter()
        .filter(|s| s.status != StepStatus::Success)
        .collect();
    for s in &bad_steps {
        errors.push(match s.status {
            StepStatus::Timeout => format!("step {} timed out", s.name),
            StepStatus::Interrupted => format!("step {} interrupted", s.name),
            StepStatus::Skipped => format!("step {} skipped after an earlier failure", s.name),
            _ => match s.exit_code {
                Some(code) => format!("step {} exited with {code}", s.name),
                None => format!("step {} could not be started", s.name),
            },
        });
    }
    validations.push(Validation {
        name: "exit codes".into(),
        passed: bad_steps.is_empty() && !e.steps.is_empty(),
        detail: if e.steps.is_empty() {
            "no step ran".into()
        } else if bad_steps.is_empty() {
            format!("{} step(s) exited 0", e.steps.len())
        } else {
            not_succeeded(&bad_steps, e.steps.len())
        },
    });

    for m in &e.scan.matches {
        // What the error is about (else the line itself), and where: the
        // repository file that raised it, else the log line.
        let what = m.subject.as_deref().unwrap_or(&m.excerpt);
        errors.push(match &m.source {
            Some(src) => format!("{}: {what} ({src})", m.class),
            None => format!("{}: {what} (line {})", m.class, m.line),
        });
    }
    validations.push(Validation {
        name: "failure classes".into(),
        passed: e.scan.total_matches == 0,
        detail: if e.scan.total_matches == 0 {
            "no failure class matched".into()
        } else {
            let classes: Vec<String> = e.scan.classes().iter().map(|c| c.to_string()).collect();
            format!(
                "{} line(s) matched: {}",
                e.scan.total_matches,
                classes.join(", ")
            )
        },
    });

    for hit in &e.scan.error_markers {
        errors.push(format!(
            "error marker {}: {} (line {})",
            hit.marker, hit.excerpt, hit.line
        ));
    }
    validations.push(Validation {
        name: "error markers".into(),
        passed: e.scan.error_markers.is_empty(),
        detail: match e.scan.error_markers.first() {
            None => "no error marker".into(),
            Some(h) => format!("{} at line {}", h.marker, h.line),
        },
    });

    if !e.success_markers.is_empty() {
        let seen = !e.scan.success_markers.is_empty();
        if !seen {
            errors.push(format!(
                "no success marker ({}) in the output; set [verify] success_patterns = [] to rely on exit codes",
                e.success_markers.join(", ")
            ));
        }
        validations.push(Validation {
            name: "success markers".into(),
            passed: seen,
            detail: match e.scan.success_markers.first() {
                Some(h) => format!("{} at line {}", h.marker, h.line),
                None => "none found".into(),
            },
        });
    }

    for f in e.expected_files {
        let passed = !f.fresh.is_empty();
        let detail = if passed {
            let shown: Vec<&str> = f.fresh.iter().take(3).map(String::as_str).collect();
            format!("{} written: {}", f.fresh.len(), shown.join(", "))
        } else if let Some(old) = f.stale.first() {
            format!("not written in this iteration ({old} is left from before)")
        } else {
            "missing".into()
        };
        if !passed {
            errors.push(format!("expected file {}: {detail}", f.pattern));
        }
        validations.push(Validation {
            name: format!("expected file {}", f.pattern),
            passed,
            detail,
        });
    }

    if let Some(v) = &e.validator {
        if !v.passed {
            errors.push(format!("validator: {}", v.detail));
        }
        validations.push(v.clone());
    }
    errors.extend(e.agent_errors.iter().cloned());

    let success =
        !e.interrupted && e.agent_errors.is_empty() && validations.iter().all(|v| v.passed);
    let status = if e.interrupted {
        "interrupted"
    } else if success {
        "success"
    } else if e.steps.iter().any(|s| s.status == StepStatus::Timeout) {
        "timeout"
    } else {
        "failed"
    };
    let errors_count =
        errors.len() + (e.scan.total_matches as usize).saturating_sub(e.scan.matches.len());
    errors.truncate(MAX_ERRORS);
    Verdict {
        success,
        status,
        errors,
        errors_count,
        validations,
    }
}

/// "1 of 3 step(s) did not succeed, 2 skipped": skipped steps did not fail, they
/// never ran because an earlier one did.
fn not_succeeded(bad: &[&StepOutcome], total: usize) -> String {
    let skipped = bad
        .iter()
        .filter(|s| s.status == StepStatus::Skipped)
        .count();
    let failed = bad.len() - skipped;
    if skipped == 0 {
        format!("{failed} of {total} step(s) did not succeed")
    } else {
        format!("{failed} of {total} step(s) did not succeed, {skipped} skipped")
    }
}

#[cfg(test)]
mod tests;
