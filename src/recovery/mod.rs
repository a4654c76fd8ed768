//! Recovery: retry policies, circuit breaker, timeouts, and the
//! log of every recovery action and mitigation taken.
//!
//! The building blocks take their clock and their randomness from outside
//! (a [`Clock`], a `unit_random` argument) so that their decisions are
//! testable without sleeping.

mod breaker;
mod clock;
mod retry;
mod timeout;

#[cfg(test)]
pub(crate) use breaker::BreakerState;
pub(crate) use breaker::{BreakerConfig, CircuitBreaker};
#[cfg(test)]
pub(crate) use clock::ManualClock;
pub(crate) use clock::{Clock, SystemClock};
pub use retry::RetryPolicy;
pub(crate) use retry::{retry_if, retry_until};
pub(crate) use timeout::with_timeout;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Why a recovery building block refused or gave up. The variants drive
/// decisions: an open circuit means "skip this for now", a timeout means "the operation hung".
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecoveryError {
    #[error("circuit `{name}` is open: retry in {} ms", retry_after.as_millis())]
    CircuitOpen { name: String, retry_after: Duration },
    #[error("{what} timed out after {} ms", limit.as_millis())]
    TimedOut { what: String, limit: Duration },
}

/// One recovery action, as the report's `recovery_actions` lists it.
///
/// Two kinds share the list. A *recovery* (`retry`, `restart`, `rollback`)
/// tries to bring back what failed; its `execution_time_ms` is the time to
/// recovery the type documents at [`RecoveryLog::record`]. A *mitigation*
/// (`fallback`, `safe_mode`) works around a failure or a risk without
/// bringing anything back, and does not count towards the mean time to
/// recovery; `safe_mode` is a precaution taken before anything failed and
/// has no time at all (`null`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecoveryAction {
    /// retry | fallback | rollback | restart | safe_mode
    pub action_type: String,
    pub config: serde_json::Value,
    pub execution_time_ms: Option<u64>,
    pub success: bool,
    pub timestamp: String,
}

impl RecoveryAction {
    /// Whether this action tries to recover from a failure (`retry`,
    /// `restart`, `rollback`) rather than work around it.
    pub fn is_recovery(&self) -> bool {
        matches!(self.action_type.as_str(), "retry" | "restart" | "rollback")
    }
}

/// The actions taken during a run.
#[derive(Debug, Clone, Default)]
pub struct RecoveryLog {
    pub actions: Vec<RecoveryAction>,
}

impl RecoveryLog {
    /// Records an action taken now that took `execution_time_ms`: for a
    /// `retry`, from the failure it answers to the retried attempt's result;
    /// for a `restart` or `rollback`, the time the restart or rollback took;
    /// for a `fallback`, the time spent on the operation before falling back.
    pub fn record(
        &mut self,
        action_type: &str,
        config: serde_json::Value,
        execution_time_ms: u64,
        success: bool,
    ) {
        self.push(action_type, config, Some(execution_time_ms), success);
    }

    /// Records a mitigation applied now that has no duration of its own
    /// (`safe_mode`: a precaution, in force for the whole run).
    pub fn mitigate(&mut self, action_type: &str, config: serde_json::Value) {
        self.push(action_type, config, None, true);
    }

    fn push(&mut self, kind: &str, config: serde_json::Value, ms: Option<u64>, success: bool) {
        self.actions.push(RecoveryAction {
            action_type: kind.to_string(),
            config,
            execution_time_ms: ms,
            success,
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }

    /// The report's `recovery_summary`: how effective the recoveries were.
    ///
    /// `total` counts every action; `recoveries` and `mitigations` split
    /// them (see [`RecoveryAction`]). `successes`, `failures` and
    /// `success_rate` (a fraction in [0, 1]) are over the recoveries, and
    /// `mean_time_to_recovery_ms` is the mean time of the recoveries that
    /// worked (a failed one recovered nothing); null when none did.
    pub fn summary(&self) -> serde_json::Value {
        let recoveries: Vec<&RecoveryAction> =
            self.actions.iter().filter(|a| a.is_recovery()).collect();
        let ok: Vec<u64> = recoveries
            .iter()
            .filter(|a| a.success)
            .filter_map(|a| a.execution_time_ms)
            .collect();
        let successes = recoveries.iter().filter(|a| a.success).count();
        let mttr =
            (!ok.is_empty()).then(|| ok.iter().map(|&ms| ms as f64).sum::<f64>() / ok.len() as f64);
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
        let n = recoveries.len();
        serde_json::json!({
            "total": self.actions.len(),
            "recoveries": n,
            "mitigations": self.actions.len() - n,
            "successes": successes,
            "failures": n - successes,
            "success_rate": if n == 0 { 0.0 } else { successes as f64 / n as f64 },
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
    fn safe_mode_and_fallbacks_do_not_pull_the_mean_time_to_recovery_down() {
        let mut log = RecoveryLog::default();
        log.record("retry", json!({"attempt": 1}), 100, false);
        log.record("retry", json!({"attempt": 2}), 300, true);
        log.record("restart", json!({}), 500, true);
        log.record("fallback", json!({}), 20, true);
        log.mitigate("safe_mode", json!({}));
        let s = log.summary();
        assert_eq!(s["total"], 5);
        assert_eq!(s["recoveries"], 3);
        assert_eq!(s["mitigations"], 2);
        assert_eq!(s["successes"], 2);
        assert_eq!(s["failures"], 1);
        let rate = s["success_rate"].as_f64().unwrap();
        assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");
        // (300 + 500) / 2: only recoveries that worked have a time to recovery.
        assert_eq!(s["mean_time_to_recovery_ms"], 400.0);
        assert_eq!(s["types"]["retry"], json!({"count": 2, "successes": 1}));
        assert_eq!(s["types"]["fallback"], json!({"count": 1, "successes": 1}));
        assert_eq!(s["types"]["safe_mode"], json!({"count": 1, "successes": 1}));
        assert!(log.actions[4].execution_time_ms.is_none());
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
