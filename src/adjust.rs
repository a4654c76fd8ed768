//! Class → change to the next iteration's plan, and whether to stop.
//! Pure: takes what the last iteration showed, returns the next plan and the
//! sentences that explain it (they land in the cycle's `adjustments`).

use crate::classify::{FailureClass, Match, StopPolicy};
use crate::cleanup::CleanupLevel;
use crate::config::duration::format as fmt;
use std::time::Duration;

/// The longest a service wait is raised to.
pub const MAX_SERVICE_WAIT: Duration = Duration::from_secs(300);
/// A step timeout is raised to at most this multiple of its configured value.
pub const TIMEOUT_CAP_FACTOR: u32 = 4;

/// What the next iteration runs with.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub iteration: u32,
    pub step_names: Vec<String>,
    /// Timeouts in force, per step.
    pub step_timeouts: Vec<Duration>,
    /// The configured timeouts, for the cap.
    pub base_timeouts: Vec<Duration>,
    pub service_wait: Duration,
    pub cleanup_level: CleanupLevel,
    pub recreate_schema: bool,
    /// Cleanup keeps named volumes (a risk mitigation). Set once from the
    /// risk assessment; no adjustment clears it, so an escalation to deep
    /// still keeps them.
    pub keep_named_volumes: bool,
}

impl Plan {
    /// The environment the orchestrator sees, for step `index`.
    pub fn env(&self, index: usize) -> Vec<(String, String)> {
        vec![
            ("AUTO_ETL_ITERATION".into(), self.iteration.to_string()),
            (
                "AUTO_ETL_STEP_TIMEOUT_SECS".into(),
                self.step_timeouts[index].as_secs().to_string(),
            ),
            (
                "AUTO_ETL_SERVICE_WAIT_SECS".into(),
                self.service_wait.as_secs().max(1).to_string(),
            ),
            (
                "AUTO_ETL_RECREATE_SCHEMA".into(),
                if self.recreate_schema { "1" } else { "0" }.into(),
            ),
            (
                "AUTO_ETL_CLEANUP_LEVEL".into(),
                self.cleanup_level.as_str().into(),
            ),
        ]
    }
}

/// What the last iteration showed.
#[derive(Debug, Clone, Default)]
pub struct Facts<'a> {
    /// Classified matches, in log order.
    pub matches: &'a [Match],
    /// Steps killed at their timeout (indices).
    pub timed_out: Vec<usize>,
    /// Steps that failed (indices), timed out ones included.
    pub failed: Vec<usize>,
    /// Memory pressure seen while the steps ran, in a phrase.
    pub memory_pressure: Option<String>,
}

/// The next plan, the reasons, and whether to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub next: Plan,
    pub adjustments: Vec<String>,
    /// Why retrying cannot help, if so.
    pub stop: Option<String>,
}

pub use crate::classify::classes_of;

/// Decides the next plan. `history` holds the classes of the earlier
/// iterations, oldest first (not including this one).
pub fn decide(plan: &Plan, facts: &Facts, history: &[Vec<FailureClass>]) -> Decision {
    let classes = classes_of(facts.matches);
    let mut next = plan.clone();
    next.iteration += 1;
    let mut adjustments = Vec::new();
    let has = |c: &FailureClass| classes.contains(c);
    use FailureClass::*;

    if has(&Timeout) || !facts.timed_out.is_empty() {
        raise_timeouts(&mut next, facts, &mut adjustments);
    }
    // A lock held by another session is released by waiting, like a
    // service that is still starting.
    let waits: Vec<&str> = [ConnectionRefused, DnsFailure, LockConflict]
        .iter()
        .filter(|c| has(c))
        .map(|c| c.as_str())
        .collect();
    if !waits.is_empty() {
        let old = next.service_wait;
        let new = (old * 2)
            .max(old + Duration::from_secs(5))
            .min(MAX_SERVICE_WAIT);
        next.service_wait = new;
        adjustments.push(if new > old {
            format!(
                "service wait {} -> {} ({})",
                fmt(old),
                fmt(new),
                waits.join(", ")
            )
        } else {
            format!(
                "service wait stays at {} (cap reached) ({})",
                fmt(old),
                waits.join(", ")
            )
        });
    }
    let deeper: Vec<&str> = [PortInUse, AlreadyExists, DuplicateConnector]
        .iter()
        .filter(|c| has(c))
        .map(|c| c.as_str())
        .collect();
    if !deeper.is_empty() {
        let to = next.cleanup_level.deeper();
        escalate(&mut next, to, &deeper.join(", "), &mut adjustments);
    }
    if has(&DiskFull) {
        escalate(&mut next, CleanupLevel::Deep, "disk_full", &mut adjustments);
    }
    if has(&NoSuchTable) {
        if next.recreate_schema {
            adjustments.push("recreate schema stays on (no_such_table)".into());
        } else {
            next.recreate_schema = true;
            adjustments
                .push("recreate schema on: AUTO_ETL_RECREATE_SCHEMA=1 (no_such_table)".into());
        }
    }
    if has(&OutOfMemory) {
        adjustments.push(match &facts.memory_pressure {
            Some(p) => format!("out_of_memory recorded for review; {p} (out_of_memory)"),
            None => "out_of_memory recorded for review (out_of_memory)".into(),
        });
    }
    for class in &classes {
        if for_review(class) {
            adjustments.push(review_sentence(class, facts.matches));
        }
    }
    Decision {
        next,
        adjustments,
        stop: stop_reason(facts.matches, &classes, history),
    }
}

