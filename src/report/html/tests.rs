use super::*;
use crate::ci::sample;

/// The sample run made richer: subjects and sources on its failures, step
/// figures, health, risk and a retry, as a real report carries them.
pub(crate) fn rich_report() -> Report {
    let mut r = sample::report();
    r.cycles[0].classified_errors[0].subject = Some("localhost:5432".into());
    r.cycles[0].classified_errors[0].source = Some("tools/load.py:41".into());
    r.cycles[1].classified_errors[0].subject = Some("staging_sales".into());
    r.performance_metrics = serde_json::from_value(serde_json::json!({
        "execution_time_ms": 9800, "cpu_usage_percent": 85.0, "memory_usage_mb": 212.0,
        "throughput_ops_per_second": 0.6, "error_rate": 0.33, "success_rate": 0.67,
        "resource_efficiency": 0.4, "optimization_recommendations": [],
        "step_breakdown": [
            {"step": "extract", "runs": 3, "successes": 3, "total_time_ms": 3920, "mean_time_ms": 1306.7, "peak_memory_mb": 88.0, "cpu_time_ms": 2900, "rows": 1200},
            {"step": "load", "runs": 3, "successes": 1, "total_time_ms": 5880, "mean_time_ms": 1960.0, "peak_memory_mb": 212.0, "cpu_time_ms": 4100}
        ]
    }))
    .unwrap();
    r.automation_health = serde_json::from_value(serde_json::json!({
        "overall_score": 81.0, "health_status": "healthy",
        "component_scores": {"cpu": 4.0, "disk": 62.0, "docker": 100.0, "memory": 71.0},
        "trending": "stable", "alerts": [], "recommendations": [], "samples": 14,
        "notes": ["cpu busy (above 70 %) in 12 of 14 samples, peak 100 %: the steps used the cores; more cores would make them faster"]
    }))
    .unwrap();
    r.risk_assessment = serde_json::from_value(serde_json::json!({
        "risk_score": 34.0, "risk_level": "medium", "mitigations": ["pre-flight: docker reachable"],
        "step_risks": [{"step": "load", "risk_score": 34.0, "risk_level": "medium", "factors": ["kind action", "external dependencies"]}]
    }))
    .unwrap();
    r.recovery_actions = serde_json::from_value(serde_json::json!([
        {"action_type": "retry", "config": {"operation": "docker remove", "attempts": 2}, "execution_time_ms": 150, "success": true, "timestamp": "2025-01-09T12:35:00Z"}
    ]))
    .unwrap();
    for c in &mut r.cycles {
        c.health = serde_json::json!({"overall_score": 80.0, "memory_percent": 29.0 + f64::from(c.iteration), "cpu_percent": 100.0});
    }
    r
}

#[test]
fn the_page_is_self_contained_and_shows_the_run() {
    let page = html(&rich_report());
    assert!(page.starts_with("<!doctype html>"));
    assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
    assert!(page.contains("auto-etl GREEN: green at iteration 3"));
    assert!(page.contains("cleanup standard -&gt; deep (already_exists)"));
    assert!(page.matches("<rect").count() >= 6);
}

#[test]
fn each_failure_shows_class_subject_source_and_excerpt() {
    let page = html(&rich_report());
    assert!(page.contains(">connection_refused<"), "{page}");
    assert!(page.contains("<code>localhost:5432</code>"));
    assert!(page.contains("<code>tools/load.py:41</code>"));
    assert!(page.contains("<pre>could not connect to server: Connection refused</pre>"));
    assert!(page.contains("orchestrator_iteration_1_20250109_123456.log:41"));
}

/// The "first error" column said `step load exited with 1` instead of the
/// cause the classifier had found.
#[test]
fn the_iterations_table_names_the_cause_not_the_exit_code() {
    let page = html(&rich_report());
    assert!(!page.contains("exited with 1"), "{page}");
}

/// A green run's header said "health 75 (critical)" because the CPU was
/// busy while the steps ran.
#[test]
fn a_green_runs_header_says_nothing_about_a_busy_cpu() {
    let page = html(&rich_report());
    let header = &page[page.find("<header").unwrap()..page.find("</header>").unwrap()];
    assert!(!header.contains("health"), "{header}");
    assert!(!page.contains("critical)"));
    assert!(page.contains("information, not problems"));
    assert!(page.contains("% of all cores"));
}

#[test]
fn risk_recovery_and_performance_have_their_sections() {
    let page = html(&rich_report());
    for h in [
        "Risk",
        "Recovery actions",
        "Performance per step",
        "Machine health",
    ] {
        assert!(page.contains(&format!("<h2>{h}</h2>")), "{h}");
    }
    assert!(page.contains("attempts=2 operation=docker remove"));
    assert!(page.contains("212 MB"));
}

#[test]
fn text_from_logs_is_escaped() {
    let mut r = rich_report();
    r.cycles[0].classified_errors[0].excerpt = "<script>alert('x')</script>".into();
    r.cycles[0].classified_errors[0].subject = Some("\"><img src=x>".into());
    r.stop_reason = "<b>".into();
    let page = html(&r);
    assert!(!page.contains("<script>") && !page.contains("<img") && !page.contains("<b><"));
    assert!(page.contains("&lt;script&gt;"));
}

#[test]
fn the_page_snapshot() {
    insta::assert_snapshot!(html(&rich_report()));
}
