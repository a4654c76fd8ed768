//! The session's own services and how it keeps them going: pushing
//! checkpoints under a retry policy and a circuit breaker, restarting the
//! health sampler, rolling the working tree back to the last green
//! checkpoint after a red run, and recording each of these as a recovery
//! action.

use super::Session;
use crate::adjust::Plan;
use crate::checkpoint::{self, CheckpointRecord, PushError, RollbackRequest};
use crate::recovery::{
    retry_until, BreakerConfig, CircuitBreaker, Clock, RetryPolicy, SystemClock,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Attempts of one push, the first included.
const PUSH_ATTEMPTS: u32 = 3;
/// First wait between push attempts; doubles (with full jitter).
const PUSH_FIRST_DELAY: Duration = Duration::from_millis(500);

/// The git push breaker: one push that failed for good (after its retries)
/// opens it, and it stays open longer than any run, so the rest of the run
/// keeps its checkpoints locally instead of waiting on a dead remote.
pub(super) fn push_breaker() -> CircuitBreaker {
    push_breaker_on(Arc::new(SystemClock))
}

fn push_breaker_on(clock: Arc<dyn Clock>) -> CircuitBreaker {
    let cfg = BreakerConfig {
        failure_threshold: 1,
        success_threshold: 1,
        open_timeout: Duration::from_secs(7 * 24 * 3600),
    };
    CircuitBreaker::with_clock("git push", cfg, clock)
}

/// The retry policy of one push: exponential, a few attempts.
pub(super) fn push_policy() -> RetryPolicy {
    let mut policy = RetryPolicy::exponential(PUSH_FIRST_DELAY, 2.0, PUSH_ATTEMPTS);
    policy.backoff.max = Duration::from_secs(4);
    policy
}

impl Session {
    /// Pushes a checkpoint just taken: transient failures retried, auth and
    /// rejected refs not; a push that fails for good opens the breaker and
    /// the rest of the run keeps its checkpoints locally (a `fallback`).
    pub(super) async fn push_checkpoint(&mut self, record: &mut CheckpointRecord) {
        if self.push_breaker.try_acquire().is_err() {
            record.pushed = Some(false);
            record.push_error = Some(format!(
                "push skipped: circuit `{}` is open after an earlier push failed; checkpoint kept locally",
                self.push_breaker.name()
            ));
            return;
        }
        let started = Instant::now();
        let (root, git, run_id) = (
            self.cfg.root.clone(),
            self.cfg.git.clone(),
            self.run_id.clone(),
        );
        let taken = record.clone();
        // Ctrl-C must not wait for the retries: no attempt starts after a
        // signal, and the wait between attempts ends with it.
        let cancel = self.cancel.clone();
        let mut signalled = self.cancel.clone();
        let out = retry_until(
            &push_policy(),
            |attempt| {
                let (root, git, run_id, taken) =
                    (root.clone(), git.clone(), run_id.clone(), taken.clone());
                async move {
                    if attempt > 1 {
                        tracing::info!("git push: attempt {attempt} of {PUSH_ATTEMPTS}");
                    }
                    tokio::task::spawn_blocking(move || {
                        checkpoint::push_record(&root, &git, &run_id, &taken)
                    })
                    .await
                    .unwrap_or_else(|e| Err(PushError::Remote(format!("push task failed: {e}"))))
                }
            },
            |e: &PushError| e.retryable() && cancel.borrow().is_none(),
            async move {
                if signalled.wait_for(|s| s.is_some()).await.is_err() {
                    std::future::pending::<()>().await;
                }
            },
        )
        .await;
        let took = started.elapsed().as_millis() as u64;
        self.record_retry(
            "git push",
            out.attempts,
            serde_json::json!({
                "remote": self.cfg.git.remote,
                "error": out.result.as_ref().err().map(|e| e.to_string()),
            }),
            out.first_failure,
            out.result.is_ok(),
        );
        match out.result {
            Ok(()) => {
                self.push_breaker.on_success();
                record.pushed = Some(true);
            }
            Err(e) => {
                self.push_breaker.on_failure();
                tracing::warn!("{e}; checkpoints stay local for the rest of the run");
                self.recovery.record(
                    "fallback",
                    serde_json::json!({
                        "operation": "git push",
                        "fallback": "checkpoint kept locally",
                        "remote": self.cfg.git.remote,
                        "error": e.to_string(),
                        "retryable": e.retryable(),
                        "attempts": out.attempts,
                        "breaker": "open: no more pushes this run",
                    }),
                    took,
                    true,
                );
                record.pushed = Some(false);
                record.push_error = Some(e.to_string());
            }
        }
    }

    /// Records a `retry` action for `operation` when it took more than one
    /// attempt: `{operation, attempts}` plus `details` (an object), timed
    /// from the first failed attempt to the last attempt's result.
    pub(crate) fn record_retry(
        &mut self,
        operation: &str,
        attempts: u32,
        details: serde_json::Value,
        first_failure: Option<Instant>,
        success: bool,
    ) {
        let (true, Some(failed_at)) = (attempts > 1, first_failure) else {
            return;
        };
        let took_ms = failed_at.elapsed().as_millis() as u64;
        let mut config = serde_json::json!({"operation": operation, "attempts": attempts});
        if let (Some(c), serde_json::Value::Object(d)) = (config.as_object_mut(), details) {
            c.extend(d);
        }
        self.recovery.record("retry", config, took_ms, success);
    }

    /// Records the pipeline re-run the agent chose after a red iteration as
    /// a `retry`: `since_failure` runs from that red verdict (backoff and
    /// cleanup included) to the re-run's verdict, `success` is whether it
    /// was green.
    pub(super) fn record_rerun(&mut self, plan: &Plan, since_failure: Duration, success: bool) {
        self.recovery.record(
            "retry",
            serde_json::json!({
                "operation": "pipeline",
                "iteration": plan.iteration,
                "after_failed_iteration": plan.iteration - 1,
                "cleanup_level": plan.cleanup_level,
                "service_wait_seconds": plan.service_wait.as_secs_f64(),
            }),
            since_failure.as_millis() as u64,
            success,
        );
    }

    /// Records that one of the agent's own components was restarted.
    pub(crate) fn record_restart(&mut self, component: &str, after: &str, took_ms: u64) {
        tracing::info!("restarted the {component} after: {after}");
        self.recovery.record(
            "restart",
            serde_json::json!({"component": component, "after": after}),
            took_ms,
            true,
        );
    }

    /// Restarts the health sampler if its task died. The restart is recorded
    /// once it is known whether it worked (at the next call, or by
    /// `settle_health`): success only if the new task took a sample.
    pub(super) fn revive_health(&mut self) {
        self.settle_health();
        let started = Instant::now();
        let Some(revival) = self.health.as_mut().and_then(|h| h.revive()) else {
            return;
        };
        tracing::warn!("health sampler stopped: {}", revival.cause);
        let took = started.elapsed().as_millis() as u64;
        if revival.restarted {
            self.health_restart = Some((revival, took));
        } else {
            tracing::warn!(
                "health sampler not restarted again: {} restarts this run",
                crate::health::MAX_RESTARTS
            );
            self.recovery.record(
                "restart",
                serde_json::json!({
                    "component": "health sampler",
                    "after": revival.cause,
                    "restarted": false,
                    "reason": format!("{} restarts this run already", crate::health::MAX_RESTARTS),
                }),
                took,
                false,
            );
        }
    }

    /// Records the pending health sampler restart, if any: it worked when
    /// the restarted task has taken a sample since.
    pub(super) fn settle_health(&mut self) {
        let Some((revival, took)) = self.health_restart.take() else {
            return;
        };
        let sampled = self
            .health
            .as_ref()
            .is_some_and(|h| h.task_samples() > revival.mark);
        tracing::info!(
            "restarted the health sampler after: {} ({})",
            revival.cause,
            if sampled {
                "sampling again"
            } else {
                "no sample since"
            }
        );
        self.recovery.record(
            "restart",
            serde_json::json!({
                "component": "health sampler",
                "after": revival.cause,
                "restarted": true,
                "sampled_since": sampled,
            }),
            took,
            sampled,
        );
    }

    /// `--rollback` after a red run: the last green checkpoint's files back
    /// in the working tree, recorded as a `rollback` action either way.
    pub(super) async fn roll_back(&mut self, iteration: u32, failing: CheckpointRecord) {
        let started = Instant::now();
        let (root, git, report_dir, run_id) = (
            self.cfg.root.clone(),
            self.cfg.git.clone(),
            self.cfg.report_dir.clone(),
            self.run_id.clone(),
        );
        let outcome = tokio::task::spawn_blocking(move || {
            checkpoint::rollback(&RollbackRequest {
                root: &root,
                git: &git,
                report_dir: &report_dir,
                run_id: &run_id,
                iteration,
                failing: &failing,
            })
        })
        .await
        .unwrap_or_else(|e| checkpoint::RollbackOutcome {
            reason: Some(format!("rollback task failed: {e}")),
            ..Default::default()
        });
        match (&outcome.success, &outcome.reason) {
            (true, _) => tracing::info!(
                "rollback: {} file(s) back to last-green {}; the failing state is checkpoint {}",
                outcome.restored.len(),
                outcome.to_commit.as_deref().unwrap_or("?"),
                outcome.from.as_deref().unwrap_or("?"),
            ),
            (false, Some(why)) => tracing::warn!("rollback not done: {why}"),
            (false, None) => tracing::warn!("rollback not done"),
        }
        self.recovery.record(
            "rollback",
            outcome.to_json(),
            started.elapsed().as_millis() as u64,
            outcome.success,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::{BreakerState, ManualClock};

    #[test]
    fn one_failed_push_stops_pushing_for_the_rest_of_the_run() {
        let clock = Arc::new(ManualClock::new());
        let b = push_breaker_on(clock.clone());
        assert!(b.allow());
        b.on_success();
        assert!(b.allow(), "a good push keeps it closed");
        b.on_failure();
        for hours in [0, 1, 24, 24 * 5] {
            clock.advance(Duration::from_secs(hours * 3600));
            assert!(!b.allow(), "pushed again after {hours} h");
        }
        assert_eq!(b.state(), BreakerState::Open);
    }

    #[test]
    fn a_push_gets_three_attempts_with_growing_waits() {
        let p = push_policy();
        assert_eq!(p.max_attempts, 3);
        // No jitter at the top of the range: 500 ms, then 1 s.
        assert_eq!(p.delay(0, 1.0), Duration::from_millis(500));
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(9, 1.0), Duration::from_secs(4));
    }
}