/// Classes whose only adjustment is to be recorded for a person to review.
/// `SchemaMismatch` is here until remedies exist: a configured remedy (a
/// migration, `dbt run --full-refresh`) is what will act on its subject.
fn for_review(class: &FailureClass) -> bool {
    use FailureClass::*;
    matches!(
        class,
        ImageNotFound
            | FileNotFound
            | PermissionDenied
            | AuthFailed
            | DataTestFailed
            | DataError
            | ConfigError
            | SchemaMismatch
            | Custom(_)
    )
}

/// What the first three matches of `class` are about, so a person knows
/// where to look: `file_not_found recorded for review: data/sales.csv
/// (etl/load.py:8)`; without a subject or source, their log lines:
/// `file_not_found recorded for review (line 7)`.
fn review_sentence(class: &FailureClass, matches: &[Match]) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut named = false;
    for m in matches.iter().filter(|m| &m.class == class) {
        let about = match m.about() {
            Some(a) => {
                named = true;
                a
            }
            None => format!("line {}", m.line),
        };
        if !seen.contains(&about) {
            seen.push(about);
        }
        if seen.len() == 3 {
            break;
        }
    }
    if named {
        format!("{class} recorded for review: {}", seen.join(", "))
    } else {
        format!("{class} recorded for review ({})", seen.join(", "))
    }
}

/// A critical disk alert before an iteration: that iteration cleans deep
/// rather than fail for lack of space. Returns the sentence, if it changed.
pub fn on_critical_disk(plan: &mut Plan) -> Option<String> {
    if plan.cleanup_level == CleanupLevel::Deep {
        return None;
    }
    let mut said = Vec::new();
    escalate(
        plan,
        CleanupLevel::Deep,
        "critical disk alert before the iteration",
        &mut said,
    );
    said.pop()
}

fn raise_timeouts(next: &mut Plan, facts: &Facts, adjustments: &mut Vec<String>) {
    let targets: Vec<usize> = if !facts.timed_out.is_empty() {
        facts.timed_out.clone()
    } else if !facts.failed.is_empty() {
        facts.failed.clone()
    } else {
        (0..next.step_timeouts.len()).collect()
    };
    for i in targets {
        let Some(old) = next.step_timeouts.get(i).copied() else {
            continue;
        };
        let cap = next.base_timeouts[i] * TIMEOUT_CAP_FACTOR;
        let new = old.mul_f64(1.5).min(cap);
        let name = &next.step_names[i];
        if new > old {
            next.step_timeouts[i] = new;
            adjustments.push(format!(
                "step {name} timeout {} -> {} (timeout)",
                fmt(old),
                fmt(new)
            ));
        } else {
            adjustments.push(format!(
                "step {name} timeout stays at {} (cap reached) (timeout)",
                fmt(old)
            ));
        }
    }
}

fn escalate(next: &mut Plan, to: CleanupLevel, why: &str, adjustments: &mut Vec<String>) {
    let old = next.cleanup_level;
    let new = old.max(to);
    next.cleanup_level = new;
    adjustments.push(if new > old {
        format!("cleanup {old} -> {new} ({why})")
    } else {
        format!("cleanup stays {old} ({why})")
    });
}

/// Why the loop must stop now, if it must.
pub fn stop_reason(
    matches: &[Match],
    classes: &[FailureClass],
    history: &[Vec<FailureClass>],
) -> Option<String> {
    if let Some(m) = matches.iter().find(|m| !m.retryable) {
        let about = m.about().map(|a| format!("{a}, ")).unwrap_or_default();
        return Some(format!(
            "{} is not retryable ({about}rule {}, line {}): retrying cannot help",
            m.class, m.rule_id, m.line
        ));
    }
    for class in classes {
        // A single-hit stop is the rule's own `retryable` (checked above), so
        // a user rule may override it; repeats are counted here.
        if let StopPolicy::AfterConsecutive(n @ 2..) = class.default_policy() {
            let n = n as usize;
            let earlier = n - 1;
            if history.len() >= earlier
                && history[history.len() - earlier..]
                    .iter()
                    .all(|h| h.contains(class))
            {
                return Some(format!(
                    "{class} seen {n} iterations in a row: retrying cannot help"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests;
