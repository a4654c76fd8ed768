//! The validation cycle loop: iterations until green, a non-retryable
//! failure, max-iterations or max-elapsed; then the report and exit code.

pub mod engine_lock;
pub mod events;
mod iteration;
pub mod lock;
mod preflight;
pub mod record;
pub mod run_id;
mod services;
pub mod signals;
pub mod verify;

use crate::adjust::{self, Facts, Plan};
use crate::checkpoint::PreviousIteration;
use crate::classify::FailureClass;
use crate::cli::{OutputFormat, RunArgs};
use crate::config::{self, Config, Outside};
use crate::docker::{Cleaner, DockerError};
use crate::exit;
use crate::health::{HealthConfig, HealthMonitor};
use crate::recovery::{BreakerConfig, CircuitBreaker, RecoveryLog};
use crate::report::CycleRecord;
use crate::risk::RiskAssessment;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The shortest timeout a step gets from what is left of `--max-elapsed`.
const MIN_CLIPPED_TIMEOUT: Duration = Duration::from_secs(1);

/// One run of the loop and everything it carries between iterations.
pub struct Session {
    pub(crate) cfg: Config,
    pub(crate) run_id: String,
    pub(crate) cancel: watch::Receiver<Option<i32>>,
    pub(crate) docker: Option<Cleaner>,
    pub(crate) recovery: RecoveryLog,
    /// Counts Docker outages; while open, cleanup skips Docker at once.
    pub(crate) docker_breaker: CircuitBreaker,
    /// Opens for the rest of the run once a push has failed for good.
    pub(crate) push_breaker: CircuitBreaker,
    /// Why the Docker client was dropped, until a new one works again.
    pub(crate) docker_lost: Option<String>,
    pub(crate) health: Option<HealthMonitor>,
    /// A health sampler restart not recorded yet, until it is known whether
    /// the new task samples.
    pub(crate) health_restart: Option<(crate::health::Revival, u64)>,
    risk: RiskAssessment,
    pub(crate) observers: events::Observers,
    /// Recovery actions already told to the observers.
    recoveries_emitted: usize,
    started: Instant,
}

/// The run's outcome: what the loop decided, unless a signal has come since
/// (`interrupted` is `interrupted_outcome()`), which makes the run
/// interrupted (so not rolled back, and exit 130/143). Pure.
fn settle(decided: Outcome, interrupted: Option<Outcome>) -> Outcome {
    match interrupted {
        Some(mut o) if decided.status != "interrupted" => {
            o.reason = format!("{} (the run had ended: {})", o.reason, decided.reason);
            o
        }
        _ => decided,
    }
}

/// How the loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// success | failed | non_retryable | interrupted | error
    pub status: &'static str,
    pub reason: String,
    pub code: u8,
}

impl Outcome {
    fn budget_spent(budget: Duration) -> Outcome {
        Outcome {
            status: "failed",
            reason: format!(
                "max-elapsed budget of {} spent",
                config::duration::format(budget)
            ),
            code: exit::STILL_FAILING,
        }
    }
}

/// `auto-etl run`: resolves the configuration and runs the loop.
pub async fn run_command(args: RunArgs) -> anyhow::Result<u8> {
    let outside = Outside::from_env()?;
    let cfg = match config::load(&args, &outside) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("auto-etl: {e}");
            return Ok(exit::USAGE);
        }
    };
    Ok(run_with_outputs(cfg, &args.output).await)
}

/// Runs the loop with the observers the outside world asks for: CI groups
/// and annotations, the progress display, JUnit, metrics file, notification.
pub async fn run_with_outputs(mut cfg: Config, output: &crate::cli::OutputArgs) -> u8 {
    let env = crate::ci::CiEnv::from_env();
    let opts = crate::ci::ObserverOptions::new(&cfg, output);
    cfg.options.progress = env.progress(opts.progress);
    let mut observers = events::Observers::default();
    for o in crate::ci::observers(&env, &opts) {
        observers.add(o);
    }
    run_observed(cfg, observers).await
}

