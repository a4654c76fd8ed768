//! One iteration: checkpoint → cleanup → run the steps → verify.

use super::events::{Event, Phase};
use super::verify::{self, Evidence, ExpectedFile, Verdict};
use super::Session;
use crate::adjust::Plan;
use crate::checkpoint::{self, CheckpointContext, CheckpointRecord, PreviousIteration};
use crate::classify::{ScanReport, Scanner};
use crate::config::CheckpointMode;
use crate::docker::{CleanupOptions, DockerCleanup, DockerError, Unfinished};
use crate::orchestrator::{IterationRunner, StepOutcome, StepRun, StepStatus};
use crate::readiness::{self, Target};
use crate::recovery::{retry_if, with_timeout, RetryPolicy};
use crate::report::{CleanupRecord, Validation};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What one iteration produced.
pub struct IterationResult {
    pub started: Instant,
    pub log_file: PathBuf,
    pub checkpoint: CheckpointRecord,
    pub cleanup: CleanupRecord,
    pub steps: Vec<StepOutcome>,
    pub scan: ScanReport,
    pub verdict: Verdict,
    pub rows: Vec<(usize, u64)>,
}

impl Session {
    /// Runs iteration `plan.iteration`.
    pub(super) async fn iteration(
        &mut self,
        plan: &Plan,
        previous: Option<PreviousIteration>,
    ) -> IterationResult {
        let started = Instant::now();
        let it = plan.iteration;
        self.emit(Event::PhaseStart {
            iteration: it,
            phase: Phase::Checkpoint,
        });
        let checkpoint = self.checkpoint(plan, previous).await;
        let level = plan.cleanup_level.as_str().to_string();
        self.emit(Event::PhaseStart {
            iteration: it,
            phase: Phase::Cleanup { level },
        });
        let checkpointed = checkpoint.commit.is_some();
        let cleanup = self.cleanup(plan, checkpointed).await;
        let stamp = chrono::Local::now().format("%Y%m%d_%H%M%S");
        let log_file = self.cfg.report_dir.join(format!(
            "orchestrator_iteration_{}_{stamp}.log",
            plan.iteration
        ));
        let scanner = Scanner::new(self.cfg.rules.clone(), self.cfg.markers.clone());
        let runner = IterationRunner::start(
            &self.cfg.root,
            &log_file,
            scanner,
            self.cfg.options.debug,
            self.cfg.cycle.stop_grace,
            self.cancel.clone(),
        );
        let mut runner = match runner {
            Ok(r) => r,
            Err(e) => {
                let message = format!("cannot open the iteration log {}: {e}", log_file.display());
                return self.broken_iteration(started, log_file, checkpoint, cleanup, message);
            }
        };
        tracing::info!(
            "iteration {}: running {} step(s), log {}",
            plan.iteration,
            self.cfg.steps.len(),
            log_file.display()
        );
        let steps_started = std::time::SystemTime::now();
        let steps = self.run_steps(&mut runner, plan).await;
        let all_ok = steps.iter().all(|s| s.status == StepStatus::Success);
        self.emit(Event::PhaseStart {
            iteration: it,
            phase: Phase::Verify,
        });
        let expected = self.expected_files(steps_started);
        let validator = match (self.cfg.verify.validator.clone(), all_ok) {
            (Some(cmd), true) => Some(self.run_validator(&mut runner, &cmd, plan).await),
            _ => None,
        };
        let output = runner.finish().await;
        if output.orphans_killed > 0 {
            tracing::info!(
                "killed {} process(es) left behind by the steps",
                output.orphans_killed
            );
        }
        let agent_errors: Vec<String> = output.io_error.into_iter().collect();
        let interrupted = self.cancel.borrow().is_some();
        let verdict = verify::judge(&Evidence {
            steps: &steps,
            scan: &output.scan,
            success_markers: &self.cfg.markers.success,
            expected_files: &expected,
            validator,
            interrupted,
            agent_errors: &agent_errors,
        });
        IterationResult {
            started,
            log_file,
            checkpoint,
            cleanup,
            steps,
            scan: output.scan,
            verdict,
            rows: output.rows,
        }
    }

