//! Recovery: retry policies, circuit breaker, bulkhead, timeouts, fallbacks,
//! and the log of every recovery action taken.
//! (Skeleton: the building blocks land with the session-modules issue.)

use serde::{Deserialize, Serialize};

/// One recovery action, as the report's `recovery_actions` lists it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryAction {
    /// retry | fallback | rollback | restart | safe_mode
    pub action_type: String,
    pub config: serde_json::Value,
    pub execution_time_ms: u64,
    pub success: bool,
    pub timestamp: String,
}

/// The actions taken during a run.
#[derive(Debug, Clone, Default)]
pub struct RecoveryLog {
    pub actions: Vec<RecoveryAction>,
}

impl RecoveryLog {
    /// Records an action taken now.
    pub fn record(
        &mut self,
        action_type: &str,
        config: serde_json::Value,
        execution_time_ms: u64,
        success: bool,
    ) {
        self.actions.push(RecoveryAction {
            action_type: action_type.to_string(),
            config,
            execution_time_ms,
            success,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
}
