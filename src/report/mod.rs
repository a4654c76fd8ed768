//! The cycle report: DESIGN.md's JSON shape, written atomically, and its
//! human renderings.

pub mod html;
pub mod junit;
pub mod markdown;
pub mod render;
pub mod write;

use crate::checkpoint::CheckpointRecord;
use crate::classify::{MarkerHit, Match};
use crate::health::AutomationHealth;
use crate::metrics::{PerformanceMetrics, StepMetrics};
use crate::recovery::RecoveryAction;
use crate::risk::RiskAssessment;
use serde::{Deserialize, Serialize};

/// The report's format version.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole run's report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub execution_id: String,
    pub start_time: String,
    pub end_time: String,
    pub total_duration_seconds: f64,
    pub max_iterations: u32,
    pub iterations_executed: u32,
    pub overall_success: bool,
    /// success | failed | non_retryable | interrupted | error
    pub status: String,
    /// Why the loop stopped, in a sentence.
    #[serde(default)]
    pub stop_reason: String,
    pub cycles: Vec<CycleRecord>,
    pub risk_assessment: RiskAssessment,
    pub performance_metrics: PerformanceMetrics,
    pub recovery_actions: Vec<RecoveryAction>,
    #[serde(default)]
    pub recovery_summary: serde_json::Value,
    pub automation_health: AutomationHealth,
    /// Where the agent's own log and this report live.
    #[serde(default)]
    pub files: ReportFiles,
}

/// Files written beside the report.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReportFiles {
    pub report: String,
    pub agent_log: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub junit: Option<String>,
}

/// One iteration.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CycleRecord {
    pub iteration: u32,
    /// success | failed | timeout | interrupted
    pub status: String,
    pub success: bool,
    pub duration_seconds: f64,
    pub errors_count: usize,
    pub errors: Vec<String>,
    pub adjustments_count: usize,
    pub adjustments: Vec<String>,
    pub exit_code: Option<i32>,
    pub log_file: String,
    pub plan: PlanRecord,
    pub checkpoint: serde_json::Value,
    pub cleanup: CleanupRecord,
    pub classified_errors: Vec<Match>,
    #[serde(default)]
    pub classified_total: u64,
    pub validations: Vec<Validation>,
    pub steps: Vec<StepRecord>,
    pub backoff_seconds: f64,
    #[serde(default)]
    pub health: serde_json::Value,
}

impl CycleRecord {
    /// The first classified error of each distinct class, in the order the
    /// classes first appear: what summaries name for the cycle.
    pub fn first_hit_per_class(&self) -> Vec<&Match> {
        let mut out: Vec<&Match> = Vec::new();
        for m in &self.classified_errors {
            if !out.iter().any(|seen| seen.class == m.class) {
                out.push(m);
            }
        }
        out
    }
}

/// The plan an iteration ran with.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRecord {
    pub service_wait_seconds: f64,
    pub cleanup_level: String,
    pub recreate_schema: bool,
    pub step_timeouts_seconds: Vec<f64>,
}

/// The report's `cleanup` field of one cycle.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CleanupRecord {
    pub level: String,
    pub containers: u32,
    pub networks: u32,
    pub volumes: u32,
    pub images: u32,
    pub files: u32,
    pub duration_ms: u64,
    pub skipped_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One verify check.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Validation {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// One step run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    /// success | failed | timeout | interrupted | skipped
    pub status: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    #[serde(default)]
    pub waited_ms: u64,
    pub performance_metrics: StepMetrics,
}

/// Marker hits, kept for the text renderings.
pub type Markers = Vec<MarkerHit>;

impl CheckpointRecord {
    /// The value stored in a cycle's `checkpoint` field.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
