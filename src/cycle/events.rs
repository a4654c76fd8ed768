//! What the loop tells its observers (the journal, the progress display, CI
//! annotations) as it goes. Events are owned and serialisable so a journal
//! can store them line by line and a report can be rebuilt from them.

use crate::classify::Match;
use crate::recovery::RecoveryAction;
use crate::report::{CycleRecord, Report};
use crate::risk::RiskAssessment;
use serde::{Deserialize, Serialize};

/// A phase of an iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    Checkpoint,
    Cleanup {
        level: String,
    },
    Step {
        index: usize,
        total: usize,
        name: String,
    },
    Verify,
    Backoff {
        seconds: f64,
    },
}

/// One thing that happened.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStart {
        run_id: String,
        start_time: String,
        root: String,
        max_iterations: u32,
        steps: Vec<String>,
        risk: RiskAssessment,
    },
    IterationStart {
        iteration: u32,
    },
    PhaseStart {
        iteration: u32,
        #[serde(flatten)]
        phase: Phase,
    },
    StepEnd {
        iteration: u32,
        index: usize,
        name: String,
        status: String,
        exit_code: Option<i32>,
        duration_ms: u64,
    },
    Classified {
        iteration: u32,
        log_file: String,
        matches: Vec<Match>,
    },
    Adjustment {
        iteration: u32,
        text: String,
    },
    IterationEnd {
        cycle: Box<CycleRecord>,
    },
    Recovery {
        action: RecoveryAction,
    },
    Verdict {
        status: String,
        reason: String,
        exit_code: u8,
    },
    RunEnd {
        report: Box<Report>,
    },
}

/// Something that wants to hear about the run.
pub trait Observer: Send {
    /// Called for every event, in order, on the loop's task. Must be quick.
    fn event(&mut self, event: &Event);
    /// Called once after `RunEnd`; flush what is buffered.
    fn finish(&mut self) {}
}

/// Fans events out to every observer.
#[derive(Default)]
pub struct Observers {
    list: Vec<Box<dyn Observer>>,
}

impl Observers {
    pub fn add(&mut self, o: Box<dyn Observer>) {
        self.list.push(o);
    }

    pub fn emit(&mut self, event: Event) {
        for o in &mut self.list {
            o.event(&event);
        }
    }

    pub fn finish(&mut self) {
        for o in &mut self.list {
            o.finish();
        }
    }
}