/// Runs the loop, telling `observers` what happens.
pub async fn run_observed(mut cfg: Config, mut observers: events::Observers) -> u8 {
    // Secrets come from the pipeline root's `.env`, not the working directory's.
    crate::redact::set_pipeline_root(&cfg.root);
    if cfg.options.dry_run {
        return dry_run(cfg).await;
    }
    if let Some(refused) = unchecked_cleanup(&cfg) {
        eprintln!("auto-etl: {refused}");
        return exit::USAGE;
    }
    if let Err(e) = std::fs::create_dir_all(&cfg.report_dir) {
        eprintln!(
            "auto-etl: cannot create the report directory {}: {e}",
            cfg.report_dir.display()
        );
        return exit::USAGE;
    }
    let _lock = match lock::acquire(&cfg.report_dir) {
        Ok(l) => l,
        Err(e @ lock::LockError::Held { .. }) => {
            eprintln!("auto-etl: {e}");
            return exit::LOCKED;
        }
        Err(e) => {
            eprintln!("auto-etl: {e}");
            return exit::USAGE;
        }
    };
    // A lock we cannot even create (a read-only /tmp) must not stop the run.
    let _project_lock = match lock::acquire_project(&cfg.docker.project) {
        Ok(l) => Some(l),
        Err(e @ lock::LockError::Held { .. }) => {
            eprintln!("auto-etl: {e}");
            return exit::LOCKED;
        }
        Err(e) => {
            eprintln!("auto-etl: warning: running without the Docker project lock: {e}");
            None
        }
    };
    let engine_lock = match take_engine_lock(&cfg).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("auto-etl: {e}");
            return exit::LOCKED;
        }
    };
    let run_id = run_id::claim(&cfg.root, &cfg.report_dir);
    let agent_log = cfg.report_dir.join(format!("auto_cycle_{run_id}.log"));
    let json_log = cfg.options.log_format == OutputFormat::Json;
    if let Err(e) = crate::logging::init(
        cfg.options.debug,
        cfg.options.verbose,
        json_log,
        cfg.options.progress,
        Some(&agent_log),
    ) {
        eprintln!(
            "auto-etl: cannot write the agent log {}: {e}",
            agent_log.display()
        );
        if let Some(l) = engine_lock {
            l.release().await;
        }
        return exit::USAGE;
    }
    // Before anything of this run starts: what a killed run left running
    // here would fight it for ports, files and containers.
    let sweep_started = Instant::now();
    let swept = crate::orchestrator::leftovers::sweep(&cfg.report_dir).await;
    let sweep_ms = sweep_started.elapsed().as_millis() as u64;
    for s in &swept {
        tracing::warn!(
            "stopped {} process(es) left running by the killed run {} (groups {:?})",
            s.processes.len(),
            s.run_id,
            s.groups
        );
    }
    crate::orchestrator::leftovers::open(&cfg.report_dir, &run_id);
    let start = preflight::prepare(&mut cfg).await;
    if !start.blocking.is_empty() {
        for p in &start.blocking {
            eprintln!("auto-etl: pre-flight: {p}");
        }
        if let Some(l) = engine_lock {
            l.release().await;
        }
        return exit::USAGE;
    }
    // The run journal: every event, hash-chained, on disk as it happens.
    let journal = cfg.report_dir.join(crate::journal::file_name(&run_id));
    match crate::journal::JournalObserver::create(&journal) {
        Ok(j) => observers.add(Box::new(j)),
        Err(e) => tracing::warn!("cannot create the journal {}: {e}", journal.display()),
    }
    crate::orchestrator::procs::become_subreaper();
    let cancel = signals::listen();
    let mut recovery = RecoveryLog::default();
    for s in swept {
        recovery.record(
            "restart",
            serde_json::json!({"reason": "leftovers of a killed run", "run_id": s.run_id, "process_groups": s.groups, "processes_stopped": s.processes.len()}),
            sweep_ms,
            true,
        );
    }
    if start.risk.safe_mode {
        recovery.mitigate(
            "safe_mode",
            serde_json::json!({"risk_level": start.risk.risk_level, "no_push": true, "keep_named_volumes": true}),
        );
    }
    let health = HealthMonitor::start(health_config(&cfg, start.risk.safe_mode));
    let session = Session {
        run_id,
        cancel,
        docker: None,
        recovery,
        docker_breaker: CircuitBreaker::new(
            "docker",
            BreakerConfig {
                failure_threshold: 2,
                success_threshold: 1,
                open_timeout: Duration::from_secs(10),
            },
        ),
        push_breaker: services::push_breaker(),
        docker_lost: None,
        health: Some(health),
        health_restart: None,
        risk: start.risk,
        observers,
        recoveries_emitted: 0,
        started: Instant::now(),
        cfg,
    };
    let code = session.run(agent_log).await;
    // Every group the run started is stopped by now: nothing to sweep.
    crate::orchestrator::leftovers::close();
    if let Some(l) = engine_lock {
        l.release().await;
    }
    code
}

