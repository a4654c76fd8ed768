//! Recovery: retry policies, circuit breaker, bulkhead, timeouts, fallbacks,
//! and the log of every recovery action taken.
//!
//! The building blocks take their clock and their randomness from outside
//! (a [`Clock`], a `unit_random` argument) so that their decisions are
//! testable without sleeping.

mod breaker;
mod bulkhead;
mod clock;
mod fallback;
mod retry;

pub use breaker::{BreakerConfig, BreakerState, CircuitBreaker};
pub use bulkhead::{with_timeout, Bulkhead, BulkheadPermit};
pub use clock::{Clock, ManualClock, SystemClock};
pub use fallback::{Fallback, FallbackSource, Served};
pub use retry::{retry, retry_if, retry_until, Delays, RetryOutcome, RetryPolicy};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a recovery building block refused or gave up. The variants drive
/// decisions: an open circuit means "skip this for now", a full bulkhead
/// means "back off", a timeout means "the operation hung".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecoveryError {
    #[error("circuit `{name}` is open: retry in {} ms", retry_after.as_millis())]
    CircuitOpen { name: String, retry_after: Duration },
    #[error("bulkhead `{name}` is full: {max_concurrent} running, {max_waiting} waiting")]
    BulkheadFull {
        name: String,
        max_concurrent: usize,
        max_waiting: usize,
    },
    #[error("{what} timed out after {} ms", limit.as_millis())]
    TimedOut { what: String, limit: Duration },
}

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

    /// The report's `recovery_summary`: how effective the recoveries were.
    ///
    /// `mean_time_to_recovery_ms` is the mean time of the *successful*
    /// actions (a failed action did not recover anything); null when none
    /// succeeded. Rates are fractions in [0, 1].
    pub fn summary(&self) -> serde_json::Value {
        let total = self.actions.len();
        let ok: Vec<&RecoveryAction> = self.actions.iter().filter(|a| a.success).collect();
        let mttr = (!ok.is_empty())
            .then(|| ok.iter().map(|a| a.execution_time_ms as f64).sum::<f64>() / ok.len() as f64);
        let mut types: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for a in &self.actions {
            let e = types.entry(a.action_type.as_str()).or_default();
            e.0 += 1;
            e.1 += u64::from(a.success);
        }
        let types: serde_json::Map<String, serde_json::Value> = types
            .into_iter()
            .map(|(t, (count, successes))| {
                let v = serde_json::json!({"count": count, "successes": successes});
                (t.to_string(), v)
            })
            .collect();
        serde_json::json!({
            "total": total,
            "successes": ok.len(),
            "failures": total - ok.len(),
            "success_rate": if total == 0 { 0.0 } else { ok.len() as f64 / total as f64 },
            "mean_time_to_recovery_ms": mttr,
            "types": types,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summary_of_an_empty_log_has_zero_rates() {
        let s = RecoveryLog::default().summary();
        assert_eq!(s["total"], 0);
        assert_eq!(s["success_rate"], 0.0);
        assert!(s["mean_time_to_recovery_ms"].is_null());
        assert_eq!(s["types"], json!({}));
    }

    #[test]
    fn summary_counts_types_and_mttr_of_successes() {
        let mut log = RecoveryLog::default();
        log.record("retry", json!({"attempt": 1}), 100, false);
        log.record("retry", json!({"attempt": 2}), 300, true);
        log.record("fallback", json!({}), 500, true);
        log.record("safe_mode", json!({}), 0, true);
        let s = log.summary();
        assert_eq!(s["total"], 4);
        assert_eq!(s["successes"], 3);
        assert_eq!(s["failures"], 1);
        assert_eq!(s["success_rate"], 0.75);
        // (300 + 500 + 0) / 3
        let mttr = s["mean_time_to_recovery_ms"].as_f64().unwrap();
        assert!((mttr - 266.666).abs() < 0.01, "{mttr}");
        assert_eq!(s["types"]["retry"], json!({"count": 2, "successes": 1}));
        assert_eq!(s["types"]["fallback"], json!({"count": 1, "successes": 1}));
    }

    #[test]
    fn errors_name_the_thing() {
        let e = RecoveryError::CircuitOpen {
            name: "docker".into(),
            retry_after: Duration::from_millis(1500),
        };
        assert_eq!(e.to_string(), "circuit `docker` is open: retry in 1500 ms");
    }
}
