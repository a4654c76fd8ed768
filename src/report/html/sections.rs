//! The page's sections, each a pure function of the report.

use super::super::markdown::classes_of;
use super::super::{CycleRecord, Report};
use super::charts::{colour, usage};
use super::secs;
use maud::{html, Markup};

/// Failures listed in full; the rest are counted and left to the JSON.
const MAX_FAILURES: usize = 40;

/// The key figures in a row of cards.
pub fn facts(r: &Report) -> Markup {
    let failures: usize = r.cycles.iter().map(|c| c.classified_errors.len()).sum();
    let healed = r.overall_success && failures > 0;
    let h = &r.automation_health;
    html! {
        div.facts {
            div.fact { span { "iterations" } b { (r.iterations_executed) " / " (r.max_iterations) } }
            div.fact { span { "duration" } b { (secs(r.total_duration_seconds)) } }
            div.fact {
                span { "classified failures" }
                b { (failures) @if healed { " (healed)" } }
            }
            div.fact { span { "risk" } b { (r.risk_assessment.risk_level) " (" (format!("{:.0}", r.risk_assessment.risk_score)) " / 100)" } }
            div.fact {
                span { "machine health" }
                b { (machine_word(&h.health_status)) }
            }
        }
    }
}

/// What the session's health status says about the machine, in words.
fn machine_word(status: &str) -> &str {
    match status {
        "healthy" => "fine",
        "warning" => "under pressure",
        "critical" => "short of memory, disk or Docker",
        "unknown" => "not sampled",
        other => other,
    }
}

/// Each classified failure: iteration, class, subject, source, line and
/// the excerpt of the log.
pub fn failures(r: &Report) -> Markup {
    let all: Vec<(&CycleRecord, &crate::classify::Match)> = r
        .cycles
        .iter()
        .flat_map(|c| c.classified_errors.iter().map(move |m| (c, m)))
        .collect();
    let unclassified: Vec<(u32, &str)> = r
        .cycles
        .iter()
        .filter(|c| !c.success && c.classified_errors.is_empty())
        .filter_map(|c| Some((c.iteration, c.errors.first()?.as_str())))
        .collect();
    html! {
        section {
            h2 { "Failures" }
            @if all.is_empty() && unclassified.is_empty() {
                p.muted { "No failures." }
            } @else {
                table {
                    tr { th { "#" } th { "class" } th { "about" } th { "source" } th { "log line and excerpt" } }
                    @for (c, m) in all.iter().take(MAX_FAILURES) {
                        tr {
                            td { (c.iteration) }
                            td { span.class.healed[r.overall_success] { (m.class.as_str()) } br;
                                 span.muted { @if m.retryable { "retryable" } @else { "not retryable" } } }
                            td { @if let Some(s) = &m.subject { code { (s) } } @else { span.muted { "—" } } }
                            td { @if let Some(s) = &m.source { code { (s) } } @else { span.muted { "—" } } }
                            td { span.muted { (log_name(&c.log_file)) ":" (m.line) } pre { (m.excerpt) } }
                        }
                    }
                    @for (it, e) in &unclassified {
                        tr { td { (it) } td { span.class { "unclassified" } } td { span.muted { "—" } }
                             td { span.muted { "—" } } td { pre { (e) } } }
                    }
                }
                @if all.len() > MAX_FAILURES {
                    p.muted { (all.len() - MAX_FAILURES) " more in the JSON report." }
                }
            }
        }
    }
}

/// The file name of a log path, which is what people look for.
fn log_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What each iteration changed in the plan of the next one.
pub fn adjustments(cycles: &[CycleRecord]) -> Markup {
    let rows: Vec<(u32, &str)> = cycles
        .iter()
        .flat_map(|c| c.adjustments.iter().map(move |a| (c.iteration, a.as_str())))
        .collect();
    html! {
        section {
            h2 { "Adjustments" }
            @if rows.is_empty() {
                p.muted { "None: no iteration changed the plan." }
            } @else {
                table {
                    tr { th { "after #" } th { "change for the next iteration" } }
                    @for (it, a) in &rows { tr { td { (it) } td { (a) } } }
                }
            }
        }
    }
}

/// One row per iteration, with the cause of its failure rather than the
/// bare exit code when a class was found.
pub fn iterations(cycles: &[CycleRecord]) -> Markup {
    html! {
        section {
            h2 { "Iterations" }
            table {
                tr { th { "#" } th { "status" } th.num { "duration" } th { "classes" } th { "first cause" } th { "log" } }
                @for c in cycles {
                    tr {
                        td { (c.iteration) }
                        td style=(format!("color:{}", colour(&c.status))) { (c.status) }
                        td.num { (secs(c.duration_seconds)) }
                        td { (classes_of(c).join(", ")) }
                        td { (first_cause(c)) }
                        td { code { (log_name(&c.log_file)) } }
                    }
                }
            }
        }
    }
}

