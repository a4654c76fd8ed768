//! The JUnit XML rendering of a report: one test suite per run and one test
//! case for the pipeline, the way nextest and Surefire report a test that was
//! retried. A run that went green counts as passed (`failures="0"`), its
//! earlier failed iterations kept as `flakyFailure` elements of the passing
//! case; a red run is one failure whose earlier iterations are
//! `rerunFailure` elements. CI dashboards then read a healed run as green and
//! still show what had to be healed.

use super::{CycleRecord, Report};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::fmt::Write;
use std::time::Duration;

/// The test case's name and class: the pipeline's validation cycle.
const CASE_NAME: &str = "validation cycle";
const CLASS_NAME: &str = "auto-etl";

/// The report as JUnit XML.
pub fn junit_xml(report: &Report) -> String {
    let mut suite = TestSuite::new(format!("auto-etl run {}", report.execution_id));
    suite.set_time(secs(report.total_duration_seconds));
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&report.start_time) {
        suite.set_timestamp(t);
    }
    suite.add_properties([
        Property::new("status", report.status.as_str()),
        Property::new("stop_reason", report.stop_reason.as_str()),
        Property::new("iterations", report.iterations_executed.to_string()),
        Property::new("max_iterations", report.max_iterations.to_string()),
        Property::new("report", report.files.report.as_str()),
    ]);
    suite.add_test_case(pipeline_case(report));
    let mut out = quick_junit::Report::new("auto-etl");
    out.set_time(secs(report.total_duration_seconds));
    out.add_test_suite(suite);
    out.to_string()
        .unwrap_or_else(|e| format!("<!-- auto-etl: cannot render JUnit XML: {e} -->\n"))
}

/// The one case: its status is the run's verdict; the iterations before the
/// last one that failed are its flaky runs (green) or reruns (red).
fn pipeline_case(report: &Report) -> TestCase {
    let last = report.cycles.last();
    let earlier = match report.cycles.split_last() {
        Some((_, rest)) => rest,
        None => &[],
    };
    let mut status = verdict_status(report, last);
    status.add_reruns(earlier.iter().filter(|c| !c.success).map(rerun));
    let mut t = TestCase::new(CASE_NAME, status);
    t.set_classname(CLASS_NAME)
        .set_time(secs(report.total_duration_seconds));
    if let Some(c) = last {
        t.add_property(Property::new("log_file", c.log_file.as_str()));
        t.add_property(Property::new(
            "cleanup_level",
            c.plan.cleanup_level.as_str(),
        ));
        t.add_property(Property::new(
            "service_wait_seconds",
            c.plan.service_wait_seconds.to_string(),
        ));
        for (n, s) in c.steps.iter().enumerate() {
            t.add_property(Property::new(
                format!("step.{}", n + 1),
                format!(
                    "{}: {} (exit {}, {} ms)",
                    s.name,
                    s.status,
                    s.exit_code.map_or("-".into(), |e| e.to_string()),
                    s.duration_ms
                ),
            ));
        }
    }
    t.set_system_out(system_out(report));
    t
}

fn verdict_status(report: &Report, last: Option<&CycleRecord>) -> TestCaseStatus {
    if report.overall_success {
        return TestCaseStatus::success();
    }
    // An interrupted or broken run did not fail on the pipeline's merits.
    let kind = if matches!(report.status.as_str(), "interrupted" | "error") {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    };
    let mut s = TestCaseStatus::non_success(kind);
    match last {
        Some(c) => {
            s.set_message(message(c))
                .set_type(failure_type(c))
                .set_description(description(c));
        }
        None => {
            s.set_message(report.stop_reason.as_str())
                .set_type(report.status.as_str());
        }
    }
    s
}

/// A failed iteration before the last one.
fn rerun(c: &CycleRecord) -> TestRerun {
    let kind = if c.status == "interrupted" {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    };
    let mut r = TestRerun::new(kind);
    r.set_time(secs(c.duration_seconds))
        .set_message(format!("iteration {}: {}", c.iteration, message(c)))
        .set_type(failure_type(c))
        .set_description(description(c));
    r
}

fn failure_type(c: &CycleRecord) -> String {
    c.classified_errors
        .first()
        .map(|m| m.class.to_string())
        .unwrap_or_else(|| c.status.clone())
}

fn message(c: &CycleRecord) -> String {
    match c.classified_errors.first() {
        Some(m) => format!("{} ({}): {}", m.class, m.rule_id, m.excerpt),
        None => c
            .errors
            .first()
            .cloned()
            .unwrap_or_else(|| format!("iteration {}", c.status)),
    }
}

