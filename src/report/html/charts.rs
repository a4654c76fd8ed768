//! The page's two drawings, inline SVG: the timeline of iterations and
//! their steps, and the machine's usage per iteration.

use super::super::CycleRecord;
use maud::{html, Markup};

/// The colour of a cycle or step status.
pub fn colour(status: &str) -> &'static str {
    match status {
        "success" => "#2da44e",
        "failed" => "#d73a3a",
        "timeout" => "#e6892e",
        "interrupted" => "#8250df",
        "skipped" => "#b8c0c8",
        _ => "#7d8590",
    }
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// Width of a text of `chars` characters at font size 12, generously: a
/// label is drawn only where it surely fits, never cut.
fn text_width(chars: usize) -> f64 {
    7.5 * chars as f64 + 10.0
}

/// One row per iteration; each step a bar as wide as it ran, then the
/// back-off that followed in grey, then the iteration's duration.
pub fn timeline(cycles: &[CycleRecord]) -> Markup {
    const LABEL: f64 = 130.0;
    const WIDTH: f64 = 1000.0;
    const ROW: f64 = 30.0;
    let longest = cycles
        .iter()
        .map(|c| c.duration_seconds.max(step_secs(c)) + c.backoff_seconds)
        .fold(0.001, f64::max);
    let scale = (WIDTH - LABEL - 80.0) / longest;
    let height = ROW * cycles.len() as f64 + 6.0;
    html! {
        section {
            h2 { "Timeline" }
            svg viewBox=(format!("0 0 {WIDTH} {height}")) width="100%" role="img"
                aria-label="iterations timeline" font-size="12" {
                @for (row, c) in cycles.iter().enumerate() {
                    @let y = row as f64 * ROW + 4.0;
                    text x="0" y=(f1(y + 15.0)) fill=(colour(&c.status)) font-weight="600" {
                        "#" (c.iteration) " " (c.status)
                    }
                    @let row = lay_out(c, LABEL, scale);
                    @for b in &row.bars {
                        rect x=(f1(b.x)) y=(f1(y)) width=(f1(b.w)) height="20" rx="3" fill=(colour(b.status)) {
                            title { (b.name) ": " (b.status) " in " (f1(b.secs)) " s" }
                        }
                        @if b.w > text_width(b.name.chars().count()) {
                            text x=(f1(b.x + 5.0)) y=(f1(y + 14.0)) fill="#fff" { (b.name) }
                        }
                    }
                    @if let Some((x, w)) = row.backoff {
                        rect x=(f1(x)) y=(f1(y + 6.0)) width=(f1(w)) height="8" rx="2" fill="#d0d7de" {
                            title { "back-off " (f1(c.backoff_seconds)) " s" }
                        }
                    }
                    text x=(f1(row.end + 6.0)) y=(f1(y + 15.0)) fill="#5b6570" { (f1(c.duration_seconds)) " s" }
                }
            }
            div.legend.muted {
                @for s in ["success", "failed", "timeout", "interrupted", "skipped"] {
                    span { i style=(format!("background:{}", colour(s))) {} (s) }
                }
                span { i style="background:#d0d7de" {} "back-off" }
                span { "· bar length = wall time; hover a bar for its step" }
            }
        }
    }
}

/// One step's bar in the timeline.
struct Bar<'a> {
    x: f64,
    w: f64,
    secs: f64,
    name: &'a str,
    status: &'a str,
}

/// An iteration's row: its step bars, the back-off (x, width) and where
/// the row ends.
struct Row<'a> {
    bars: Vec<Bar<'a>>,
    backoff: Option<(f64, f64)>,
    end: f64,
}

