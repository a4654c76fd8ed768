//! A run's figures in the Prometheus text exposition format, for a
//! node_exporter textfile collector: the file describes the last run.

use crate::report::Report;
use std::collections::BTreeMap;
use std::fmt::Write;

const STATUSES: [&str; 5] = ["success", "failed", "non_retryable", "interrupted", "error"];

/// The report's figures as Prometheus text.
pub fn prometheus_text(report: &Report) -> String {
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {}", number(*value));
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    metric(
        "auto_etl_run_success",
        "gauge",
        "Whether the last run ended green (1) or not (0).",
        &one(f64::from(u8::from(report.overall_success))),
    );
    let statuses: Vec<(String, f64)> = STATUSES
        .iter()
        .map(|s| {
            (
                labels(&[("status", s)]),
                f64::from(u8::from(report.status == *s)),
            )
        })
        .collect();
    metric(
        "auto_etl_run_status",
        "gauge",
        "The status the last run ended with (1 for that status).",
        &statuses,
    );
    metric(
        "auto_etl_iterations_total",
        "gauge",
        "Iterations the last run executed.",
        &one(f64::from(report.iterations_executed)),
    );
    metric(
        "auto_etl_max_iterations",
        "gauge",
        "The last run's iteration limit.",
        &one(f64::from(report.max_iterations)),
    );
    metric(
        "auto_etl_duration_seconds",
        "gauge",
        "Wall-clock duration of the last run.",
        &one(report.total_duration_seconds),
    );
    if let Ok(end) = chrono::DateTime::parse_from_rfc3339(&report.end_time) {
        metric(
            "auto_etl_last_run_timestamp_seconds",
            "gauge",
            "When the last run ended, in Unix seconds.",
            &one(end.timestamp() as f64),
        );
    }
    let mut classes: BTreeMap<String, f64> = BTreeMap::new();
    for c in &report.cycles {
        for m in &c.classified_errors {
            *classes.entry(m.class.to_string()).or_default() += 1.0;
        }
    }
    let classes: Vec<(String, f64)> = classes
        .into_iter()
        .map(|(c, n)| (labels(&[("class", &c)]), n))
        .collect();
    metric(
        "auto_etl_failures_total",
        "gauge",
        "Classified failures in the last run, by class.",
        &classes,
    );
    let adjustments: usize = report.cycles.iter().map(|c| c.adjustments.len()).sum();
    metric(
        "auto_etl_adjustments_total",
        "gauge",
        "Adjustments the last run made between iterations.",
        &one(adjustments as f64),
    );
    metric(
        "auto_etl_recovery_actions_total",
        "gauge",
        "Recovery actions the last run took.",
        &one(report.recovery_actions.len() as f64),
    );
    metric(
        "auto_etl_health_score",
        "gauge",
        "The last run's automation health score (0-100).",
        &one(report.automation_health.overall_score),
    );
    let steps: Vec<(String, f64)> = report
        .cycles
        .last()
        .map(|c| {
            c.steps
                .iter()
                .map(|s| {
                    (
                        labels(&[("step", &s.name), ("status", &s.status)]),
                        s.duration_ms as f64 / 1000.0,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    metric(
        "auto_etl_step_duration_seconds",
        "gauge",
        "Duration of each step in the last run's final iteration.",
        &steps,
    );
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", inner.join(","))
}

fn number(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;

    #[test]
    fn the_run_in_prometheus_text() {
        let text = prometheus_text(&sample::report());
        for want in [
            "# HELP auto_etl_run_success Whether the last run ended green (1) or not (0).\n# TYPE auto_etl_run_success gauge\nauto_etl_run_success 1\n",
            "auto_etl_run_status{status=\"success\"} 1\n",
            "auto_etl_run_status{status=\"failed\"} 0\n",
            "auto_etl_iterations_total 3\n",
            "auto_etl_duration_seconds 9.8\n",
            "auto_etl_failures_total{class=\"already_exists\"} 1\nauto_etl_failures_total{class=\"connection_refused\"} 1\n",
            "auto_etl_adjustments_total 2\n",
            "auto_etl_step_duration_seconds{step=\"load\",status=\"success\"} 1.5\n",
            "auto_etl_last_run_timestamp_seconds 1736426106\n",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
        // Every sample line belongs to a declared metric.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap();
            assert!(text.contains(&format!("# TYPE {name} ")), "{line}");
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels(&[("step", "a\"b\\c\nd")]), r#"{step="a\"b\\c\nd"}"#);
    }

    #[test]
    fn the_grafana_dashboard_queries_only_metrics_a_run_pushes() {
        let dashboard = include_str!("../../contrib/grafana/auto-etl-runs.json");
        let text = prometheus_text(&sample::report());
        let names = regex::Regex::new(r"auto_etl_[a-z_]+").unwrap();
        let used: Vec<&str> = names.find_iter(dashboard).map(|m| m.as_str()).collect();
        assert!(used.len() >= 9, "{used:?}");
        for name in used {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} is not pushed"
            );
        }
    }
}
