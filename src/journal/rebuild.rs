//! `auto-etl report --from-journal`: the report of a run that never wrote
//! one (killed with SIGKILL, machine lost), rebuilt from its journal.

use super::verify::{read, Problem};
use crate::cycle::events::Event;
use crate::recovery::{RecoveryAction, RecoveryLog};
use crate::report::{CycleRecord, Report, ReportFiles};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// A report rebuilt from a journal.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub report: Report,
    /// The run's own report (it reached `run_end`), not a reconstruction.
    pub complete: bool,
    /// What cut the journal short, if anything; the report holds what came before.
    pub problem: Option<Problem>,
    /// Lines whose event this agent does not know (a newer agent wrote them).
    pub unknown_events: usize,
}

/// Rebuilds the report from the journal's bytes. `journal` names the file
/// (the report's paths sit beside it); `last_write` is when it was last
/// written, the best guess of when the run ended.
pub fn rebuild(
    bytes: &[u8],
    journal: &Path,
    last_write: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Rebuilt, String> {
    let read = read(bytes);
    let mut start: Option<(String, String, u32, crate::risk::RiskAssessment)> = None;
    let mut cycles: Vec<CycleRecord> = Vec::new();
    let mut recoveries: Vec<RecoveryAction> = Vec::new();
    let mut verdict: Option<(String, String)> = None;
    let mut unknown_events = 0;
    for entry in read.entries {
        let Ok(event) = serde_json::from_value::<Event>(entry.event) else {
            unknown_events += 1;
            continue;
        };
        match event {
            Event::RunStart {
                run_id,
                start_time,
                max_iterations,
                risk,
                ..
            } => start = Some((run_id, start_time, max_iterations, risk)),
            Event::IterationEnd { cycle } => cycles.push(*cycle),
            Event::Recovery { action } => recoveries.push(action),
            Event::Verdict { status, reason, .. } => verdict = Some((status, reason)),
            Event::RunEnd { report } => {
                return Ok(Rebuilt {
                    report: *report,
                    complete: true,
                    problem: read.problem,
                    unknown_events,
                })
            }
            _ => {}
        }
    }
    let Some((run_id, start_time, max_iterations, risk)) = start else {
        return Err(match read.problem {
            Some(p) => format!("no run_start event before the journal breaks: {p}"),
            None => "no run_start event: not an auto-etl run journal".into(),
        });
    };
    let started = chrono::DateTime::parse_from_rfc3339(&start_time)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok();
    let end = last_write.or(started).unwrap_or_else(chrono::Utc::now);
    let total = started
        .map(|s| (end - s).num_milliseconds().max(0) as f64 / 1000.0)
        .unwrap_or_else(|| cycles.iter().map(|c| c.duration_seconds).sum());
    let (status, stop_reason) = verdict.unwrap_or_else(|| {
        (
            "interrupted".into(),
            format!(
                "the run stopped without a verdict (killed?) after {} iteration(s); rebuilt from its journal",
                cycles.len()
            ),
        )
    });
    let overall_success = status == "success" && cycles.last().is_some_and(|c| c.success);
    let dir = journal.parent().unwrap_or(Path::new(""));
    let performance_metrics = crate::cycle::record::performance(&cycles, (total * 1000.0) as u64);
    let recovery = RecoveryLog {
        actions: recoveries,
    };
    let report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        start_time,
        end_time: end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        total_duration_seconds: total,
        max_iterations,
        iterations_executed: cycles.len() as u32,
        overall_success,
        status,
        stop_reason,
        cycles,
        risk_assessment: risk,
        performance_metrics,
        recovery_summary: recovery.summary(),
        recovery_actions: recovery.actions,
        automation_health: crate::health::AutomationHealth::default(),
        files: ReportFiles {
            report: report_path(dir, &run_id).display().to_string(),
            agent_log: dir
                .join(format!("auto_cycle_{run_id}.log"))
                .display()
                .to_string(),
            junit: None,
        },
        execution_id: run_id,
    };
    Ok(Rebuilt {
        report,
        complete: false,
        problem: read.problem,
        unknown_events,
    })
}

fn report_path(dir: &Path, run_id: &str) -> PathBuf {
    dir.join(format!("auto_cycle_report_{run_id}.json"))
}

/// `auto-etl report --from-journal FILE`: the report rebuilt from a journal,
/// redacted; what could not be read is a warning on stderr.
pub fn load_from_journal(file: &Path) -> anyhow::Result<Report> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("cannot read the journal {}", file.display()))?;
    let last_write = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .map(chrono::DateTime::<chrono::Utc>::from);
    let rebuilt = rebuild(&bytes, file, last_write)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    if let Some(p) = &rebuilt.problem {
        eprintln!(
            "auto-etl: warning: {}: {p}; the report holds the events before it",
            file.display()
        );
    }
    if rebuilt.unknown_events > 0 {
        eprintln!(
            "auto-etl: warning: {}: skipped {} event(s) of a kind this agent does not know",
            file.display(),
            rebuilt.unknown_events
        );
    }
    Ok(crate::redact::global().redact_serde(&rebuilt.report))
}
