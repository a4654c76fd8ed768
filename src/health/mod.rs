//! Health monitoring: CPU, memory, disk and Docker scores while steps run,
//! with alerts, a trend and recommendations.
//!
//! Scoring is pure (a [`Reading`] in, a [`HealthSample`] out; samples in,
//! [`AutomationHealth`] out); the sampling itself sits in `monitor`.
//!
//! Decisions, in one place:
//! - component score: `100 - usage %` for cpu, memory and disk (the fullest
//!   of the watched paths); docker 100 when reachable, 0 when not;
//! - overall score: weighted mean of memory 0.3, disk 0.3, docker 0.2
//!   (weights of missing components are left out). CPU is not in it: a
//!   pipeline step that keeps the cores busy is doing its job, and a score
//!   that fell whenever a 2-core runner was busy made every green run read
//!   "critical";
//! - alerts describe the machine: memory or disk usage above 70 % is a
//!   warning, above 90 % critical; docker unreachable is a warning (whether
//!   Docker is required is the cycle's call, not health's). A busy CPU is
//!   never an alert, only a note (information) in the summary;
//! - session status: critical below an overall score of 30, warning below
//!   50, else healthy, and never better than the last sample's worst alert;
//! - trend: mean overall score of the second half of the samples against
//!   the first half; more than 5 points up is improving, down degrading.

mod monitor;
mod summary;

pub use monitor::{disk_usage, DockerProbe, HealthConfig, HealthMonitor, Revival, MAX_RESTARTS};
pub use summary::summarize;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// Usage above this raises a warning.
pub const WARNING_PERCENT: f64 = 70.0;
/// Usage above this raises a critical alert.
pub const CRITICAL_PERCENT: f64 = 90.0;
/// Overall score below which the session is critical.
pub const CRITICAL_SCORE: f64 = 30.0;
/// Overall score below which the session is in warning.
pub const WARNING_SCORE: f64 = 50.0;
/// Score points between the halves of a run that make a trend.
pub const TREND_TOLERANCE: f64 = 5.0;
const WEIGHTS: [(&str, f64); 3] = [("memory", 0.3), ("disk", 0.3), ("docker", 0.2)];

/// The report's `automation_health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AutomationHealth {
    pub overall_score: f64,
    pub health_status: String,
    pub component_scores: BTreeMap<String, f64>,
    pub trending: String,
    pub alerts: Vec<String>,
    pub recommendations: Vec<String>,
    /// Information that is not a problem of the machine (a busy CPU).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Samples the figures come from.
    #[serde(default)]
    pub samples: u32,
}

impl Default for AutomationHealth {
    fn default() -> Self {
        AutomationHealth {
            overall_score: 0.0,
            health_status: "unknown".into(),
            component_scores: BTreeMap::new(),
            trending: "stable".into(),
            alerts: vec!["no health samples were taken".into()],
            recommendations: Vec::new(),
            notes: Vec::new(),
            samples: 0,
        }
    }
}

/// Usage of the file system holding one watched path.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiskUsage {
    pub path: String,
    pub used_percent: f64,
    pub available_mb: f64,
    pub total_mb: f64,
}

/// What was measured at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub memory_used_mb: f64,
    pub memory_total_mb: f64,
    pub disks: Vec<DiskUsage>,
    /// None when no Docker probe was given.
    pub docker_reachable: Option<bool>,
}

/// How bad something is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Healthy,
    Warning,
    Critical,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Healthy => "healthy",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }

    fn of_usage(percent: f64) -> Level {
        if percent > CRITICAL_PERCENT {
            Level::Critical
        } else if percent > WARNING_PERCENT {
            Level::Warning
        } else {
            Level::Healthy
        }
    }
}

/// One threshold crossed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// `memory`, `disk <path>` or `docker`.
    pub component: String,
    pub level: Level,
    /// Usage in percent; 0 for docker.
    pub value: f64,
}

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.component == "docker" {
            return write!(f, "{}: docker daemon unreachable", self.level.as_str());
        }
        let limit = match self.level {
            Level::Critical => CRITICAL_PERCENT,
            _ => WARNING_PERCENT,
        };
        write!(
            f,
            "{}: {} at {:.1} % used (above {limit:.0} %)",
            self.level.as_str(),
            self.component,
            self.value
        )
    }
}

/// One health sample, as the per-cycle `health` field shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthSample {
    pub timestamp: String,
    #[serde(skip)]
    pub taken_at: Instant,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub memory_used_mb: f64,
    pub memory_total_mb: f64,
    pub disks: Vec<DiskUsage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker_reachable: Option<bool>,
    pub component_scores: BTreeMap<String, f64>,
    pub overall_score: f64,
    pub status: Level,
    pub alerts: Vec<String>,
    #[serde(skip)]
    pub alert_list: Vec<Alert>,
}

