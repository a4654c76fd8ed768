//! A small, realistic report for the renderers' unit tests: a refused
//! service, leftovers in the way, then green.

use crate::report::Report;
use serde_json::json;

fn cycle(
    iteration: u32,
    status: &str,
    seconds: f64,
    errors: serde_json::Value,
    adjustments: &[&str],
) -> serde_json::Value {
    let success = status == "success";
    let errs = errors.as_array().cloned().unwrap_or_default();
    json!({
        "iteration": iteration,
        "status": status,
        "success": success,
        "duration_seconds": seconds,
        "errors_count": errs.len(),
        "errors": errs.iter().map(|e| format!("{}: {} (line {})", e["class"].as_str().unwrap(), e["excerpt"].as_str().unwrap(), e["line"])).collect::<Vec<_>>(),
        "adjustments_count": adjustments.len(),
        "adjustments": adjustments,
        "exit_code": if success { 0 } else { 1 },
        "log_file": format!("logs/orchestrator_iteration_{iteration}_20250109_123456.log"),
        "plan": {"service_wait_seconds": 10.0, "cleanup_level": "standard", "recreate_schema": false, "step_timeouts_seconds": [600.0, 600.0]},
        "checkpoint": null,
        "cleanup": {"level": "standard", "containers": 2, "networks": 1, "volumes": 0, "images": 0, "files": 3, "duration_ms": 120, "skipped_reason": null},
        "classified_errors": errors,
        "validations": [{"name": "exit codes", "passed": success, "detail": ""}],
        "steps": [
            {"name": "extract", "status": "success", "exit_code": 0, "duration_ms": (seconds * 400.0) as u64, "performance_metrics": step_metrics()},
            {"name": "load", "status": if success { "success" } else { "failed" }, "exit_code": if success { 0 } else { 1 }, "duration_ms": (seconds * 600.0) as u64, "performance_metrics": step_metrics()}
        ],
        "backoff_seconds": if success { 0.0 } else { 2.0 },
        "health": {"overall_score": 90.0 - f64::from(iteration) * 5.0, "cpu_percent": 20.0, "memory_percent": 40.0}
    })
}

fn step_metrics() -> serde_json::Value {
    serde_json::to_value(crate::metrics::StepMetrics::default()).unwrap()
}

fn matched(class: &str, line: u64, excerpt: &str) -> serde_json::Value {
    json!({"class": class, "rule_id": format!("builtin-{class}"), "retryable": true, "line": line, "excerpt": excerpt})
}

/// Three iterations: connection_refused, already_exists, green.
pub fn report() -> Report {
    let cycles = vec![
        cycle(
            1,
            "failed",
            4.2,
            json!([matched(
                "connection_refused",
                41,
                "could not connect to server: Connection refused"
            )]),
            &["service wait 10s -> 20s (connection_refused)"],
        ),
        cycle(
            2,
            "failed",
            3.1,
            json!([matched(
                "already_exists",
                7,
                "table staging_sales already exists"
            )]),
            &["cleanup standard -> deep (already_exists)"],
        ),
        cycle(3, "success", 2.5, json!([]), &[]),
    ];
    from_cycles(cycles, "success", "green at iteration 3")
}

/// Builds a report around `cycles` (JSON values in the report's shape).
pub fn from_cycles(cycles: Vec<serde_json::Value>, status: &str, reason: &str) -> Report {
    let n = cycles.len();
    serde_json::from_value(json!({
        "schema_version": 1,
        "execution_id": "20250109_123456",
        "start_time": "2025-01-09T12:34:56Z",
        "end_time": "2025-01-09T12:35:06Z",
        "total_duration_seconds": 9.8,
        "max_iterations": 5,
        "iterations_executed": n,
        "overall_success": status == "success",
        "status": status,
        "stop_reason": reason,
        "cycles": cycles,
        "risk_assessment": {"risk_score": 0.2, "risk_level": "low", "step_risks": [], "mitigations": []},
        "performance_metrics": serde_json::to_value(crate::metrics::PerformanceMetrics::default()).unwrap(),
        "recovery_actions": [],
        "automation_health": {"overall_score": 92.5, "health_status": "healthy", "component_scores": {}, "trending": "stable", "alerts": [], "recommendations": []},
        "files": {"report": "logs/auto_cycle_report_20250109_123456.json", "agent_log": "logs/auto_cycle_20250109_123456.log"}
    }))
    .expect("sample report")
}

/// Failed, then green with no adjustment in between: a flaky pass.
pub fn flaky() -> Report {
    from_cycles(
        vec![
            cycle(
                1,
                "failed",
                1.5,
                json!([matched("timeout", 3, "step load timed out")]),
                &[],
            ),
            cycle(2, "success", 1.2, json!([]), &[]),
        ],
        "success",
        "green at iteration 2",
    )
}
