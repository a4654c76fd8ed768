//! The session's `automation_health` from its samples: mean scores, the
//! worst alerts with how often they fired, the trend, recommendations.

use super::{session_status, trend, Alert, AutomationHealth, HealthSample};
use std::collections::BTreeMap;

/// The session's health from its samples, in time order.
pub fn summarize(samples: &[HealthSample]) -> AutomationHealth {
    let Some(last) = samples.last() else {
        return AutomationHealth::default();
    };
    let n = samples.len() as f64;
    let mut sums: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for s in samples {
        for (k, v) in &s.component_scores {
            let e = sums.entry(k.clone()).or_default();
            e.0 += v;
            e.1 += 1.0;
        }
    }
    let component_scores: BTreeMap<String, f64> = sums
        .into_iter()
        .map(|(k, (sum, count))| (k, round1(sum / count)))
        .collect();
    let overall: Vec<f64> = samples.iter().map(|s| s.overall_score).collect();
    let overall_score = overall.iter().sum::<f64>() / n;
    let trending = trend(&overall);
    let peaks = peak_alerts(samples);
    AutomationHealth {
        overall_score: round1(overall_score),
        health_status: session_status(overall_score, last.status).as_str().into(),
        component_scores,
        trending: trending.into(),
        alerts: peaks
            .iter()
            .map(|(a, count)| format!("{a} (in {count} of {} samples)", samples.len()))
            .collect(),
        recommendations: recommendations(&peaks, samples.len(), trending),
        notes: cpu_note(samples).into_iter().collect(),
        samples: samples.len() as u32,
    }
}

/// A note on how busy the CPU was, when it was busy at all: information
/// about the steps' load, never a problem of the machine.
fn cpu_note(samples: &[HealthSample]) -> Option<String> {
    let busy = samples
        .iter()
        .filter(|s| s.cpu_percent > super::WARNING_PERCENT)
        .count();
    let peak = samples.iter().map(|s| s.cpu_percent).fold(0.0, f64::max);
    (busy > 0).then(|| {
        format!(
            "cpu busy (above {:.0} %) in {busy} of {} samples, peak {peak:.0} %: the steps used the cores; more cores would make them faster",
            super::WARNING_PERCENT,
            samples.len()
        )
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The worst value of each (component, level) and how many samples had it.
fn peak_alerts(samples: &[HealthSample]) -> Vec<(Alert, usize)> {
    let mut peaks: Vec<(Alert, usize)> = Vec::new();
    for a in samples.iter().flat_map(|s| &s.alert_list) {
        match peaks
            .iter_mut()
            .find(|(p, _)| p.component == a.component && p.level == a.level)
        {
            Some((p, count)) => {
                p.value = p.value.max(a.value);
                *count += 1;
            }
            None => peaks.push((a.clone(), 1)),
        }
    }
    peaks.sort_by_key(|(a, _)| std::cmp::Reverse(a.level));
    peaks
}

fn recommendations(peaks: &[(Alert, usize)], samples: usize, trend: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // One line per component, from its worst alert (peaks are worst first).
    let mut seen: Vec<&str> = Vec::new();
    for (a, count) in peaks {
        if seen.contains(&a.component.as_str()) {
            continue;
        }
        seen.push(&a.component);
        let line = match a.component.as_str() {
            "memory" => format!(
                "memory: peaked at {:.0} %: lower batch sizes or container memory limits, or add memory",
                a.value
            ),
            "docker" => format!(
                "docker: the daemon was unreachable in {count} of {samples} samples: start it or check DOCKER_HOST"
            ),
            disk => format!(
                "{disk}: reached {:.0} % used: run `auto-etl cleanup --level deep` or free space there",
                a.value
            ),
        };
        out.push(line);
    }
    if trend == "degrading" {
        out.push(
            "health degraded during the run: look for leftovers (containers, volumes, files) piling up between iterations"
                .into(),
        );
    }
    out
}
