//! The classifier over realistic logs in `fixtures/logs/`, through the
//! library (the binary's `classify` subcommand is wired by the CLI).

use auto_etl::classify::{run_classify, Markers, RuleSet, ScanReport, Scanner, Style};
use std::path::PathBuf;
use std::sync::Arc;

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/logs")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn scan(name: &str) -> ScanReport {
    let markers = Markers {
        success: vec!["✅".into(), "SUCCESS".into(), "COMPLETADA".into()],
        error: vec!["❌".into(), "FAILED".into(), "ERROR".into()],
    };
    let mut s = Scanner::new(Arc::new(RuleSet::builtin()), Arc::new(markers));
    // Small odd chunks, as a pipe would deliver them.
    for chunk in fixture(name).chunks(13) {
        s.feed(chunk);
    }
    s.finish()
}

fn found(r: &ScanReport) -> Vec<(u64, String, String)> {
    r.matches
        .iter()
        .map(|m| (m.line, m.class.to_string(), m.rule_id.clone()))
        .collect()
}

fn markers(hits: &[auto_etl::classify::MarkerHit]) -> Vec<(u64, &str)> {
    hits.iter().map(|h| (h.line, h.marker.as_str())).collect()
}

fn m(line: u64, class: &str, rule: &str) -> (u64, String, String) {
    (line, class.to_string(), rule.to_string())
}

#[test]
fn mysql_missing_table() {
    let r = scan("mysql_missing_table.log");
    assert_eq!(found(&r), [m(6, "no_such_table", "mysql-no-such-table")]);
    assert_eq!(
        markers(&r.error_markers),
        [(6, "ERROR"), (7, "ERROR"), (8, "❌"), (8, "FAILED")]
    );
    assert!(r.success_markers.is_empty());
}

#[test]
fn postgres_connection_refused_after_a_harmless_retry_notice() {
    let r = scan("postgres_refused.log");
    assert_eq!(
        found(&r),
        [m(8, "connection_refused", "pg-connection-failed")]
    );
    assert_eq!(r.primary().unwrap().line, 8);
    assert_eq!(r.lines, 10);
}

#[test]
fn clickhouse_syntax_error_is_primary_over_an_earlier_retryable_one() {
    let r = scan("clickhouse_syntax.log");
    assert_eq!(
        found(&r),
        [
            m(4, "syntax_error", "clickhouse-syntax-error"),
            m(6, "out_of_memory", "clickhouse-memory-limit")
        ]
    );
    assert!(!r.primary().unwrap().retryable);
}

#[test]
fn airflow_running_dbt() {
    let r = scan("airflow_dbt.log");
    assert_eq!(found(&r), [m(6, "no_such_table", "pg-relation-missing")]);
    assert_eq!(
        markers(&r.error_markers),
        [(4, "ERROR"), (8, "ERROR"), (9, "ERROR")]
    );
}

#[test]
fn spark_out_of_memory_then_missing_table() {
    let r = scan("spark_oom.log");
    assert_eq!(
        found(&r),
        [
            m(5, "out_of_memory", "java-out-of-memory"),
            m(9, "no_such_table", "spark-table-not-found")
        ]
    );
}

#[test]
fn docker_port_and_name_conflicts() {
    let r = scan("docker_port.log");
    assert_eq!(
        found(&r),
        [
            m(6, "port_in_use", "docker-port-allocated"),
            m(7, "already_exists", "docker-name-conflict")
        ]
    );
}

#[test]
fn python_traceback_missing_file() {
    let r = scan("python_traceback.log");
    assert_eq!(found(&r), [m(8, "file_not_found", "python-file-not-found")]);
}

#[test]
fn clean_success_log_has_no_failure() {
    let r = scan("clean_success.log");
    assert_eq!(found(&r), []);
    assert!(r.error_markers.is_empty(), "{:?}", r.error_markers);
    assert_eq!(
        markers(&r.success_markers),
        [(8, "✅"), (8, "SUCCESS"), (8, "COMPLETADA")]
    );
}

#[test]
fn classify_command_exit_codes_over_fixtures() {
    let rules = Arc::new(RuleSet::builtin());
    for (name, want) in [
        ("mysql_missing_table.log", 1),
        ("clean_success.log", 0),
        ("docker_port.log", 1),
    ] {
        let mut out = Vec::new();
        let code = run_classify(
            &mut &fixture(name)[..],
            rules.clone(),
            Style::Json,
            &mut out,
        )
        .unwrap();
        assert_eq!(code, want, "{name}");
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["primary"].is_null(), want == 0, "{name}");
    }
}

/// A real Python traceback (python3 run here, in a scratch repository):
/// `classify` names the missing file and the repository line that opened
/// it, in text, JSON and `--explain`.
#[test]
fn classify_names_the_subject_and_the_source_of_a_real_traceback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etl")).unwrap();
    std::fs::write(
        dir.path().join("etl/load.py"),
        "import csv\n\n\ndef main():\n    rows = []\n    # load\n    path = \"data/sales.csv\"\n    with open(path) as f:\n        rows = list(csv.reader(f))\n    return rows\n\n\nmain()\n",
    )
    .unwrap();
    let py = std::process::Command::new("python3")
        .arg("etl/load.py")
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    assert!(!py.status.success());
    let log = dir.path().join("iteration.log");
    std::fs::write(&log, &py.stderr).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(crate::support::bin())
            .arg("classify")
            .arg(&log)
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).unwrap()
    };
    let text = run(&[]);
    assert!(
        text.contains("(subject: data/sales.csv; source: etl/load.py:8)"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("primary: file_not_found (python-file-not-found) at line 7: data/sales.csv (etl/load.py:8)"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&run(&["--format", "json"])).unwrap();
    assert_eq!(json["primary"]["subject"], "data/sales.csv");
    assert_eq!(json["primary"]["source"], "etl/load.py:8");
    let explained = run(&["--explain"]);
    assert!(
        explained.starts_with("primary: file_not_found (rule python-file-not-found, retryable) at line 7\n  subject: data/sales.csv\n  source: etl/load.py:8\n"),
        "{explained}"
    );
}
