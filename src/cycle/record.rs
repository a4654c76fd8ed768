//! Turning a run into its report: cycle records, the session report, the
//! run id, pre-flight checks and the final output.

use super::iteration::IterationResult;
use super::{Outcome, Session};
use crate::adjust::Plan;
use crate::cli::OutputFormat;
use crate::config::Config;
use crate::exit;
use crate::report::{self, CycleRecord, PlanRecord, Report, ReportFiles, StepRecord};
use std::path::Path;

/// What `--dry-run` prints.
pub fn render_plan(cfg: &Config) -> String {
    let mut out = String::new();
    out.push_str(&format!("auto-etl plan for {}\n", cfg.root.display()));
    out.push_str(&format!(
        "  up to {} iteration(s){}; service wait {}; cleanup {}; checkpoints {}\n",
        cfg.cycle.max_iterations,
        cfg.cycle
            .max_elapsed
            .map(|d| format!(" within {}", crate::config::duration::format(d)))
            .unwrap_or_default(),
        crate::config::duration::format(cfg.cycle.service_wait),
        cfg.docker.level,
        cfg.git.mode.as_str()
    ));
    for (i, s) in cfg.steps.iter().enumerate() {
        out.push_str(&format!(
            "  step {}: {} (timeout {}): {}\n",
            i + 1,
            s.name,
            crate::config::duration::format(s.timeout),
            s.run
        ));
    }
    if let Some(v) = &cfg.verify.validator {
        out.push_str(&format!("  validator: {v}\n"));
    }
    out.push_str(&format!("  reports in {}\n", cfg.report_dir.display()));
    out
}

/// The report entry of one iteration.
pub fn cycle_record(
    cfg: &Config,
    plan: &Plan,
    r: &IterationResult,
    adjustments: Vec<String>,
) -> CycleRecord {
    let steps: Vec<StepRecord> = r
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut metrics = s.metrics.clone();
            metrics.rows = r.rows.iter().find(|(step, _)| *step == i).map(|(_, n)| *n);
            StepRecord {
                name: s.name.clone(),
                status: s.status.as_str().into(),
                exit_code: s.exit_code,
                duration_ms: s.duration.as_millis() as u64,
                waited_ms: s.waited.as_millis() as u64,
                performance_metrics: metrics,
            }
        })
        .collect();
    let exit_code = r
        .steps
        .iter()
        .rev()
        .find(|s| s.exit_code.is_some())
        .and_then(|s| s.exit_code);
    CycleRecord {
        iteration: plan.iteration,
        status: r.verdict.status.into(),
        success: r.verdict.success,
        duration_seconds: r.started.elapsed().as_secs_f64(),
        errors_count: r.verdict.errors_count,
        errors: r.verdict.errors.clone(),
        adjustments_count: adjustments.len(),
        adjustments,
        exit_code,
        log_file: display_rel(cfg, &r.log_file),
        plan: PlanRecord {
            service_wait_seconds: plan.service_wait.as_secs_f64(),
            cleanup_level: plan.cleanup_level.as_str().into(),
            recreate_schema: plan.recreate_schema,
            step_timeouts_seconds: plan.step_timeouts.iter().map(|d| d.as_secs_f64()).collect(),
        },
        checkpoint: r.checkpoint.to_value(),
        cleanup: r.cleanup.clone(),
        classified_errors: r.scan.matches.clone(),
        classified_total: r.scan.total_matches,
        validations: r.verdict.validations.clone(),
        steps,
        backoff_seconds: 0.0,
        health: serde_json::Value::Null,
    }
}

fn display_rel(cfg: &Config, path: &Path) -> String {
    path.strip_prefix(&cfg.root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Assembles the session report.
pub fn build_report(
    session: &Session,
    start_time: chrono::DateTime<chrono::Utc>,
    cycles: Vec<CycleRecord>,
    risk: crate::risk::RiskAssessment,
    health: crate::health::AutomationHealth,
    outcome: &Outcome,
    agent_log: &Path,
) -> Report {
    let end_time = chrono::Utc::now();
    let cfg = &session.cfg;
    let report_path = cfg
        .report_dir
        .join(format!("auto_cycle_report_{}.json", session.run_id));
    let performance_metrics = performance(&cycles, session.started.elapsed().as_millis() as u64);
    Report {
        schema_version: report::SCHEMA_VERSION,
        execution_id: session.run_id.clone(),
        start_time: start_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end_time: end_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        total_duration_seconds: session.started.elapsed().as_secs_f64(),
        max_iterations: cfg.cycle.max_iterations,
        iterations_executed: cycles.len() as u32,
        overall_success: outcome.status == "success" && cycles.last().is_some_and(|c| c.success),
        status: outcome.status.into(),
        stop_reason: outcome.reason.clone(),
        cycles,
        risk_assessment: risk,
        performance_metrics,
        recovery_actions: session.recovery.actions.clone(),
        recovery_summary: session.recovery.summary(),
        automation_health: health,
        files: ReportFiles {
            report: display_rel(cfg, &report_path),
            agent_log: display_rel(cfg, agent_log),
            junit: cfg.junit.as_ref().map(|j| display_rel(cfg, j)),
        },
    }
}

/// The session's performance figures from its cycles' step records.
pub fn performance(cycles: &[CycleRecord], total_ms: u64) -> crate::metrics::PerformanceMetrics {
    let runs: Vec<(String, bool, crate::metrics::StepMetrics)> = cycles
        .iter()
        .flat_map(|c| &c.steps)
        .filter(|s| s.status != "skipped")
        .map(|s| {
            (
                s.name.clone(),
                s.status == "success",
                s.performance_metrics.clone(),
            )
        })
        .collect();
    crate::metrics::summarize(&runs, total_ms)
}

/// Writes the report (and its renderings), prints the summary, and returns
/// the exit code. A report that cannot be written turns any result into a
/// failure: CI must not read green from a run it cannot inspect.
pub fn finish(cfg: &Config, report: &Report, outcome: Outcome) -> u8 {
    // Everything written or printed from here on comes from the masked copy.
    let redacted = crate::redact::global().redact_serde(report);
    let report = &redacted;
    let path = cfg.root.join(&report.files.report);
    if let Err(e) = report::write::write_json(&path, report) {
        eprintln!("auto-etl: cannot write the report {}: {e}", path.display());
        return if outcome.code == exit::SUCCESS {
            exit::STILL_FAILING
        } else {
            outcome.code
        };
    }
    let text = match cfg.options.format {
        OutputFormat::Json => match serde_json::to_string_pretty(report) {
            Ok(text) => text + "\n",
            Err(e) => {
                eprintln!("auto-etl: cannot print the report: {e}");
                String::new()
            }
        },
        OutputFormat::Text => report::render::summary(report, &path),
    };
    // A reader that left (`| head`) changes nothing: the report is on disk
    // and the exit code still says how the run went.
    let _ = exit::write_stdout(text.as_bytes());
    outcome.code
}
