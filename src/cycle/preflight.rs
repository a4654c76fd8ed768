//! Before the first iteration: history, risk, safe mode and the pre-flight
//! dependency check.

use crate::config::Config;
use crate::risk::{self, History, PreflightInput, RiskAssessment};

/// What the session starts with.
pub struct Start {
    pub risk: RiskAssessment,
    /// Failed checks that stop the run, in words.
    pub blocking: Vec<String>,
}

/// Scores the steps and checks the run's dependencies. A step whose program
/// is missing always blocks; other blocking checks (a rebase in progress,
/// Docker required but unreachable) block in safe mode or when required.
pub async fn prepare(cfg: &mut Config) -> Start {
    let (history, warnings) = History::load(&cfg.report_dir);
    for w in warnings {
        tracing::warn!("history: {w}");
    }
    let risk = risk::assess(&cfg.steps, &history);
    tracing::info!("risk: {} ({:.0})", risk.risk_level, risk.risk_score);
    if risk.safe_mode {
        tracing::warn!(
            "risk is {}: safe mode (no push, named volumes kept, health sampled twice as often)",
            risk.risk_level
        );
        cfg.git.push = false;
    }
    let docker_reachable = if cfg.docker.require || risk.preflight_required {
        Some(cfg.docker.answers().await)
    } else {
        None
    };
    let checks = risk::preflight(
        &cfg.steps,
        &PreflightInput {
            root: &cfg.root,
            report_dir: &cfg.report_dir,
            path_var: std::env::var_os("PATH"),
            docker_reachable,
            docker_required: cfg.docker.require,
        },
    );
    let mut blocking = Vec::new();
    let checkpoints_off = cfg.git.mode == crate::config::CheckpointMode::Off;
    for c in checks
        .iter()
        .filter(|c| !(c.passed || (checkpoints_off && c.name.starts_with("git"))))
    {
        let fatal = c.blocking
            && (c.name.starts_with("program of step")
                || risk.preflight_required
                || (cfg.docker.require && c.name.contains("docker")));
        if fatal {
            blocking.push(format!("{}: {}", c.name, c.detail));
        } else {
            tracing::warn!("pre-flight: {}: {}", c.name, c.detail);
        }
    }
    Start { risk, blocking }
}