/// The Docker project's lock in its engine, so runs that share the engine
/// but not this machine's `/tmp` (other containers, other `TMPDIR`s) meet.
/// Err only when another run holds it; no engine, or an engine that fails
/// the request, leaves the file lock alone in charge (with a warning).
async fn take_engine_lock(
    cfg: &Config,
) -> Result<Option<engine_lock::EngineLock>, lock::LockError> {
    let Some(docker) = engine_lock::connect().await else {
        return Ok(None);
    };
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let holder = format!(
        "{} on {}, {}",
        std::process::id(),
        host.trim(),
        cfg.root.display()
    );
    match engine_lock::acquire(docker, &cfg.docker.project, &holder).await {
        Ok(l) => Ok(Some(l)),
        Err(e @ lock::LockError::Held { .. }) => Err(e),
        Err(e) => {
            eprintln!("auto-etl: warning: running without the Docker engine lock: {e}");
            Ok(None)
        }
    }
}

/// `--dry-run`: the plan and the pre-flight verdict, writing nothing (no
/// report directory, no lock, no agent log).
async fn dry_run(mut cfg: Config) -> u8 {
    let _ = crate::logging::init(cfg.options.debug, cfg.options.verbose, false, false, None);
    let start = preflight::prepare(&mut cfg).await;
    print!("{}", record::render_plan(&cfg));
    println!(
        "  risk: {} ({:.0})",
        start.risk.risk_level, start.risk.risk_score
    );
    for p in &start.blocking {
        println!("  pre-flight FAILED: {p}");
    }
    if start.blocking.is_empty() {
        exit::SUCCESS
    } else {
        exit::USAGE
    }
}

/// Why `[cleanup] paths` may not run: no checkpoint could bring back what
/// they delete (see `cleanup::unchecked_refusal`).
fn unchecked_cleanup(cfg: &Config) -> Option<String> {
    let in_work_tree = matches!(crate::cleanup::Tracked::from_git(&cfg.root), Ok(Some(_)));
    crate::cleanup::unchecked_refusal(
        &cfg.root,
        !cfg.cleanup_paths.is_empty() && !cfg.options.no_cleanup,
        in_work_tree,
        cfg.git.mode != config::CheckpointMode::Off,
        cfg.options.allow_unchecked_cleanup,
    )
}

fn health_config(cfg: &Config, safe_mode: bool) -> HealthConfig {
    let mut h = HealthConfig::new(&cfg.report_dir);
    h.safe_mode = safe_mode;
    let docker = cfg.docker.clone();
    h.docker_probe = Some(std::sync::Arc::new(move || {
        let docker = docker.clone();
        Box::pin(async move { docker.answers().await })
    }));
    h
}

impl Session {
    /// Tells every observer.
    pub(crate) fn emit(&mut self, event: events::Event) {
        self.observers.emit(event);
    }

    /// Tells the observers about recovery actions recorded since last time.
    fn emit_recoveries(&mut self) {
        let new: Vec<_> = self.recovery.actions[self.recoveries_emitted..].to_vec();
        self.recoveries_emitted = self.recovery.actions.len();
        for action in new {
            self.emit(events::Event::Recovery { action });
        }
    }

