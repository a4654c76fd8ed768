//! What the report's recovery numbers measure: a pipeline re-run after a red
//! iteration is a `retry` timed from that red verdict to its own, safe mode
//! is a mitigation without a time, and the mean time to recovery comes from
//! real recoveries only.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::AutoEtl;

/// A load step refused once (the refusal line psql prints), then fine.
/// `attrs` go into the step's table (risk attributes).
fn refused_once(attrs: &str) -> Pipeline {
    Pipeline::new(&format!(
        "[[steps]]\nname = \"load\"\n{attrs}\
         run = \"sleep 0.3; test -f .warm || {{ touch .warm; echo 'psql: could not connect to server: Connection refused'; exit 1; }}\"\n\
         [cycle]\nmax_iterations = 3\nservice_wait = \"1s\"\n{FAST}"
    ))
}

fn actions<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["recovery_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action_type"] == kind)
        .collect()
}

/// The one pipeline re-run of a run, checked against its cycles: it is timed
/// from the red verdict of iteration 1, so its time covers the backoff
/// (100 ms, no jitter) and all of iteration 2, not iteration 2 alone.
fn the_rerun(report: &serde_json::Value) -> u64 {
    let retries = actions(report, "retry");
    assert_eq!(retries.len(), 1, "{}", report["recovery_actions"]);
    let rerun = retries[0];
    assert_eq!(rerun["config"]["operation"], "pipeline", "{rerun}");
    assert_eq!(rerun["config"]["iteration"], 2, "{rerun}");
    assert_eq!(rerun["config"]["after_failed_iteration"], 1, "{rerun}");
    assert_eq!(rerun["success"], true, "{rerun}");
    let took = rerun["execution_time_ms"].as_u64().unwrap();
    let second = report["cycles"][1]["duration_seconds"].as_f64().unwrap();
    assert!(
        took as f64 >= second * 1000.0 + 90.0,
        "re-run timed {took} ms, iteration 2 alone took {second} s"
    );
    took
}

#[test]
fn a_rerun_after_a_red_iteration_is_timed_from_the_failure() {
    let pipe = refused_once("");
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    assert_eq!(
        report["iterations_executed"], 2,
        "{}",
        report["stop_reason"]
    );
    let took = the_rerun(&report);
    let summary = &report["recovery_summary"];
    assert_eq!(summary["recoveries"], 1, "{summary}");
    assert_eq!(summary["successes"], 1, "{summary}");
    assert_eq!(
        summary["mean_time_to_recovery_ms"].as_f64(),
        Some(took as f64),
        "{summary}"
    );
}

#[test]
fn safe_mode_is_a_mitigation_without_a_time_and_leaves_the_mttr_alone() {
    let pipe = refused_once(
        "kind = \"decision\"\ncomplexity = \"high\"\nexternal_dependencies = true\ndata_sensitive = true\n",
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    assert_eq!(report["risk_assessment"]["safe_mode"], true);
    let safe = actions(&report, "safe_mode");
    assert_eq!(safe.len(), 1, "{}", report["recovery_actions"]);
    assert!(safe[0]["execution_time_ms"].is_null(), "{}", safe[0]);
    let took = the_rerun(&report);
    let summary = &report["recovery_summary"];
    assert_eq!(summary["total"], 2, "{summary}");
    assert_eq!(summary["mitigations"], 1, "{summary}");
    assert_eq!(summary["recoveries"], 1, "{summary}");
    // Safe mode's "0 ms" used to halve this.
    assert_eq!(
        summary["mean_time_to_recovery_ms"].as_f64(),
        Some(took as f64),
        "{summary}"
    );
}

#[test]
fn a_retried_validator_is_timed_from_its_failure_not_from_its_first_start() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo loaded\"\n[cycle]\nmax_iterations = 1\n{FAST}\
         validator = \"sh validate.sh\"\nvalidator_timeout = \"1s\"\n"
    ));
    // Hangs past its 1 s timeout once, then answers at once.
    pipe.write(
        "validate.sh",
        "if [ -e hung-once ]; then echo valid; exit 0; fi\ntouch hung-once\nsleep 30\n",
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    let retries = actions(&report, "retry");
    assert_eq!(retries.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(retries[0]["config"]["operation"], "validator");
    let took = retries[0]["execution_time_ms"].as_u64().unwrap();
    // The 200 ms wait between attempts and the quick second attempt; the
    // hung first second is before the failure and not part of it.
    assert!((200..1000).contains(&took), "timed {took} ms");
}