fn description(c: &CycleRecord) -> String {
    let mut out = String::new();
    for m in &c.classified_errors {
        // The repository line the error names, when there is one, reads
        // better than a line of a gitignored iteration log.
        let at = match &m.source {
            Some(src) => src.clone(),
            None => format!("{}:{}", c.log_file, m.line),
        };
        let about = m
            .subject
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{at}: {}{about} [rule {}, {}]: {}",
            m.class,
            m.rule_id,
            m.retryability(),
            m.excerpt
        );
    }
    for e in &c.errors {
        let _ = writeln!(out, "{e}");
    }
    out
}

fn system_out(report: &Report) -> String {
    let mut out = String::new();
    for c in &report.cycles {
        let _ = writeln!(
            out,
            "iteration {}: {} in {:.1}s",
            c.iteration, c.status, c.duration_seconds
        );
        for (n, s) in c.steps.iter().enumerate() {
            let _ = writeln!(
                out,
                "  step {}/{} {}: {} in {:.1}s",
                n + 1,
                c.steps.len(),
                s.name,
                s.status,
                s.duration_ms as f64 / 1000.0
            );
        }
        for a in &c.adjustments {
            let _ = writeln!(out, "  adjust: {a}");
        }
    }
    let _ = writeln!(out, "verdict: {} ({})", report.status, report.stop_reason);
    out
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;
    use quick_junit::TestCaseStatus as S;

    fn parse(xml: &str) -> quick_junit::Report {
        quick_junit::Report::deserialize_from_str(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
    }

    #[test]
    fn a_healed_run_has_no_failure_and_keeps_its_attempts_as_flaky() {
        let xml = junit_xml(&sample::report());
        assert!(
            xml.contains(r#"tests="1" skipped="0" failures="0" errors="0""#),
            "{xml}"
        );
        assert_eq!(xml.matches("<flakyFailure").count(), 2, "{xml}");
        assert!(!xml.contains("<failure"), "{xml}");
        assert!(xml.contains(r#"type="connection_refused""#), "{xml}");
        assert!(xml.contains("iteration 1: connection_refused (builtin-connection_refused): could not connect to server"), "{xml}");
        assert!(
            xml.contains(r#"<property name="step.2" value="load: success (exit 0, 1500 ms)"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains("  adjust: service wait 10s -&gt; 20s"),
            "{xml}"
        );
        let back = parse(&xml);
        let case = &back.test_suites[0].test_cases[0];
        match &case.status {
            S::Success { flaky_runs } => assert_eq!(flaky_runs.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_red_run_keeps_its_failure_and_earlier_attempts_as_reruns() {
        let mut report = sample::report();
        report.cycles.pop();
        report.overall_success = false;
        report.status = "failed".into();
        report.stop_reason = "still failing after 2 iteration(s)".into();
        let xml = junit_xml(&report);
        assert!(xml.contains(r#"errors="0" failures="1""#), "{xml}");
        assert!(
            xml.contains(r#"<failure message="already_exists (builtin-already_exists): table staging_sales already exists" type="already_exists">"#),
            "{xml}"
        );
        assert_eq!(xml.matches("<rerunFailure").count(), 1, "{xml}");
        assert!(!xml.contains("flaky"), "{xml}");
        match &parse(&xml).test_suites[0].test_cases[0].status {
            S::NonSuccess { reruns, .. } => assert_eq!(reruns.runs.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_interrupted_run_is_an_error_not_a_failure() {
        let mut report = sample::flaky();
        report.cycles.pop();
        report.overall_success = false;
        report.status = "interrupted".into();
        let xml = junit_xml(&report);
        assert!(xml.contains(r#"errors="1" failures="0""#), "{xml}");
    }

    #[test]
    fn the_failure_names_the_repository_line_when_the_error_has_one() {
        let mut report = sample::report();
        report.cycles[0].classified_errors[0].source = Some("etl/load.py:42".into());
        report.cycles[0].classified_errors[0].subject = Some("db:5432".into());
        let xml = junit_xml(&report);
        assert!(
            xml.contains("etl/load.py:42: connection_refused (db:5432) [rule builtin-connection_refused, retryable]"),
            "{xml}"
        );
        assert!(
            xml.contains("logs/orchestrator_iteration_2_20250109_123456.log:7: already_exists"),
            "{xml}"
        );
    }
}
