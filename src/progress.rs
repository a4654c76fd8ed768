//! The progress display for people at a terminal: a line per iteration with
//! a spinner, the elapsed time and the phase (checkpoint, cleanup, step N/M,
//! verify), a back-off countdown between iterations, and a finished line
//! per iteration that stays on screen. Only drawn when stderr is a terminal
//! outside CI (see `ci::CiEnv::progress`); elsewhere the agent's log lines
//! say the same thing plainly.

use crate::cycle::events::{Event, Observer, Phase};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::time::Duration;

const TICK: Duration = Duration::from_millis(120);

/// Draws the run's progress.
pub struct ProgressObserver {
    target: fn() -> ProgressDrawTarget,
    bar: Option<ProgressBar>,
    max_iterations: u32,
}

impl ProgressObserver {
    /// Drawing on stderr.
    pub fn stderr() -> ProgressObserver {
        ProgressObserver::with_target(ProgressDrawTarget::stderr)
    }

    /// Drawing on targets made by `target` (one per line).
    pub fn with_target(target: fn() -> ProgressDrawTarget) -> ProgressObserver {
        ProgressObserver {
            target,
            bar: None,
            max_iterations: 0,
        }
    }

    fn running_style() -> ProgressStyle {
        ProgressStyle::with_template(
            "{spinner:.cyan} iteration {prefix:.bold} [{elapsed:>3}] {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
    }

    fn new_bar(&mut self, style: ProgressStyle, prefix: String) -> ProgressBar {
        self.clear();
        let bar = ProgressBar::with_draw_target(None, (self.target)())
            .with_style(style)
            .with_prefix(prefix);
        bar.enable_steady_tick(TICK);
        self.bar = Some(bar.clone());
        bar
    }

    fn clear(&mut self) {
        if let Some(bar) = self.bar.take() {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }

    fn set(&self, msg: String) {
        if let Some(bar) = &self.bar {
            bar.set_message(msg);
        }
    }

    fn finish_iteration(&mut self, cycle: &crate::report::CycleRecord) {
        let Some(bar) = self.bar.take() else {
            return;
        };
        let mark = if cycle.success { "✔" } else { "✘" };
        let classes = crate::report::markdown::classes_of(cycle);
        let what = if classes.is_empty() {
            cycle
                .errors
                .first()
                .filter(|_| !cycle.success)
                .cloned()
                .unwrap_or_default()
        } else {
            classes.join(", ")
        };
        let mut line = format!(
            "{mark} iteration {}/{} {} in {:.1}s",
            cycle.iteration, self.max_iterations, cycle.status, cycle.duration_seconds
        );
        if !what.is_empty() {
            line.push_str(": ");
            line.push_str(&what);
        }
        for a in &cycle.adjustments {
            line.push_str("\n    → ");
            line.push_str(a);
        }
        bar.set_style(
            ProgressStyle::with_template("{msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.finish_with_message(line);
    }

    fn backoff(&mut self, iteration: u32, seconds: f64) {
        let countdown = move |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let left = (seconds - state.elapsed().as_secs_f64()).max(0.0);
            let _ = write!(w, "{left:.1}s");
        };
        let style = ProgressStyle::with_template(
            "{spinner:.yellow} backoff {countdown} before iteration {prefix}",
        )
        .map(|s| s.with_key("countdown", countdown))
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
        self.new_bar(style, (iteration + 1).to_string());
    }
}

/// Debug logging streams DEBUG lines and each step's output to stderr line
/// by line; a spinner redrawn between them leaves its frames in the
/// terminal's scrollback (and in any `script`/tmux log of it), so the
/// display steps aside and the plain log lines say it all.
fn debugging() -> bool {
    tracing::enabled!(tracing::Level::DEBUG)
}

impl Observer for ProgressObserver {
    fn event(&mut self, event: &Event) {
        if debugging() {
            self.clear();
            return;
        }
        match event {
            Event::RunStart { max_iterations, .. } => self.max_iterations = *max_iterations,
            Event::IterationStart { iteration } => {
                let prefix = format!("{iteration}/{}", self.max_iterations);
                let bar = self.new_bar(Self::running_style(), prefix);
                bar.set_message("starting");
            }
            Event::PhaseStart { iteration, phase } => match phase {
                Phase::Checkpoint => self.set("checkpoint".into()),
                Phase::Cleanup { level } => self.set(format!("cleanup ({level})")),
                Phase::Step { index, total, name } => {
                    self.set(format!("step {}/{total} {name}", index + 1))
                }
                Phase::Verify => self.set("verify".into()),
                Phase::Backoff { seconds } => self.backoff(*iteration, *seconds),
            },
            Event::IterationEnd { cycle } => self.finish_iteration(cycle),
            Event::RunEnd { .. } => self.clear(),
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--debug` on a terminal left spinner frames between the DEBUG and
    /// step output lines.
    #[test]
    fn steps_aside_while_debug_logging_is_on() {
        let debug = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(debug, || {
            let mut o = ProgressObserver::with_target(ProgressDrawTarget::hidden);
            o.event(&Event::IterationStart { iteration: 1 });
            assert!(o.bar.is_none(), "no bar is drawn while debugging");
        });
        let info = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_writer(std::io::sink)
            .finish();
        tracing::subscriber::with_default(info, || {
            let mut o = ProgressObserver::with_target(ProgressDrawTarget::hidden);
            o.event(&Event::IterationStart { iteration: 1 });
            assert!(o.bar.is_some());
        });
    }

    #[test]
    fn follows_a_whole_run_without_a_terminal() {
        // Hidden target: the state machine must not panic or leave a bar.
        let mut o = ProgressObserver::with_target(ProgressDrawTarget::hidden);
        crate::ci::tests_support::feed(&mut o, &crate::ci::sample::report());
        assert!(o.bar.is_none());
    }
}