    fn broken_iteration(
        &self,
        started: Instant,
        log_file: PathBuf,
        checkpoint: CheckpointRecord,
        cleanup: CleanupRecord,
        message: String,
    ) -> IterationResult {
        let scan = ScanReport::default();
        let verdict = verify::judge(&Evidence {
            steps: &[],
            scan: &scan,
            success_markers: &[],
            expected_files: &[],
            validator: None,
            interrupted: false,
            agent_errors: std::slice::from_ref(&message),
        });
        IterationResult {
            started,
            log_file,
            checkpoint,
            cleanup,
            steps: Vec::new(),
            scan,
            verdict,
            rows: Vec::new(),
        }
    }

    async fn checkpoint(
        &mut self,
        plan: &Plan,
        previous: Option<PreviousIteration>,
    ) -> CheckpointRecord {
        let git = self.cfg.git.clone();
        if git.mode == CheckpointMode::Off {
            return CheckpointRecord::skipped(git.mode, "checkpoints are off");
        }
        let ctx = CheckpointContext {
            run_id: self.run_id.clone(),
            iteration: plan.iteration,
            previous,
        };
        let (root, report_dir) = (self.cfg.root.clone(), self.cfg.report_dir.clone());
        let mut record = tokio::task::spawn_blocking(move || {
            checkpoint::checkpoint(&root, &git, &report_dir, &ctx)
        })
        .await
        .unwrap_or_else(|e| {
            CheckpointRecord::skipped(self.cfg.git.mode, format!("checkpoint task failed: {e}"))
        });
        if self.cfg.git.push && record.commit.is_some() {
            self.push_checkpoint(&mut record).await;
        }
        match (&record.commit, &record.skipped_reason) {
            (Some(c), _) => tracing::info!("iteration {}: checkpoint {c}", plan.iteration),
            (None, Some(why)) => {
                tracing::warn!("iteration {}: checkpoint skipped: {why}", plan.iteration)
            }
            _ => {}
        }
        record
    }

    /// The `[cleanup] paths` half, off the async threads (a big tree takes
    /// a while) and stopped by a signal between any two entries.
    async fn file_cleanup(&self) -> crate::cleanup::FileCleanup {
        let root = self.cfg.root.clone();
        let patterns = self.cfg.cleanup_paths.clone();
        // The lock and the journal live in the report directory.
        let protect = [self.cfg.report_dir.clone(), root.join(".git")];
        let cancel = self.cancel.clone();
        let task = tokio::task::spawn_blocking(move || {
            let cancelled = move || cancel.borrow().is_some();
            crate::cleanup::remove_generated(&crate::cleanup::PathCleanup {
                root: &root,
                patterns: &patterns,
                protect: &protect,
                dry_run: false,
                cancelled: &cancelled,
                limits: crate::cleanup::Limits::default(),
            })
        });
        task.await.unwrap_or_else(|e| crate::cleanup::FileCleanup {
            removed: Vec::new(),
            warnings: vec![format!("file cleanup task failed: {e}")],
        })
    }

    async fn cleanup(&mut self, plan: &Plan, checkpointed: bool) -> CleanupRecord {
        let started = Instant::now();
        let level = plan.cleanup_level;
        let mut record = CleanupRecord {
            level: level.as_str().into(),
            ..CleanupRecord::default()
        };
        if self.cfg.options.no_cleanup {
            record.skipped_reason = Some("cleanup disabled by --no-cleanup".into());
            return record;
        }
        if level.removes_files() && !self.cfg.cleanup_paths.is_empty() {
            if checkpointed || self.cfg.options.allow_unchecked_cleanup {
                let files = self.file_cleanup().await;
                record.files = files.removed.len() as u32;
                record.warnings.extend(files.warnings);
            } else {
                record.warnings.push(
                    "file cleanup skipped: no checkpoint was taken this iteration \
                     (--allow-unchecked-cleanup deletes anyway)"
                        .into(),
                );
            }
        }
        let opts = CleanupOptions {
            dry_run: false,
            keep_named_volumes: plan.keep_named_volumes,
        };
        let docker = match self.docker_cleanup(level, opts).await {
            Ok(d) => d,
            Err((reason, done)) => {
                record.skipped_reason = Some(reason);
                done
            }
        };
        record.containers = docker.containers;
        record.networks = docker.networks;
        record.volumes = docker.volumes;
        record.images = docker.images;
        record.warnings.extend(docker.errors);
        record.duration_ms = started.elapsed().as_millis() as u64;
        tracing::info!(
            "iteration {}: cleanup {level}: {} container(s), {} network(s), {} volume(s), {} image(s), {} file(s){}",
            plan.iteration,
            record.containers,
            record.networks,
            record.volumes,
            record.images,
            record.files,
            record.skipped_reason.as_ref().map(|r| format!("; docker skipped: {r}")).unwrap_or_default()
        );
        record
    }