/// The first classified excerpt, else the first error line.
fn first_cause(c: &CycleRecord) -> String {
    if c.success {
        return String::new();
    }
    match c.classified_errors.first() {
        Some(m) => m.excerpt.clone(),
        None => c.errors.first().cloned().unwrap_or_default(),
    }
}

/// Time, CPU and memory per step over the whole run.
pub fn performance(r: &Report) -> Markup {
    let p = &r.performance_metrics;
    html! {
        section {
            h2 { "Performance per step" }
            @if p.step_breakdown.is_empty() {
                p.muted { "No step metrics in this report." }
            } @else {
                table {
                    tr { th { "step" } th.num { "runs" } th.num { "succeeded" } th.num { "mean time" }
                         th.num { "total time" } th.num { "CPU time" } th.num { "peak memory" } th.num { "rows" } }
                    @for s in &p.step_breakdown {
                        tr {
                            td { (s.step) }
                            td.num { (s.runs) }
                            td.num { (s.successes) }
                            td.num { (secs(s.mean_time_ms / 1000.0)) }
                            td.num { (secs(s.total_time_ms as f64 / 1000.0)) }
                            td.num { (secs(s.cpu_time_ms as f64 / 1000.0)) }
                            td.num { (format!("{:.0} MB", s.peak_memory_mb)) }
                            td.num { @if let Some(n) = s.rows { (n) } @else { "—" } }
                        }
                    }
                }
            }
            @if !p.optimization_recommendations.is_empty() {
                ul { @for o in &p.optimization_recommendations { li { (o) } } }
            }
        }
    }
}

/// The machine while the steps ran: component scores with units, alerts
/// (problems of the machine) and notes (information).
pub fn health(r: &Report) -> Markup {
    let h = &r.automation_health;
    html! {
        section {
            h2 { "Machine health" }
            p {
                b { (machine_word(&h.health_status)) }
                @if h.samples > 0 {
                    " · score " (format!("{:.0}", h.overall_score)) " / 100 (memory, disk and Docker; higher is better) · "
                    (h.samples) " sample(s), trend " (h.trending)
                }
            }
            @if !h.component_scores.is_empty() {
                table style="max-width:640px" {
                    tr { th { "component" } th.num { "headroom" } th { "means" } }
                    @for (k, v) in &h.component_scores {
                        tr { td { (k) } td.num { (format!("{v:.0} %")) } td.muted { (component_meaning(k)) } }
                    }
                }
            }
            @if let Some(chart) = usage(&r.cycles) { (chart) }
            @if h.alerts.is_empty() {
                p.muted { "No alerts: memory, disk and Docker stayed within limits." }
            } @else {
                p { b { "Alerts" } }
                ul { @for a in &h.alerts { li { (a) } } }
            }
            @if !h.notes.is_empty() {
                p { b { "Notes" } " (information, not problems)" }
                ul { @for n in &h.notes { li { (n) } } }
            }
            @if !h.recommendations.is_empty() {
                ul { @for n in &h.recommendations { li { (n) } } }
            }
        }
    }
}

fn component_meaning(component: &str) -> &'static str {
    match component {
        "cpu" => "idle share of the cores (busy steps lower it; not scored)",
        "memory" => "free share of memory",
        "disk" => "free share of the fullest watched disk",
        "docker" => "share of samples with the daemon reachable",
        _ => "",
    }
}

/// The risk assessed before the first iteration.
pub fn risk(r: &Report) -> Markup {
    let a = &r.risk_assessment;
    html! {
        section {
            h2 { "Risk" }
            p { "Session risk " b { (a.risk_level) } " (" (format!("{:.0}", a.risk_score)) " / 100)"
                @if a.safe_mode { " · safe mode was on" } }
            @if !a.step_risks.is_empty() {
                table {
                    tr { th { "step" } th { "level" } th.num { "score" } th { "factors" } }
                    @for s in &a.step_risks {
                        tr { td { (s.step) } td { (s.risk_level) } td.num { (format!("{:.0}", s.risk_score)) }
                             td { (s.factors.join("; ")) } }
                    }
                }
            }
            @if !a.mitigations.is_empty() {
                ul { @for m in &a.mitigations { li { (m) } } }
            }
        }
    }
}

/// Retries, fallbacks, rollbacks and the like taken during the run.
pub fn recovery(r: &Report) -> Markup {
    html! {
        section {
            h2 { "Recovery actions" }
            @if r.recovery_actions.is_empty() {
                p.muted { "None were needed." }
            } @else {
                table {
                    tr { th { "action" } th { "outcome" } th.num { "time" } th { "details" } }
                    @for a in &r.recovery_actions {
                        tr {
                            td { (a.action_type) }
                            td { @if a.success { "done" } @else { "failed" } }
                            td.num { @if let Some(ms) = a.execution_time_ms { (ms) " ms" } @else { "—" } }
                            td { code { (details(&a.config)) } }
                        }
                    }
                }
            }
        }
    }
}

/// An action's config as `key=value` pairs, bounded.
fn details(config: &serde_json::Value) -> String {
    let text = match config.as_object() {
        Some(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => config.to_string(),
    };
    match text.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