    /// The Docker client, connected on first use and again after it was lost.
    pub(crate) async fn docker(&mut self) -> Result<&Cleaner, DockerError> {
        if self.docker.is_none() {
            let scope = self.cfg.docker.scope();
            self.docker = Some(Cleaner::connect(scope, self.cfg.docker.stop_timeout).await?);
        }
        Ok(self.docker.as_ref().expect("connected above"))
    }

    /// A timeout clipped to what is left of `--max-elapsed` (at least
    /// `MIN_CLIPPED_TIMEOUT`).
    pub(crate) fn clip_to_budget(&self, timeout: Duration) -> Duration {
        match self.cfg.cycle.max_elapsed {
            Some(budget) => timeout.min(
                budget
                    .saturating_sub(self.started.elapsed())
                    .max(MIN_CLIPPED_TIMEOUT),
            ),
            None => timeout,
        }
    }

    /// Whether `--max-elapsed` leaves less than the shortest timeout
    /// `clip_to_budget` gives: nothing new should start then.
    pub(crate) fn budget_spent(&self) -> bool {
        self.cfg
            .cycle
            .max_elapsed
            .is_some_and(|b| b.saturating_sub(self.started.elapsed()) < MIN_CLIPPED_TIMEOUT)
    }

    fn initial_plan(&self) -> Plan {
        let timeouts: Vec<Duration> = self.cfg.steps.iter().map(|s| s.timeout).collect();
        Plan {
            iteration: 1,
            step_names: self.cfg.steps.iter().map(|s| s.name.clone()).collect(),
            step_timeouts: timeouts.clone(),
            base_timeouts: timeouts,
            service_wait: self.cfg.cycle.service_wait,
            cleanup_level: self.cfg.docker.level,
            recreate_schema: false,
            keep_named_volumes: crate::risk::applied(
                &self.cfg.steps,
                self.risk.safe_mode,
                &self.risk.risk_level,
            )
            .has(crate::risk::Action::KeepNamedVolumes),
        }
    }

