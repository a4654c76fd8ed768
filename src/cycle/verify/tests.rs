use super::*;
use crate::classify::{FailureClass, MarkerHit, Match};
use crate::metrics::StepMetrics;
use std::time::Duration;

fn step(name: &str, status: StepStatus, code: Option<i32>) -> StepOutcome {
    StepOutcome {
        name: name.into(),
        status,
        exit_code: code,
        duration: Duration::from_millis(5),
        waited: Duration::ZERO,
        metrics: StepMetrics::default(),
    }
}

fn ok_scan() -> ScanReport {
    ScanReport {
        success_markers: vec![MarkerHit {
            marker: "✅".into(),
            line: 3,
            excerpt: "✅ done".into(),
        }],
        ..ScanReport::default()
    }
}

fn markers() -> Vec<String> {
    vec!["✅".into(), "SUCCESS".into()]
}

fn judge_with(
    steps: &[StepOutcome],
    scan: &ScanReport,
    files: &[ExpectedFile],
    validator: Option<Validation>,
) -> Verdict {
    let m = markers();
    judge(&Evidence {
        steps,
        scan,
        success_markers: &m,
        expected_files: files,
        validator,
        interrupted: false,
        agent_errors: &[],
    })
}

#[test]
fn all_checks_passing_is_green() {
    let steps = [step("load", StepStatus::Success, Some(0))];
    let files = [ExpectedFile {
        pattern: "output/*.csv".into(),
        fresh: vec!["output/a.csv".into()],
        stale: vec![],
    }];
    let v = judge_with(
        &steps,
        &ok_scan(),
        &files,
        Some(Validation {
            name: "validator".into(),
            passed: true,
            detail: "exited 0".into(),
        }),
    );
    assert!(v.success, "{:?}", v.errors);
    assert_eq!(v.status, "success");
    assert!(v.errors.is_empty());
}

#[test]
fn exit_zero_with_a_classified_failure_is_not_green() {
    let steps = [step("load", StepStatus::Success, Some(0))];
    let mut scan = ok_scan();
    scan.matches.push(Match {
        class: FailureClass::NoSuchTable,
        rule_id: "mysql-no-such-table".into(),
        retryable: true,
        line: 12,
        excerpt: "ERROR 1146 (42S02): Table 'etl.sales' doesn't exist".into(),
        subject: None,
        source: None,
    });
    scan.total_matches = 1;
    let v = judge_with(&steps, &scan, &[], None);
    assert!(!v.success);
    assert_eq!(v.status, "failed");
    assert_eq!(
        v.errors,
        ["no_such_table: ERROR 1146 (42S02): Table 'etl.sales' doesn't exist (line 12)"]
    );
}

#[test]
fn each_failed_check_alone_makes_it_red() {
    let good = [step("s", StepStatus::Success, Some(0))];
    let bad_exit = [step("s", StepStatus::Failed, Some(2))];
    assert!(!judge_with(&bad_exit, &ok_scan(), &[], None).success);
    let mut with_marker = ok_scan();
    with_marker.error_markers.push(MarkerHit {
        marker: "ERROR".into(),
        line: 2,
        excerpt: "ERROR boom".into(),
    });
    assert!(!judge_with(&good, &with_marker, &[], None).success);
    assert!(
        !judge_with(&good, &ScanReport::default(), &[], None).success,
        "no success marker"
    );
    let missing = [ExpectedFile {
        pattern: "out/*.csv".into(),
        ..ExpectedFile::default()
    }];
    let v = judge_with(&good, &ok_scan(), &missing, None);
    assert!(!v.success);
    assert!(v.errors[0].contains("out/*.csv"));
    let failed_validator = Validation {
        name: "validator".into(),
        passed: false,
        detail: "exited 1".into(),
    };
    assert!(!judge_with(&good, &ok_scan(), &[], Some(failed_validator)).success);
    assert!(
        !judge_with(&[], &ok_scan(), &[], None).success,
        "nothing ran"
    );
}

#[test]
fn no_markers_configured_relies_on_the_other_checks() {
    let steps = [step("s", StepStatus::Success, Some(0))];
    let v = judge(&Evidence {
        steps: &steps,
        scan: &ScanReport::default(),
        success_markers: &[],
        expected_files: &[],
        validator: None,
        interrupted: false,
        agent_errors: &[],
    });
    assert!(v.success);
}

#[test]
fn a_timeout_or_an_interruption_sets_the_status() {
    let steps = [step("s", StepStatus::Timeout, Some(143))];
    let v = judge_with(&steps, &ok_scan(), &[], None);
    assert_eq!((v.success, v.status), (false, "timeout"));
    assert_eq!(v.errors, ["step s timed out"]);
    let steps = [step("s", StepStatus::Success, Some(0))];
    let m = markers();
    let v = judge(&Evidence {
        steps: &steps,
        scan: &ok_scan(),
        success_markers: &m,
        expected_files: &[],
        validator: None,
        interrupted: true,
        agent_errors: &[],
    });
    assert_eq!((v.success, v.status), (false, "interrupted"));
}

#[test]
fn agent_errors_are_never_green() {
    let steps = [step("s", StepStatus::Success, Some(0))];
    let m = markers();
    let errs = ["cannot write the iteration log: No space left on device".to_string()];
    let v = judge(&Evidence {
        steps: &steps,
        scan: &ok_scan(),
        success_markers: &m,
        expected_files: &[],
        validator: None,
        interrupted: false,
        agent_errors: &errs,
    });
    assert!(!v.success);
}

#[test]
fn a_stale_expected_file_left_from_before_is_not_green() {
    let good = [step("s", StepStatus::Success, Some(0))];
    let stale = [ExpectedFile {
        pattern: "output/*.csv".into(),
        fresh: vec![],
        stale: vec!["output/old.csv".into()],
    }];
    let v = judge_with(&good, &ok_scan(), &stale, None);
    assert!(!v.success);
    assert_eq!(
        v.errors,
        ["expected file output/*.csv: not written in this iteration (output/old.csv is left from before)"]
    );
}

/// "3 of 3 step(s) did not succeed" was said when one failed and the two
/// after it were skipped.
#[test]
fn skipped_steps_are_not_counted_as_failed() {
    let steps = [
        step("extract", StepStatus::Failed, Some(1)),
        step("load", StepStatus::Skipped, None),
        step("report", StepStatus::Skipped, None),
    ];
    let v = judge_with(&steps, &ok_scan(), &[], None);
    let exit = v
        .validations
        .iter()
        .find(|c| c.name == "exit codes")
        .unwrap();
    assert_eq!(exit.detail, "1 of 3 step(s) did not succeed, 2 skipped");
}

#[test]
fn errors_name_the_subject_and_the_source_file() {
    let steps = [step("load", StepStatus::Failed, Some(1))];
    let mut scan = ok_scan();
    scan.matches.push(Match {
        class: FailureClass::FileNotFound,
        rule_id: "python-file-not-found".into(),
        retryable: true,
        line: 8,
        excerpt: "FileNotFoundError: [Errno 2] No such file or directory: 'data/sales.csv'".into(),
        subject: Some("data/sales.csv".into()),
        source: Some("etl/load.py:8".into()),
    });
    scan.total_matches = 1;
    let v = judge_with(&steps, &scan, &[], None);
    assert!(v
        .errors
        .contains(&"file_not_found: data/sales.csv (etl/load.py:8)".to_string()));
}
