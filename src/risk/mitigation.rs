//! Mitigations as typed actions the run applies to its plan, apart from the
//! advice it can only give. The report lists both, each saying which it is,
//! so nothing reads as a promise the run does not keep. Pure.

use serde::{Deserialize, Serialize};

/// Something the run does because of the risk, not merely advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Cleanup keeps named volumes at every level, escalations included
    /// (only anonymous volumes go).
    KeepNamedVolumes,
    /// Checkpoints are never pushed.
    NoPush,
    /// The health monitor samples twice as often.
    HealthTwiceAsOften,
    /// Every blocking pre-flight check must pass before the first iteration.
    PreflightRequired,
}

impl Action {
    /// What the action does, in the report's words.
    pub fn describe(self) -> &'static str {
        match self {
            Action::KeepNamedVolumes => {
                "named volumes kept at every cleanup level (only anonymous volumes removed)"
            }
            Action::NoPush => "checkpoints not pushed",
            Action::HealthTwiceAsOften => "health sampled twice as often",
            Action::PreflightRequired => {
                "every blocking pre-flight check must pass before the first iteration"
            }
        }
    }
}

/// Why the session applies what it applies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Each action once, sorted, with the reasons that call for it.
    pub actions: Vec<(Action, Vec<String>)>,
}

impl Applied {
    /// Adds `action` for `why`.
    pub fn add(&mut self, action: Action, why: impl Into<String>) {
        let why = why.into();
        match self.actions.iter_mut().find(|(a, _)| *a == action) {
            Some((_, reasons)) => reasons.push(why),
            None => {
                self.actions.push((action, vec![why]));
                self.actions.sort_by_key(|(a, _)| *a);
            }
        }
    }

    /// Whether `action` is applied.
    pub fn has(&self, action: Action) -> bool {
        self.actions.iter().any(|(a, _)| *a == action)
    }

    /// One report line per action: `applied: <what> (<why>)`.
    pub fn lines(&self) -> Vec<String> {
        self.actions
            .iter()
            .map(|(a, why)| format!("applied: {} ({})", a.describe(), why.join("; ")))
            .collect()
    }
}

/// The actions a session applies: safe mode's four, and named volumes kept
/// whenever a step is data sensitive, whatever the level.
pub fn applied(safe_mode: bool, risk_level: &str, data_sensitive: &[&str]) -> Applied {
    let mut out = Applied::default();
    if safe_mode {
        let why = format!("safe mode, risk {risk_level}");
        for a in [
            Action::KeepNamedVolumes,
            Action::NoPush,
            Action::HealthTwiceAsOften,
            Action::PreflightRequired,
        ] {
            out.add(a, why.clone());
        }
    }
    if !data_sensitive.is_empty() {
        out.add(
            Action::KeepNamedVolumes,
            format!("data sensitive: {}", data_sensitive.join(", ")),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_sensitive_steps_keep_named_volumes_without_safe_mode() {
        // Issue 14, reproduction 6: a medium-risk run with a data_sensitive
        // step was promised kept volumes, and lost them.
        let a = applied(false, "medium", &["load"]);
        assert!(a.has(Action::KeepNamedVolumes));
        assert!(!a.has(Action::NoPush));
        assert_eq!(
            a.lines(),
            ["applied: named volumes kept at every cleanup level (only anonymous volumes removed) (data sensitive: load)"]
        );
    }

    #[test]
    fn safe_mode_applies_its_four_actions_once_each() {
        let a = applied(true, "high", &["load"]);
        let kinds: Vec<Action> = a.actions.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                Action::KeepNamedVolumes,
                Action::NoPush,
                Action::HealthTwiceAsOften,
                Action::PreflightRequired
            ]
        );
        assert_eq!(a.actions[0].1.len(), 2);
        assert!(applied(false, "low", &[]).actions.is_empty());
    }
}