    /// The loop. Returns the exit code after writing the report.
    async fn run(mut self, agent_log: std::path::PathBuf) -> u8 {
        let start_time = chrono::Utc::now();
        let max = self.cfg.cycle.max_iterations;
        self.emit(events::Event::RunStart {
            run_id: self.run_id.clone(),
            start_time: start_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            root: self.cfg.root.display().to_string(),
            max_iterations: max,
            steps: self.cfg.steps.iter().map(|s| s.name.clone()).collect(),
            risk: self.risk.clone(),
        });
        tracing::info!(
            "run {}: up to {max} iteration(s) in {}",
            self.run_id,
            self.cfg.root.display()
        );
        let mut plan = self.initial_plan();
        let mut cycles: Vec<CycleRecord> = Vec::new();
        let mut history: Vec<Vec<FailureClass>> = Vec::new();
        let mut previous: Option<PreviousIteration> = None;
        let mut last_checkpoint;
        // When the last iteration's red verdict came: the failure the next
        // iteration, a re-run the agent chose, answers.
        let mut failed_at: Option<Instant> = None;
        let outcome = loop {
            let iteration_start = Instant::now();
            self.emit(events::Event::IterationStart {
                iteration: plan.iteration,
            });
            self.revive_health();
            let pre_adjustment = self.check_disk(&mut plan).await;
            let result = self.iteration(&plan, previous.take()).await;
            if let Some(failed_at) = failed_at.take() {
                self.record_rerun(&plan, failed_at.elapsed(), result.verdict.success);
            }
            failed_at = (!result.verdict.success).then(Instant::now);
            self.mark_outcome(&result, plan.iteration).await;
            last_checkpoint = (plan.iteration, result.checkpoint.clone());
            let facts = Facts {
                matches: &result.scan.matches,
                timed_out: indices(&result.steps, crate::orchestrator::StepStatus::Timeout),
                failed: result
                    .steps
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| {
                        !matches!(
                            s.status,
                            crate::orchestrator::StepStatus::Success
                                | crate::orchestrator::StepStatus::Skipped
                        )
                    })
                    .map(|(i, _)| i)
                    .collect(),
                memory_pressure: self.health.as_ref().and_then(|h| {
                    crate::health::memory_pressure(&h.samples_since(iteration_start))
                }),
            };
            let decision = adjust::decide(&plan, &facts, &history);
            let success = result.verdict.success;
            let mut adjustments: Vec<String> = pre_adjustment.into_iter().collect();
            if !success {
                adjustments.extend(decision.adjustments.iter().cloned());
            }
            let mut cycle = record::cycle_record(&self.cfg, &plan, &result, adjustments);
            if let Some(sample) = self.health.as_ref().and_then(|h| h.latest()) {
                cycle.health = serde_json::to_value(sample).unwrap_or_default();
            }
            tracing::info!(
                "iteration {}: {}{}",
                plan.iteration,
                result.verdict.status,
                if success {
                    String::new()
                } else {
                    format!(" ({} error(s))", result.verdict.errors_count)
                }
            );
            for a in &cycle.adjustments {
                tracing::info!("iteration {}: adjust: {a}", plan.iteration);
            }
            history.push(adjust::classes_of(&result.scan.matches));
            previous = Some(PreviousIteration {
                status: result.verdict.status.to_string(),
                errors: result.verdict.errors.iter().take(5).cloned().collect(),
                adjustments: cycle.adjustments.clone(),
            });
            let mut stop = self.stop_after(&result.verdict, &decision, plan.iteration);
            let delay = self
                .cfg
                .cycle
                .backoff
                .delay(plan.iteration - 1, fastrand::f64());
            if let (None, Some(budget)) = (&stop, self.cfg.cycle.max_elapsed) {
                if self.started.elapsed() + delay >= budget {
                    stop = Some(Outcome::budget_spent(budget));
                }
            }
            if stop.is_none() {
                cycle.backoff_seconds = delay.as_secs_f64();
            }
            self.emit(events::Event::Classified {
                iteration: plan.iteration,
                log_file: cycle.log_file.clone(),
                matches: cycle.classified_errors.clone(),
            });
            for text in &cycle.adjustments {
                self.observers.emit(events::Event::Adjustment {
                    iteration: plan.iteration,
                    text: text.clone(),
                });
            }
            self.emit_recoveries();
            self.emit(events::Event::IterationEnd {
                cycle: Box::new(cycle.clone()),
            });
            cycles.push(cycle);
            if let Some(outcome) = stop {
                break outcome;
            }
            tracing::info!(
                "backing off {:.1}s before iteration {}",
                delay.as_secs_f64(),
                plan.iteration + 1
            );
            self.emit(events::Event::PhaseStart {
                iteration: plan.iteration,
                phase: events::Phase::Backoff {
                    seconds: delay.as_secs_f64(),
                },
            });
            let mut cancel = self.cancel.clone();
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = cancel.wait_for(|s| s.is_some()) => {}
            }
            if let Some(outcome) = self.interrupted_outcome() {
                break outcome;
            }
            plan = decision.next;
        };
        // A signal that came after the loop decided wins: the user asked to
        // stop, so the working tree is left as it is and the exit is 130/143.
        let outcome = settle(outcome, self.interrupted_outcome());
        // After the last iteration's outcome is marked: its checkpoint holds
        // the failing state the rollback is about to overwrite.
        if self.cfg.rollback && crate::checkpoint::rollback_wanted(outcome.status) {
            let (iteration, failing) = last_checkpoint;
            self.roll_back(iteration, failing).await;
        }
        // No restart right before finish(), which stops the task anyway.
        self.settle_health();
        let health = match self.health.take() {
            Some(h) => h.finish().await,
            None => crate::health::AutomationHealth::default(),
        };
        let risk = self.risk.clone();
        self.emit_recoveries();
        self.emit(events::Event::Verdict {
            status: outcome.status.into(),
            reason: outcome.reason.clone(),
            exit_code: outcome.code,
        });
        let report = record::build_report(
            &self, start_time, cycles, risk, health, &outcome, &agent_log,
        );
        let code = record::finish(&self.cfg, &report, outcome);
        self.emit(events::Event::RunEnd {
            report: Box::new(report),
        });
        self.observers.finish();
        code
    }

    /// Records the iteration's outcome against its checkpoint (git2 is
    /// blocking: off the async workers).
    async fn mark_outcome(&self, result: &iteration::IterationResult, iteration: u32) {
        let (root, record, run_id) = (
            self.cfg.root.clone(),
            result.checkpoint.clone(),
            self.run_id.clone(),
        );
        let success = result.verdict.success;
        let warning = tokio::task::spawn_blocking(move || {
            crate::checkpoint::mark_outcome(&root, &record, &run_id, iteration, success)
        })
        .await
        .ok()
        .flatten();
        if let Some(w) = warning {
            tracing::warn!("{w}");
        }
    }

    /// A critical disk before an iteration: clean deep now rather than fail.
    async fn check_disk(&mut self, plan: &mut Plan) -> Option<String> {
        let sample = self.health.as_ref()?.sample_now().await;
        if crate::health::disk_critical(&sample) {
            adjust::on_critical_disk(plan)
        } else {
            None
        }
    }

    fn interrupted_outcome(&self) -> Option<Outcome> {
        let signo = (*self.cancel.borrow())?;
        Some(Outcome {
            status: "interrupted",
            reason: format!("interrupted by signal {signo}"),
            code: signals::exit_code(signo),
        })
    }

    fn stop_after(
        &self,
        verdict: &verify::Verdict,
        decision: &adjust::Decision,
        iteration: u32,
    ) -> Option<Outcome> {
        if let Some(o) = self.interrupted_outcome() {
            return Some(o);
        }
        if verdict.success {
            return Some(Outcome {
                status: "success",
                reason: format!("green at iteration {iteration}"),
                code: exit::SUCCESS,
            });
        }
        if let Some(why) = &decision.stop {
            return Some(Outcome {
                status: "non_retryable",
                reason: why.clone(),
                code: exit::NON_RETRYABLE,
            });
        }
        if iteration >= self.cfg.cycle.max_iterations {
            return Some(Outcome {
                status: "failed",
                reason: format!("still failing after {iteration} iteration(s) (max-iterations)"),
                code: exit::STILL_FAILING,
            });
        }
        if let Some(budget) = self.cfg.cycle.max_elapsed {
            if self.started.elapsed() >= budget {
                return Some(Outcome::budget_spent(budget));
            }
        }
        None
    }
}

