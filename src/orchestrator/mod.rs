//! The step runner: each step runs through `sh -c` in its own process group
//! with the plan's environment; output is teed into the iteration log; a step
//! past its timeout gets SIGTERM to its group, a grace period, then SIGKILL.
//! When the iteration ends, every process its steps started is gone.

pub mod leftovers;
pub mod procs;
pub mod pump;
mod sampler;

use crate::classify::{ScanReport, Scanner};
use crate::metrics::StepMetrics;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::process::Command;
use tokio::sync::watch;

/// Process groups of steps that may still be running, for a hard kill on a
/// second Ctrl-C.
static ACTIVE_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// SIGKILLs every step group still registered (second Ctrl-C).
pub fn kill_all_now() {
    if let Ok(groups) = ACTIVE_GROUPS.lock() {
        for &pgid in groups.iter() {
            procs::signal_group(pgid, libc::SIGKILL);
        }
    }
}

fn register(pgid: i32) {
    if let Ok(mut g) = ACTIVE_GROUPS.lock() {
        g.push(pgid);
    }
}

fn unregister(pgids: &[i32]) {
    if let Ok(mut g) = ACTIVE_GROUPS.lock() {
        g.retain(|p| !pgids.contains(p));
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Success,
    Failed,
    Timeout,
    Interrupted,
    Skipped,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Success => "success",
            StepStatus::Failed => "failed",
            StepStatus::Timeout => "timeout",
            StepStatus::Interrupted => "interrupted",
            StepStatus::Skipped => "skipped",
        }
    }
}

/// One step's result.
#[derive(Debug, Clone)]
pub struct StepOutcome {
    pub name: String,
    pub status: StepStatus,
    pub exit_code: Option<i32>,
    pub duration: Duration,
    pub waited: Duration,
    pub metrics: StepMetrics,
}

/// What to run.
pub struct StepRun<'a> {
    pub index: usize,
    pub total: usize,
    pub name: &'a str,
    pub command: &'a str,
    pub timeout: Duration,
    pub env: &'a [(String, String)],
    /// Whether a timeout's note goes through the classifier (as `timeout`).
    /// Off for an attempt that is retried when it hangs: the retry decides.
    pub classify_timeout: bool,
}

/// Runs the steps of one iteration and owns its log.
pub struct IterationRunner {
    root: PathBuf,
    grace: Duration,
    cancel: watch::Receiver<Option<i32>>,
    sink: Option<pump::Sink>,
    writer: tokio::task::JoinHandle<pump::PumpResult>,
    groups: Vec<i32>,
    readers: Vec<tokio::task::JoinHandle<()>>,
    /// Number of the latest `run`: tags its output in the log.
    runs: u64,
}

/// The iteration's combined output.
pub struct IterationOutput {
    pub scan: ScanReport,
    pub rows: Vec<(usize, u64)>,
    pub io_error: Option<String>,
    pub orphans_killed: usize,
}

impl IterationRunner {
    /// Opens the iteration log and starts the writer.
    pub fn start(
        root: &Path,
        log_path: &Path,
        scanner: Scanner,
        echo: bool,
        grace: Duration,
        cancel: watch::Receiver<Option<i32>>,
    ) -> std::io::Result<IterationRunner> {
        let (sink, writer) = pump::start(log_path, scanner, echo)?;
        Ok(IterationRunner {
            root: root.to_path_buf(),
            grace,
            cancel,
            sink: Some(sink),
            writer,
            groups: Vec::new(),
            readers: Vec::new(),
            runs: 0,
        })
    }

    /// Writes an agent line into the log (and so through the classifier).
    pub async fn note(&self, step: usize, text: &str) {
        if let Some(sink) = &self.sink {
            sink.note(step, text).await;
        }
    }

    /// Writes a header line into the log; headers are not classified.
    async fn header(&self, step: usize, text: &str) {
        self.run_line(step, text, false).await;
    }

    /// A line of the current run (a note when `scan`, else a header).
    async fn run_line(&self, step: usize, text: &str, scan: bool) {
        if let Some(sink) = &self.sink {
            sink.agent_line(step, self.runs, text, scan).await;
        }
    }

    /// The number of the latest `run`, for `discard`.
    pub fn last_run(&self) -> u64 {
        self.runs
    }

    /// What the classifier found in the output of run `run` (its lines and
    /// notes) does not count for the iteration; the lines stay in the log.
    pub async fn discard(&self, run: u64) {
        if let Some(sink) = &self.sink {
            sink.discard(run).await;
        }
    }

    fn interrupted(&self) -> bool {
        self.cancel.borrow().is_some()
    }

