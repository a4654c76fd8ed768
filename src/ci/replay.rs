//! The events a stored report stands for, in the order the loop emits them:
//! for feeding observers after the fact (and in tests) without a live run.

use crate::cycle::events::{Event, Phase};
use crate::report::Report;

/// The run's events as rebuilt from its report. Timing is lost: events come
/// all at once.
pub fn replay(report: &Report) -> Vec<Event> {
    let mut out = Vec::new();
    out.push(Event::RunStart {
        run_id: report.execution_id.clone(),
        start_time: report.start_time.clone(),
        root: String::new(),
        max_iterations: report.max_iterations,
        steps: report
            .cycles
            .first()
            .map(|c| c.steps.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default(),
        risk: report.risk_assessment.clone(),
    });
    for c in &report.cycles {
        let iteration = c.iteration;
        let phase = |phase| Event::PhaseStart { iteration, phase };
        out.push(Event::IterationStart { iteration });
        out.push(phase(Phase::Checkpoint));
        out.push(phase(Phase::Cleanup {
            level: c.plan.cleanup_level.clone(),
        }));
        for (index, s) in c.steps.iter().enumerate() {
            out.push(phase(Phase::Step {
                index,
                total: c.steps.len(),
                name: s.name.clone(),
            }));
            out.push(Event::StepEnd {
                iteration,
                index,
                name: s.name.clone(),
                status: s.status.clone(),
                exit_code: s.exit_code,
                duration_ms: s.duration_ms,
            });
        }
        out.push(phase(Phase::Verify));
        out.push(Event::Classified {
            iteration,
            log_file: c.log_file.clone(),
            matches: c.classified_errors.clone(),
        });
        for text in &c.adjustments {
            out.push(Event::Adjustment {
                iteration,
                text: text.clone(),
            });
        }
        out.push(Event::IterationEnd {
            cycle: Box::new(c.clone()),
        });
        if c.backoff_seconds > 0.0 {
            out.push(phase(Phase::Backoff {
                seconds: c.backoff_seconds,
            }));
        }
    }
    for action in &report.recovery_actions {
        out.push(Event::Recovery {
            action: action.clone(),
        });
    }
    out.push(Event::Verdict {
        status: report.status.clone(),
        reason: report.stop_reason.clone(),
        exit_code: exit_code(&report.status),
    });
    out.push(Event::RunEnd {
        report: Box::new(report.clone()),
    });
    out
}

/// The exit code a report status stands for (DESIGN.md "Exit codes").
pub fn exit_code(status: &str) -> u8 {
    match status {
        "success" => crate::exit::SUCCESS,
        "failed" => crate::exit::STILL_FAILING,
        "non_retryable" => crate::exit::NON_RETRYABLE,
        "interrupted" => crate::exit::SIGINT,
        _ => crate::exit::USAGE,
    }
}
