//! Health monitoring: CPU, memory, disk and Docker scores while steps run.
//! (Skeleton: sampling lands with the session-modules issue.)

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The report's `automation_health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AutomationHealth {
    pub overall_score: f64,
    pub health_status: String,
    pub component_scores: BTreeMap<String, f64>,
    pub trending: String,
    pub alerts: Vec<String>,
    pub recommendations: Vec<String>,
}

impl Default for AutomationHealth {
    fn default() -> Self {
        AutomationHealth {
            overall_score: 0.0,
            health_status: "unknown".into(),
            component_scores: BTreeMap::new(),
            trending: "stable".into(),
            alerts: vec!["health sampling is not built yet".into()],
            recommendations: Vec::new(),
        }
    }
}