fn lay_out(c: &CycleRecord, start: f64, scale: f64) -> Row<'_> {
    let mut x = start;
    let mut bars = Vec::with_capacity(c.steps.len());
    for s in &c.steps {
        let secs = s.duration_ms as f64 / 1000.0;
        // Even an instant step stays visible.
        let w = (secs * scale).max(2.0);
        bars.push(Bar {
            x,
            w,
            secs,
            name: &s.name,
            status: &s.status,
        });
        x += w + 1.0;
    }
    let backoff = (c.backoff_seconds > 0.0).then_some((x, c.backoff_seconds * scale));
    let end = backoff.map_or(x, |(bx, w)| bx + w);
    Row { bars, backoff, end }
}

fn step_secs(c: &CycleRecord) -> f64 {
    c.steps.iter().map(|s| s.duration_ms as f64 / 1000.0).sum()
}

/// A per-iteration figure from the cycle's `health` sample.
fn figure(c: &CycleRecord, key: &str) -> Option<f64> {
    c.health.get(key)?.as_f64()
}

/// Memory used and CPU busy (in % of the machine) at the end of each
/// iteration, against the alert thresholds that apply to memory and disk.
/// None when no cycle carries a health sample.
pub fn usage(cycles: &[CycleRecord]) -> Option<Markup> {
    let points: Vec<(u32, f64, f64)> = cycles
        .iter()
        .filter_map(|c| {
            Some((
                c.iteration,
                figure(c, "memory_percent")?,
                figure(c, "cpu_percent").unwrap_or(0.0),
            ))
        })
        .collect();
    if points.is_empty() {
        return None;
    }
    // `right` leaves room for the threshold labels, so none is cut.
    let (w, h, left, right, top, bottom) = (640.0, 170.0, 46.0, 100.0, 10.0, 36.0);
    let step = if points.len() > 1 {
        (w - left - right - 20.0) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let x = |i: usize| left + 10.0 + i as f64 * step;
    let y = |v: f64| top + (100.0 - v.clamp(0.0, 100.0)) * (h - top - bottom) / 100.0;
    let line = |pick: fn(&(u32, f64, f64)) -> f64| {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(pick(p))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    Some(html! {
        svg viewBox=(format!("0 0 {w} {h}")) width="100%" font-size="11" role="img"
            aria-label="machine usage per iteration" style="max-width:640px" {
            @for level in [0.0, 50.0, 100.0] {
                line x1=(left) x2=(w - right) y1=(f1(y(level))) y2=(f1(y(level))) stroke="#eceff2" {}
                text x=(left - 6.0) y=(f1(y(level) + 4.0)) text-anchor="end" fill="#6b7580" { (level) " %" }
            }
            @for (level, name) in [(70.0, "warning 70 %"), (90.0, "critical 90 %")] {
                line x1=(left) x2=(w - right) y1=(f1(y(level))) y2=(f1(y(level))) stroke="#e6892e"
                    stroke-dasharray="4 3" {}
                text x=(w - right + 6.0) y=(f1(y(level) + 4.0)) fill="#b26a00" { (name) }
            }
            polyline points=(line(|p| p.2)) fill="none" stroke="#8c959f" stroke-width="2" {}
            polyline points=(line(|p| p.1)) fill="none" stroke="#0969da" stroke-width="2" {}
            @for (i, (it, mem, cpu)) in points.iter().enumerate() {
                circle cx=(f1(x(i))) cy=(f1(y(*mem))) r="3.5" fill="#0969da" {
                    title { "#" (it) ": memory " (f1(*mem)) " % used" }
                }
                circle cx=(f1(x(i))) cy=(f1(y(*cpu))) r="3" fill="#8c959f" {
                    title { "#" (it) ": cpu " (f1(*cpu)) " % busy" }
                }
                text x=(f1(x(i))) y=(h - bottom + 16.0) text-anchor="middle" fill="#6b7580" { "#" (it) }
            }
            text x=(left) y=(h - 4.0) fill="#6b7580" { "iteration (sample at its end)" }
        }
        div.legend.muted {
            span { i style="background:#0969da" {} "memory used, % of the machine" }
            span { i style="background:#8c959f" {} "CPU busy, % of all cores (information)" }
        }
    })
}