    /// Runs one command to completion, timeout or interruption.
    pub async fn run(&mut self, step: StepRun<'_>) -> StepOutcome {
        let started = Instant::now();
        let mut outcome = StepOutcome {
            name: step.name.to_string(),
            status: StepStatus::Failed,
            exit_code: None,
            duration: Duration::ZERO,
            waited: Duration::ZERO,
            metrics: StepMetrics::default(),
        };
        if self.interrupted() {
            outcome.status = StepStatus::Interrupted;
            return outcome;
        }
        self.runs += 1;
        let run = self.runs;
        // Headers are not classified (a step named "load SUCCESS" must not
        // pass the marker check), and leave the command out of the log.
        self.header(
            step.index,
            &format!(
                "── auto-etl: step {} ({}/{})",
                step.name,
                step.index + 1,
                step.total
            ),
        )
        .await;
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(step.command)
            .current_dir(&self.root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        for (k, v) in step.env {
            cmd.env(k, v);
        }
        // Marks every process of the step, setsid daemons included, so the
        // next run can find them if this agent is killed.
        if let Some(token) = leftovers::token() {
            cmd.env(leftovers::RUN_TOKEN_ENV, token);
        }
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                self.run_line(
                    step.index,
                    &format!("auto-etl: cannot start step {}: {e}", step.name),
                    true,
                )
                .await;
                outcome.duration = started.elapsed();
                return outcome;
            }
        };
        let pgid = child.id().map(|p| p as i32).unwrap_or(0);
        if pgid > 0 {
            self.groups.push(pgid);
            register(pgid);
            leftovers::record(pgid);
        }
        let sink = self.sink.clone().expect("sink open while steps run");
        if let Some(out) = child.stdout.take() {
            self.readers.push(tokio::spawn(pump::drain(
                out,
                step.index,
                run,
                1,
                sink.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            self.readers
                .push(tokio::spawn(pump::drain(err, step.index, run, 2, sink)));
        }
        let sampler = sampler::sample_group(pgid);
        let mut cancel = self.cancel.clone();
        let status = tokio::select! {
            status = child.wait() => Some(status),
            _ = tokio::time::sleep(step.timeout) => {
                outcome.status = StepStatus::Timeout;
                None
            }
            _ = cancel.wait_for(|s| s.is_some()) => {
                outcome.status = StepStatus::Interrupted;
                None
            }
        };
        let status = match status {
            Some(s) => s.ok(),
            None => {
                procs::terminate_group(pgid, self.grace).await;
                let reason = if outcome.status == StepStatus::Timeout {
                    format!(
                        "auto-etl: step {} timed out after {}: sent SIGTERM to its process group",
                        step.name,
                        crate::config::duration::format(step.timeout)
                    )
                } else {
                    format!(
                        "auto-etl: step {} interrupted: sent SIGTERM to its process group",
                        step.name
                    )
                };
                let scan = outcome.status != StepStatus::Timeout || step.classify_timeout;
                self.run_line(step.index, &reason, scan).await;
                child.wait().await.ok()
            }
        };
        outcome.metrics = sampler.finish().await;
        if let Some(status) = status {
            use std::os::unix::process::ExitStatusExt;
            outcome.exit_code = status.code().or_else(|| status.signal().map(|s| 128 + s));
            if outcome.status == StepStatus::Failed && status.success() {
                outcome.status = StepStatus::Success;
            }
        }
        outcome.duration = started.elapsed();
        outcome.metrics.execution_time_ms = outcome.duration.as_millis() as u64;
        outcome
    }

    /// Ends the iteration: terminates every step group, kills and reaps
    /// orphans, closes the log and returns what the classifier found.
    pub async fn finish(mut self) -> IterationOutput {
        for &pgid in &self.groups {
            if procs::group_alive(pgid) {
                procs::terminate_group(pgid, self.grace.min(Duration::from_secs(2))).await;
            }
        }
        let orphans_killed = procs::reap_orphans().await;
        unregister(&self.groups);
        // Readers end at EOF once every writer of their pipe is gone; a pipe
        // held open by something out of reach must not hang the agent.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for reader in self.readers.drain(..) {
            let abort = reader.abort_handle();
            if tokio::time::timeout_at(deadline, reader).await.is_err() {
                abort.abort();
            }
        }
        drop(self.sink.take());
        let result = self.writer.await.unwrap_or_else(|e| pump::PumpResult {
            scan: ScanReport::default(),
            rows: Vec::new(),
            io_error: Some(format!("log writer failed: {e}")),
        });
        IterationOutput {
            scan: result.scan,
            rows: result.rows,
            io_error: result.io_error,
            orphans_killed,
        }
    }
}