fn indices(
    steps: &[crate::orchestrator::StepOutcome],
    status: crate::orchestrator::StepStatus,
) -> Vec<usize> {
    steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.status == status)
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod settle_tests {
    use super::*;

    fn outcome(status: &'static str, code: u8) -> Outcome {
        Outcome {
            status,
            reason: format!("{status} reason"),
            code,
        }
    }

    #[test]
    fn a_signal_after_a_red_verdict_skips_the_rollback_and_exits_130() {
        let sigint = outcome("interrupted", signals::exit_code(libc::SIGINT));
        let sigterm = outcome("interrupted", signals::exit_code(libc::SIGTERM));
        for decided in [outcome("failed", 1), outcome("non_retryable", 3)] {
            assert!(crate::checkpoint::rollback_wanted(decided.status));
            let got = settle(decided.clone(), Some(sigint.clone()));
            assert_eq!((got.status, got.code), ("interrupted", 130));
            assert!(got.reason.contains(&decided.reason), "{}", got.reason);
            assert!(!crate::checkpoint::rollback_wanted(got.status));
            assert_eq!(settle(decided.clone(), Some(sigterm.clone())).code, 143);
            assert_eq!(settle(decided.clone(), None), decided);
        }
        assert_eq!(settle(sigint.clone(), Some(sigint.clone())), sigint);
    }
}