    /// The Docker half of cleanup; `Err` is why it was skipped or stopped,
    /// with what was removed before. Goes through the Docker circuit breaker:
    /// while it is open, Docker is skipped at once; each failure that skips
    /// Docker (an outage, or an engine answering with an error) is recorded
    /// as a `fallback`. A signal stops it at once, whatever the daemon does.
    async fn docker_cleanup(
        &mut self,
        level: crate::cleanup::CleanupLevel,
        opts: CleanupOptions,
    ) -> Result<DockerCleanup, (String, DockerCleanup)> {
        if !self.docker_breaker.allow() {
            let why = "docker circuit open after repeated outages: skipped until the next trial";
            return Err((why.into(), DockerCleanup::default()));
        }
        let started = Instant::now();
        let mut cancel = self.cancel.clone();
        let result = tokio::select! {
            r = self.docker_cleanup_counted(level, opts) => r,
            _ = cancel.wait_for(|s| s.is_some()) => {
                self.docker = None;
                let why = "docker cleanup interrupted by a signal";
                return Err((why.into(), DockerCleanup::default()));
            }
        };
        let unfinished = match result {
            Ok(done) => {
                self.docker_breaker.on_success();
                // A new client made it through after an outage: the trial the
                // breaker let through restarted the Docker side.
                if let Some(why) = self.docker_lost.take_if(|_| self.docker.is_some()) {
                    let after = format!("docker outage: {why}");
                    let took = started.elapsed().as_millis() as u64;
                    self.record_restart("docker client", &after, took);
                }
                return Ok(done);
            }
            Err(u) => u,
        };
        let Unfinished { done, error } = *unfinished;
        let why = error.to_string();
        if matches!(error, DockerError::Unreachable(_)) {
            self.docker = None;
            self.docker_lost = Some(why.clone());
        }
        self.docker_breaker.on_failure();
        self.recovery.record(
            "fallback",
            serde_json::json!({
                "operation": "docker cleanup",
                "fallback": "skip docker, clean files only",
                "error": why,
                "removed_before": done.removed.len(),
                "breaker": format!("{:?}", self.docker_breaker.state()),
            }),
            started.elapsed().as_millis() as u64,
            true,
        );
        Err((why, done))
    }

    async fn docker_cleanup_counted(
        &mut self,
        level: crate::cleanup::CleanupLevel,
        opts: CleanupOptions,
    ) -> Result<DockerCleanup, Box<Unfinished>> {
        let unfinished = |error| {
            Box::new(Unfinished {
                done: DockerCleanup::default(),
                error,
            })
        };
        match self.docker().await {
            Ok(cleaner) => cleaner.cleanup_counted(level, opts).await,
            Err(e) => Err(unfinished(e)),
        }
    }

