//! Risk assessment before the first iteration: each step scored from its
//! attributes and its history in earlier reports into a level with
//! mitigations; pre-flight checks of what the steps need.
//!
//! Scoring, in one place (a step's score is clamped to 0-100):
//! - base by kind: validation 10, verification 10, decision 30, action 35;
//! - complexity: low +0, medium +10, high +25;
//! - external dependencies +15; data sensitive +20;
//! - history: `40 * (0.75 - success rate)` clamped to [-10, +30], scaled by
//!   confidence `min(runs, 5) / 5`; no history is neutral (+0), a perfect
//!   record lowers the score, a poor one raises it;
//! - session score: the mean of the steps';
//! - levels: low < 30 <= medium < 60 <= high < 80 <= critical;
//! - at high or critical the session runs in safe mode (no push, named
//!   volumes kept, health sampled twice as often) and pre-flight must pass;
//! - a data-sensitive step keeps named volumes at any level.
//!
//! `mitigations` lists what the run applies (`applied: ...`, typed in
//! `mitigation::Action`) apart from what it only advises (`recommended: ...`).

mod history;
pub mod mitigation;
mod preflight;

pub use history::{History, StepHistory};
pub use preflight::{
    disk_verdict, docker_verdict, git_state, git_verdict, preflight, program_of, program_verdict,
    GitState, Lookup, PreflightCheck, PreflightInput, Program,
};

use crate::config::{Complexity, Step, StepKind};
use serde::{Deserialize, Serialize};

/// Score from which a step or session is medium risk.
pub const MEDIUM_FROM: f64 = 30.0;
/// Score from which a step or session is high risk (safe mode).
pub const HIGH_FROM: f64 = 60.0;
/// Score from which a step or session is critical (safe mode).
pub const CRITICAL_FROM: f64 = 80.0;

pub use mitigation::{Action, Applied};

/// Risk of one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepRisk {
    pub step: String,
    pub risk_score: f64,
    pub risk_level: String,
    pub factors: Vec<String>,
}

/// The report's `risk_assessment`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RiskAssessment {
    pub risk_score: f64,
    pub risk_level: String,
    pub step_risks: Vec<StepRisk>,
    pub mitigations: Vec<String>,
    #[serde(default)]
    pub safe_mode: bool,
    /// Blocking pre-flight checks must pass before the first iteration.
    #[serde(default)]
    pub preflight_required: bool,
}

/// low | medium | high | critical for a score.
pub fn level(score: f64) -> &'static str {
    if score >= CRITICAL_FROM {
        "critical"
    } else if score >= HIGH_FROM {
        "high"
    } else if score >= MEDIUM_FROM {
        "medium"
    } else {
        "low"
    }
}

/// What raised (or lowered) a step's score; also keys the mitigations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Factor {
    HighComplexity,
    External,
    DataSensitive,
    PoorHistory,
}

impl Factor {
    /// Advice for the user: nothing here is done by the run itself.
    fn recommendation(self, steps: &str) -> String {
        match self {
            Factor::HighComplexity => format!(
                "recommended: high complexity ({steps}): keep the iteration logs and run with --debug"
            ),
            Factor::External => format!(
                "recommended: external dependencies ({steps}): declare the services as wait_for targets"
            ),
            Factor::DataSensitive => format!(
                "recommended: data sensitive ({steps}): keep checkpoints on (--checkpoint ref)"
            ),
            Factor::PoorHistory => format!(
                "recommended: history ({steps}): failed often in earlier runs; review their last reports and logs first"
            ),
        }
    }
}

fn history_points(h: &StepHistory) -> Option<f64> {
    let rate = h.success_rate()?;
    let confidence = f64::from(h.runs.min(5)) / 5.0;
    Some(((0.75 - rate) * 40.0).clamp(-10.0, 30.0) * confidence)
}

/// Scores one step; returns the factors that call for a mitigation too.
fn score_step(step: &Step, history: &History) -> (StepRisk, Vec<Factor>) {
    let mut factors = Vec::new();
    let mut keys = Vec::new();
    let (kind, base) = match step.kind {
        StepKind::Validation => ("validation", 10.0),
        StepKind::Verification => ("verification", 10.0),
        StepKind::Decision => ("decision", 30.0),
        StepKind::Action => ("action", 35.0),
    };
    factors.push(format!("kind {kind} (+{base:.0})"));
    let mut score = base;
    match step.complexity {
        Complexity::Low => {}
        Complexity::Medium => {
            score += 10.0;
            factors.push("complexity medium (+10)".into());
        }
        Complexity::High => {
            score += 25.0;
            factors.push("complexity high (+25)".into());
            keys.push(Factor::HighComplexity);
        }
    }
    if step.external_dependencies {
        score += 15.0;
        factors.push("external dependencies (+15)".into());
        keys.push(Factor::External);
    }
    if step.data_sensitive {
        score += 20.0;
        factors.push("data sensitive (+20)".into());
        keys.push(Factor::DataSensitive);
    }
    if let Some(h) = history.get(&step.name) {
        if let Some(points) = history_points(h) {
            score += points;
            factors.push(format!(
                "history: {} of {} earlier runs succeeded ({:+.0})",
                h.successes, h.runs, points
            ));
            if points > 0.0 {
                keys.push(Factor::PoorHistory);
            }
        }
    }
    let score = round1(score.clamp(0.0, 100.0));
    let risk = StepRisk {
        step: step.name.clone(),
        risk_score: score,
        risk_level: level(score).into(),
        factors,
    };
    (risk, keys)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Scores the steps with their history into the session's assessment.
pub fn assess(steps: &[Step], history: &History) -> RiskAssessment {
    let scored: Vec<(StepRisk, Vec<Factor>)> =
        steps.iter().map(|s| score_step(s, history)).collect();
    let score = if scored.is_empty() {
        0.0
    } else {
        round1(scored.iter().map(|(r, _)| r.risk_score).sum::<f64>() / scored.len() as f64)
    };
    let risk_level = level(score);
    let safe_mode = matches!(risk_level, "high" | "critical");

    // What the run applies first, then one recommendation per factor,
    // naming the steps it is about.
    let mut mitigations = applied(steps, safe_mode, risk_level).lines();
    let mut by_factor: std::collections::BTreeMap<Factor, Vec<&str>> = Default::default();
    for (risk, keys) in &scored {
        for k in keys {
            by_factor.entry(*k).or_default().push(&risk.step);
        }
    }
    mitigations.extend(
        by_factor
            .into_iter()
            .map(|(f, names)| f.recommendation(&names.join(", "))),
    );
    RiskAssessment {
        risk_score: score,
        risk_level: risk_level.into(),
        step_risks: scored.into_iter().map(|(r, _)| r).collect(),
        mitigations,
        safe_mode,
        preflight_required: safe_mode,
    }
}

/// The actions a session with `steps` applies at `risk_level`.
pub fn applied(steps: &[Step], safe_mode: bool, risk_level: &str) -> Applied {
    let sensitive: Vec<&str> = steps
        .iter()
        .filter(|s| s.data_sensitive)
        .map(|s| s.name.as_str())
        .collect();
    mitigation::applied(safe_mode, risk_level, &sensitive)
}

#[cfg(test)]
mod tests;
