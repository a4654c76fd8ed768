//! Performance metrics: per step (time, CPU, peak memory of its process tree)
//! and per session (throughput, rates, recommendations).
//! (Skeleton: process-tree sampling lands with the session-modules issue.)

use serde::{Deserialize, Serialize};

/// Figures of one step run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StepMetrics {
    pub execution_time_ms: u64,
    pub cpu_time_ms: u64,
    pub cpu_usage_percent: f64,
    pub peak_memory_mb: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// One row of `performance_metrics.step_breakdown`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepBreakdown {
    pub step: String,
    pub runs: u32,
    pub successes: u32,
    pub total_time_ms: u64,
    pub mean_time_ms: f64,
    pub peak_memory_mb: f64,
}

/// The report's `performance_metrics`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PerformanceMetrics {
    pub execution_time_ms: u64,
    pub cpu_usage_percent: f64,
    pub memory_usage_mb: f64,
    pub throughput_ops_per_second: f64,
    pub error_rate: f64,
    pub success_rate: f64,
    pub resource_efficiency: f64,
    pub step_breakdown: Vec<StepBreakdown>,
    pub optimization_recommendations: Vec<String>,
}