impl HealthSample {
    /// Scores a reading taken at `taken_at`.
    pub fn from_reading(r: Reading, taken_at: Instant) -> HealthSample {
        let scores = component_scores(&r);
        let alert_list = alerts(&r);
        HealthSample {
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            taken_at,
            overall_score: overall_score(&scores),
            status: alert_list
                .iter()
                .map(|a| a.level)
                .max()
                .unwrap_or(Level::Healthy),
            alerts: alert_list.iter().map(ToString::to_string).collect(),
            alert_list,
            component_scores: scores,
            cpu_percent: r.cpu_percent,
            memory_percent: r.memory_percent,
            memory_used_mb: r.memory_used_mb,
            memory_total_mb: r.memory_total_mb,
            disks: r.disks,
            docker_reachable: r.docker_reachable,
        }
    }

    /// The fullest watched disk, if any was measured.
    pub fn fullest_disk(&self) -> Option<&DiskUsage> {
        self.disks
            .iter()
            .max_by(|a, b| a.used_percent.total_cmp(&b.used_percent))
    }
}

fn usage_score(percent: f64) -> f64 {
    (100.0 - percent).clamp(0.0, 100.0)
}

/// Score per component, 0-100 (higher is better).
pub fn component_scores(r: &Reading) -> BTreeMap<String, f64> {
    let mut s = BTreeMap::new();
    s.insert("cpu".to_string(), usage_score(r.cpu_percent));
    s.insert("memory".to_string(), usage_score(r.memory_percent));
    if let Some(max) = r.disks.iter().map(|d| d.used_percent).reduce(f64::max) {
        s.insert("disk".to_string(), usage_score(max));
    }
    if let Some(up) = r.docker_reachable {
        s.insert("docker".to_string(), if up { 100.0 } else { 0.0 });
    }
    s
}

/// Weighted mean of the component scores present.
pub fn overall_score(scores: &BTreeMap<String, f64>) -> f64 {
    let (sum, weight) = WEIGHTS
        .iter()
        .filter_map(|(k, w)| scores.get(*k).map(|s| (s * w, w)))
        .fold((0.0, 0.0), |(s, w), (a, b)| (s + a, w + b));
    if weight > 0.0 {
        sum / weight
    } else {
        0.0
    }
}

/// The thresholds a reading crosses.
pub fn alerts(r: &Reading) -> Vec<Alert> {
    let mut out = Vec::new();
    let mut usage = |component: String, value: f64| {
        let level = Level::of_usage(value);
        if level > Level::Healthy {
            out.push(Alert {
                component,
                level,
                value,
            });
        }
    };
    // CPU is left out on purpose: see the module's decisions.
    usage("memory".into(), r.memory_percent);
    for d in &r.disks {
        usage(format!("disk {}", d.path), d.used_percent);
    }
    if r.docker_reachable == Some(false) {
        out.push(Alert {
            component: "docker".into(),
            level: Level::Warning,
            value: 0.0,
        });
    }
    out
}

/// improving | stable | degrading, from overall scores in time order.
pub fn trend(scores: &[f64]) -> &'static str {
    if scores.len() < 4 {
        return "stable";
    }
    let mid = scores.len() / 2;
    let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
    let delta = mean(&scores[mid..]) - mean(&scores[..mid]);
    if delta > TREND_TOLERANCE {
        "improving"
    } else if delta < -TREND_TOLERANCE {
        "degrading"
    } else {
        "stable"
    }
}

/// Status of a session from its mean overall score and its last sample.
pub fn session_status(overall: f64, last: Level) -> Level {
    let by_score = if overall < CRITICAL_SCORE {
        Level::Critical
    } else if overall < WARNING_SCORE {
        Level::Warning
    } else {
        Level::Healthy
    };
    by_score.max(last)
}

/// The disk of some watched path is critically full: time for a deep
/// cleanup before the next iteration.
pub fn disk_critical(sample: &HealthSample) -> bool {
    sample
        .disks
        .iter()
        .any(|d| d.used_percent > CRITICAL_PERCENT)
}

/// Names memory pressure seen in the samples taken during a step (for an
/// out_of_memory adjustment): None when memory stayed under the warning
/// threshold.
pub fn memory_pressure(samples: &[HealthSample]) -> Option<String> {
    let peak = samples
        .iter()
        .max_by(|a, b| a.memory_percent.total_cmp(&b.memory_percent))?;
    let level = Level::of_usage(peak.memory_percent);
    (level > Level::Healthy).then(|| {
        format!(
            "{} memory pressure: peak {:.1} % used ({:.0} of {:.0} MB) during the step",
            level.as_str(),
            peak.memory_percent,
            peak.memory_used_mb,
            peak.memory_total_mb
        )
    })
}

#[cfg(test)]
mod tests;
