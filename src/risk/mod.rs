//! Risk assessment before the first iteration: each step scored from its
//! attributes and history into a level with mitigations.
//! (Skeleton: scoring lands with the session-modules issue.)

use crate::config::Step;
use serde::{Deserialize, Serialize};

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
}

/// Scores the steps.
pub fn assess(steps: &[Step]) -> RiskAssessment {
    let _ = steps;
    RiskAssessment {
        risk_score: 0.0,
        risk_level: "low".into(),
        step_risks: Vec::new(),
        mitigations: Vec::new(),
        safe_mode: false,
    }
}
