//! Run-level recovery the session takes on itself: restarting its own parts
//! after a failure, and rolling the working tree back to the last green
//! checkpoint after a red run.

use super::Session;
use crate::checkpoint::{self, CheckpointRecord, RollbackRequest};
use std::time::Instant;

impl Session {
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

    /// Restarts the health sampler if its task died.
    pub(super) fn revive_health(&mut self) {
        let started = Instant::now();
        let Some(cause) = self.health.as_mut().and_then(|h| h.revive()) else {
            return;
        };
        tracing::warn!("health sampler stopped: {cause}");
        self.record_restart(
            "health sampler",
            &cause,
            started.elapsed().as_millis() as u64,
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