    async fn run_steps(&mut self, runner: &mut IterationRunner, plan: &Plan) -> Vec<StepOutcome> {
        // The validator runs as the last numbered step: count it, so the
        // log does not say 1/1 and then (2/2).
        let total = self.cfg.steps.len() + usize::from(self.cfg.verify.validator.is_some());
        let mut outcomes = Vec::with_capacity(total);
        let steps = self.cfg.steps.clone();
        for (index, step) in steps.iter().enumerate() {
            let failed_before = outcomes
                .iter()
                .any(|o: &StepOutcome| o.status != StepStatus::Success);
            if failed_before {
                outcomes.push(StepOutcome {
                    name: step.name.clone(),
                    status: StepStatus::Skipped,
                    exit_code: None,
                    duration: Duration::ZERO,
                    waited: Duration::ZERO,
                    metrics: Default::default(),
                });
                continue;
            }
            let waited = match self
                .wait_ready(runner, index, &step.wait_for, plan.service_wait)
                .await
            {
                Ok(w) => w,
                Err(outcome) => {
                    outcomes.push(outcome.named(&step.name));
                    continue;
                }
            };
            let env = self.step_env(plan, index);
            self.emit(Event::PhaseStart {
                iteration: plan.iteration,
                phase: Phase::Step {
                    index,
                    total,
                    name: step.name.clone(),
                },
            });
            tracing::info!(
                "iteration {}: step {}/{total} {}",
                plan.iteration,
                index + 1,
                step.name
            );
            let mut outcome = runner
                .run(StepRun {
                    index,
                    total,
                    name: &step.name,
                    command: &step.run,
                    timeout: self.clip_to_budget(plan.step_timeouts[index]),
                    env: &env,
                    classify_timeout: true,
                })
                .await;
            outcome.waited = waited;
            self.emit(Event::StepEnd {
                iteration: plan.iteration,
                index,
                name: step.name.clone(),
                status: outcome.status.as_str().into(),
                exit_code: outcome.exit_code,
                duration_ms: outcome.duration.as_millis() as u64,
            });
            tracing::info!(
                "iteration {}: step {} {} (exit {}) in {:.1}s",
                plan.iteration,
                step.name,
                outcome.status.as_str(),
                outcome
                    .exit_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                outcome.duration.as_secs_f64()
            );
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Waits for a step's readiness targets; a target that never comes up is
    /// written to the log in words the classifier reads as connection_refused.
    async fn wait_ready(
        &mut self,
        runner: &IterationRunner,
        index: usize,
        targets: &[String],
        budget: Duration,
    ) -> Result<Duration, StepOutcome> {
        if targets.is_empty() {
            return Ok(Duration::ZERO);
        }
        let parsed: Vec<Target> = targets
            .iter()
            .filter_map(|t| Target::parse(t).ok())
            .collect();
        let needs_docker = parsed.iter().any(|t| matches!(t, Target::Container { .. }));
        let budget = self.clip_to_budget(budget);
        let mut cancel = self.cancel.clone();
        let docker = if needs_docker {
            self.docker().await.ok()
        } else {
            None
        };
        let started = Instant::now();
        let waited = tokio::select! {
            w = readiness::wait_all(&parsed, docker, budget) => w,
            _ = cancel.wait_for(|s| s.is_some()) => Err("interrupted while waiting".into()),
        };
        match waited {
            Ok(waited) => Ok(waited),
            Err(why) => {
                runner
                    .note(
                        index,
                        &format!("auto-etl: service not ready: {why} (connection refused)"),
                    )
                    .await;
                Err(StepOutcome {
                    name: String::new(),
                    status: StepStatus::Failed,
                    exit_code: None,
                    duration: started.elapsed(),
                    waited: started.elapsed(),
                    metrics: Default::default(),
                })
            }
        }
    }

    /// Runs the validator under the recovery blocks: bounded by
    /// `with_timeout` (past its own timeout and the stop grace, in case the
    /// runner itself hangs), and once more when it could not run at all or
    /// hung. A validator that ran and said red is never run again: its
    /// verdict stands.
    async fn run_validator(
        &mut self,
        runner: &mut IterationRunner,
        cmd: &str,
        plan: &Plan,
    ) -> Validation {
        let total = self.cfg.steps.len();
        let runner = tokio::sync::Mutex::new(runner);
        let failures = std::sync::Mutex::new(Vec::<String>::new());
        let this = &*self;
        let out = retry_if(
            &validator_policy(),
            |attempt| {
                let (runner, failures) = (&runner, &failures);
                // Clipped per attempt: a retry gets what is left of
                // --max-elapsed, not the first attempt's full timeout.
                let timeout = this.clip_to_budget(this.cfg.verify.validator_timeout);
                let mut env = this.step_env(plan, 0);
                for (k, v) in env.iter_mut() {
                    if k == "AUTO_ETL_STEP_TIMEOUT_SECS" {
                        *v = timeout.as_secs().to_string();
                    }
                }
                let guard = timeout + this.cfg.cycle.stop_grace + VALIDATOR_GUARD;
                async move {
                    let run = StepRun {
                        index: total,
                        total: total + 1,
                        name: "validator",
                        command: cmd,
                        timeout,
                        env: &env,
                        classify_timeout: attempt >= VALIDATOR_ATTEMPTS,
                    };
                    let mut runner = runner.lock().await;
                    if attempt > 1 {
                        // The attempt set aside says nothing about the
                        // pipeline: what it printed before it hung (or the
                        // note that it could not start) must not make a
                        // green retry red.
                        runner.discard(runner.last_run()).await;
                    }
                    let (outcome, runner_hung) =
                        match with_timeout(guard, "validator", runner.run(run)).await {
                            Ok(o) => (o, false),
                            Err(_) => (StepOutcome::hung("validator", guard), true),
                        };
                    match could_not_run(&outcome) {
                        Some(why) => {
                            let why = if runner_hung {
                                tracing::warn!("validator runner did not return within {}s; not retried", guard.as_secs());
                                format!("{why}: the runner did not return, so it is not run again while it may still be running")
                            } else {
                                why
                            };
                            if let Ok(mut f) = failures.lock() {
                                f.push(why);
                            }
                            Err(NoVerdict {
                                outcome,
                                runner_hung,
                            })
                        }
                        None => Ok(outcome),
                    }
                }
            },
            |f| f.retryable() && !this.budget_spent(),
        )
        .await;
        let (attempts, first_failure) = (out.attempts, out.first_failure);
        let outcome = out.result.unwrap_or_else(|f| f.outcome);
        let validation = validation_of(cmd, &outcome);
        let failures = failures.into_inner().unwrap_or_default();
        self.record_retry(
            "validator",
            attempts,
            serde_json::json!({
                "command": cmd,
                "reason": failures.first(),
                "result": validation.detail,
            }),
            first_failure,
            validation.passed,
        );
        validation
    }

    /// The plan's variables plus the Docker project, so that `docker-compose`
    /// and `docker run --label` in a step land in the scope cleanup owns.
    fn step_env(&self, plan: &Plan, index: usize) -> Vec<(String, String)> {
        let mut env = plan.env(index);
        env.push((
            "COMPOSE_PROJECT_NAME".into(),
            self.cfg.docker.project.clone(),
        ));
        env.push(("AUTO_ETL_PROJECT".into(), self.cfg.docker.project.clone()));
        env
    }

    /// Each expected-file pattern with the files it matches, split into
    /// those written during this iteration and stale ones left from before
    /// (which must not make a run green).
    fn expected_files(&self, since: std::time::SystemTime) -> Vec<ExpectedFile> {
        // File times come from a coarse kernel clock that can lag the wall
        // clock by a tick; allow for that, not for a previous iteration.
        let since = since - Duration::from_millis(50);
        self.cfg
            .verify
            .expected_files
            .iter()
            .map(|pattern| {
                let full = self.cfg.root.join(pattern);
                let mut file = ExpectedFile {
                    pattern: pattern.clone(),
                    ..ExpectedFile::default()
                };
                let paths = glob::glob_with(&full.to_string_lossy(), crate::cleanup::shell_like());
                for p in paths.into_iter().flatten().flatten() {
                    let Ok(meta) = p.metadata() else { continue };
                    if !meta.is_file() {
                        continue;
                    }
                    let shown = p
                        .strip_prefix(&self.cfg.root)
                        .unwrap_or(&p)
                        .display()
                        .to_string();
                    match meta.modified() {
                        Ok(t) if t >= since => file.fresh.push(shown),
                        _ => file.stale.push(shown),
                    }
                }
                file
            })
            .collect()
    }
}

/// Attempts of the validator, the first included.
const VALIDATOR_ATTEMPTS: u32 = 2;
/// Slack past the validator's timeout and stop grace before the agent stops
/// waiting on the runner itself.
const VALIDATOR_GUARD: Duration = Duration::from_secs(5);

/// One retry, shortly after the failed attempt.
fn validator_policy() -> RetryPolicy {
    RetryPolicy::fixed(Duration::from_millis(200), VALIDATOR_ATTEMPTS)
}

/// A validator attempt that said nothing about the pipeline.
struct NoVerdict {
    outcome: StepOutcome,
    /// The runner itself did not return within the guard: it was dropped
    /// before it could terminate the validator's process group, so that
    /// copy may still be running (it is only stopped when the iteration
    /// ends).
    runner_hung: bool,
}

impl NoVerdict {
    /// A retry must not run beside a copy that may still be running: only
    /// a spawn failure or the runner's own timeout (which terminated the
    /// group before returning) is retried.
    fn retryable(&self) -> bool {
        !self.runner_hung
    }
}

/// Why a validator attempt says nothing about the pipeline (it could not be
/// started, or hung past its timeout), or `None` when it ran to a verdict.
fn could_not_run(o: &StepOutcome) -> Option<String> {
    match (o.status, o.exit_code) {
        (StepStatus::Timeout, _) => {
            Some(format!("timed out after {:.1}s", o.duration.as_secs_f64()))
        }
        (StepStatus::Failed, None) => Some("could not be started".into()),
        _ => None,
    }
}

/// The validator's check from its last attempt.
fn validation_of(cmd: &str, outcome: &StepOutcome) -> Validation {
    Validation {
        name: "validator".into(),
        passed: outcome.status == StepStatus::Success,
        detail: match (outcome.status, outcome.exit_code) {
            (StepStatus::Success, _) => format!("`{cmd}` exited 0"),
            (StepStatus::Timeout, _) => format!("`{cmd}` timed out"),
            (_, Some(code)) => format!("`{cmd}` exited with {code}"),
            _ => format!("`{cmd}` could not be run"),
        },
    }
}

impl StepOutcome {
    fn named(mut self, name: &str) -> StepOutcome {
        self.name = name.to_string();
        self
    }

    /// A step the agent gave up waiting for.
    fn hung(name: &str, after: Duration) -> StepOutcome {
        StepOutcome {
            name: name.to_string(),
            status: StepStatus::Timeout,
            exit_code: None,
            duration: after,
            waited: Duration::ZERO,
            metrics: Default::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: StepStatus, exit_code: Option<i32>) -> StepOutcome {
        StepOutcome {
            exit_code,
            status,
            ..StepOutcome::hung("validator", Duration::from_secs(3))
        }
    }

    #[test]
    fn only_a_validator_that_could_not_run_is_retried() {
        use StepStatus::*;
        // (status, exit code, retried)
        let table = [
            (Success, Some(0), false),
            (Failed, Some(1), false),   // a red verdict stays red
            (Failed, Some(127), false), // the shell ran and said so
            (Failed, Some(137), false),
            (Interrupted, None, false),
            (Timeout, None, true),
            (Timeout, Some(143), true),
            (Failed, None, true), // spawn failure
        ];
        for (status, code, want) in table {
            let got = could_not_run(&outcome(status, code));
            assert_eq!(got.is_some(), want, "{status:?} {code:?}: {got:?}");
        }
        assert_eq!(validator_policy().max_attempts, 2);
    }

    #[test]
    fn a_validator_whose_runner_hung_past_the_guard_is_not_run_again() {
        let timed_out = NoVerdict {
            outcome: outcome(StepStatus::Timeout, Some(143)),
            runner_hung: false,
        };
        assert!(timed_out.retryable());
        let not_started = NoVerdict {
            outcome: outcome(StepStatus::Failed, None),
            runner_hung: false,
        };
        assert!(not_started.retryable());
        let hung = NoVerdict {
            outcome: StepOutcome::hung("validator", Duration::from_secs(9)),
            runner_hung: true,
        };
        assert!(could_not_run(&hung.outcome).is_some());
        assert!(!hung.retryable());
    }

    #[test]
    fn the_validation_comes_from_the_last_attempt() {
        let v = validation_of("v.sh", &outcome(StepStatus::Failed, Some(3)));
        assert!(!v.passed);
        assert_eq!(v.detail, "`v.sh` exited with 3");
        let v = validation_of("v.sh", &outcome(StepStatus::Timeout, None));
        assert_eq!(v.detail, "`v.sh` timed out");
    }
}
