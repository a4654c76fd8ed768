//! The JUnit XML rendering of a report: one test suite per run, one test
//! case per iteration. CI systems show it as a test result; a failure that
//! went away on the next attempt without any change in between is reported
//! as flaky rather than failed, because nothing the agent did fixed it.

use super::{CycleRecord, Report};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestRerun, TestSuite};
use std::fmt::Write;
use std::time::Duration;

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
        Property::new("max_iterations", report.max_iterations.to_string()),
        Property::new("report", report.files.report.as_str()),
    ]);
    let cycles = &report.cycles;
    let mut i = 0;
    while i < cycles.len() {
        let c = &cycles[i];
        let next = cycles.get(i + 1);
        if is_flaky(c, next) {
            let next = next.expect("checked by is_flaky");
            let mut rerun = TestRerun::new(NonSuccessKind::Failure);
            rerun
                .set_time(secs(c.duration_seconds))
                .set_message(message(c))
                .set_type(failure_type(c))
                .set_description(description(c));
            let status = TestCaseStatus::Success {
                flaky_runs: vec![rerun],
            };
            suite.add_test_case(case(next, status));
            i += 2;
            continue;
        }
        suite.add_test_case(case(c, status_of(c)));
        i += 1;
    }
    let mut out = quick_junit::Report::new("auto-etl");
    out.set_time(secs(report.total_duration_seconds));
    out.add_test_suite(suite);
    out.to_string()
        .unwrap_or_else(|e| format!("<!-- auto-etl: cannot render JUnit XML: {e} -->\n"))
}

/// A failed iteration followed by a green one, with no adjustment planned in
/// between: the same plan ran twice and gave different results.
fn is_flaky(c: &CycleRecord, next: Option<&CycleRecord>) -> bool {
    !c.success && c.adjustments.is_empty() && next.is_some_and(|n| n.success)
}

fn case(c: &CycleRecord, status: TestCaseStatus) -> TestCase {
    let mut t = TestCase::new(format!("iteration {}", c.iteration), status);
    t.set_classname("auto-etl.cycle")
        .set_time(secs(c.duration_seconds));
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
    t.set_system_out(system_out(c));
    t
}

fn status_of(c: &CycleRecord) -> TestCaseStatus {
    if c.success {
        return TestCaseStatus::success();
    }
    // An interrupted iteration did not fail on its own merits.
    let kind = if c.status == "interrupted" {
        NonSuccessKind::Error
    } else {
        NonSuccessKind::Failure
    };
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message(c))
        .set_type(failure_type(c))
        .set_description(description(c));
    s
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
        let _ = writeln!(
            out,
            "{}:{}: {} [rule {}, {}]: {}",
            c.log_file,
            m.line,
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

fn system_out(c: &CycleRecord) -> String {
    let mut out = String::new();
    for (n, s) in c.steps.iter().enumerate() {
        let _ = writeln!(
            out,
            "step {}/{} {}: {} in {:.1}s",
            n + 1,
            c.steps.len(),
            s.name,
            s.status,
            s.duration_ms as f64 / 1000.0
        );
    }
    for a in &c.adjustments {
        let _ = writeln!(out, "adjust: {a}");
    }
    out
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;

    #[test]
    fn one_case_per_iteration_with_class_rule_and_excerpt() {
        let xml = junit_xml(&sample::report());
        assert!(xml.contains(r#"<testsuite name="auto-etl run 20250109_123456" tests="3" disabled="0" errors="0" failures="2""#), "{xml}");
        assert!(
            xml.contains(r#"<testcase name="iteration 1" classname="auto-etl.cycle""#),
            "{xml}"
        );
        assert!(xml.contains(r#"type="connection_refused""#), "{xml}");
        assert!(xml.contains("builtin-connection_refused"), "{xml}");
        assert!(xml.contains("could not connect to server"), "{xml}");
        assert!(
            xml.contains(r#"<property name="step.2" value="load: failed (exit 1, 2520 ms)"/>"#),
            "{xml}"
        );
        assert!(xml.contains("adjust: service wait 10s -&gt; 20s"), "{xml}");
        // It reads back as JUnit.
        let back = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(back.test_suites[0].test_cases.len(), 3);
    }

    #[test]
    fn a_failure_that_passes_unchanged_next_time_is_flaky() {
        let xml = junit_xml(&sample::flaky());
        assert!(xml.contains("<flakyFailure"), "{xml}");
        assert!(xml.contains(r#"failures="0""#), "{xml}");
        assert!(xml.contains(r#"<testcase name="iteration 2""#), "{xml}");
        assert!(!xml.contains(r#"<testcase name="iteration 1""#), "{xml}");
        // With an adjustment in between, the agent fixed it: not flaky.
        let xml = junit_xml(&sample::report());
        assert!(!xml.contains("flaky"), "{xml}");
    }
}
