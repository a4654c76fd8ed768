//! The HTML rendering of a report: one self-contained page (inline CSS and
//! SVG, nothing fetched) that shows a run at a glance: the verdict, a
//! timeline of iterations and their steps, failures by class, the
//! adjustments made and the health over time.

use super::markdown::{classes_of, verdict};
use super::{CycleRecord, Report};
use std::collections::BTreeMap;
use std::fmt::Write;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2329}
header{padding:20px 28px;color:#fff}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;opacity:.92}
.ok{background:#1a7f37}.bad{background:#c62828}.stop{background:#8a2be2}.warn{background:#b26a00}
main{padding:8px 28px 28px;display:grid;grid-template-columns:1fr 1fr;gap:18px}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 18px}
section.wide{grid-column:1/3}
h2{font-size:15px;margin:0 0 10px;color:#39424e;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%}
td,th{padding:4px 8px;border-bottom:1px solid #eceff2;text-align:left;vertical-align:top}
th{color:#5b6570;font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
code{background:#f0f2f4;padding:1px 4px;border-radius:3px}
.muted{color:#6b7580}
"#;

/// The report as one self-contained HTML page.
pub fn html(report: &Report) -> String {
    let (_, word) = verdict(&report.status);
    let tone = match report.status.as_str() {
        "success" => "ok",
        "non_retryable" => "stop",
        "interrupted" => "warn",
        _ => "bad",
    };
    let mut out = String::with_capacity(16 * 1024);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>auto-etl {} {}</title><style>{STYLE}</style></head><body>\n",
        esc(word),
        esc(&report.execution_id)
    );
    let _ = writeln!(
        out,
        "<header class=\"{tone}\"><h1>auto-etl {}: {}</h1><p>run <b>{}</b> · {} of at most {} iteration(s) · {:.1}s · {} → {} · health {:.0} ({})</p></header>",
        esc(word),
        esc(&report.stop_reason),
        esc(&report.execution_id),
        report.iterations_executed,
        report.max_iterations,
        report.total_duration_seconds,
        esc(&report.start_time),
        esc(&report.end_time),
        report.automation_health.overall_score,
        esc(&report.automation_health.health_status),
    );
    out.push_str("<main>\n");
    timeline(&mut out, &report.cycles);
    failures(&mut out, &report.cycles);
    health(&mut out, &report.cycles);
    adjustments(&mut out, &report.cycles);
    iterations_table(&mut out, &report.cycles);
    out.push_str("</main></body></html>\n");
    out
}

fn colour(status: &str) -> &'static str {
    match status {
        "success" => "#2da44e",
        "failed" => "#d73a3a",
        "timeout" => "#e6892e",
        "interrupted" => "#8250df",
        "skipped" => "#b8c0c8",
        _ => "#7d8590",
    }
}

/// One row per iteration; each step a bar as wide as it ran, then the
/// back-off that followed in grey.
fn timeline(out: &mut String, cycles: &[CycleRecord]) {
    const LABEL: f64 = 150.0;
    const WIDTH: f64 = 1000.0;
    const ROW: f64 = 30.0;
    let longest = cycles
        .iter()
        .map(|c| c.duration_seconds.max(step_secs(c)) + c.backoff_seconds)
        .fold(0.001, f64::max);
    let scale = (WIDTH - LABEL - 70.0) / longest;
    let height = ROW * cycles.len() as f64 + 10.0;
    out.push_str("<section class=\"wide\"><h2>Timeline</h2>");
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-label=\"iterations timeline\" font-size=\"12\">"
    );
    for (row, c) in cycles.iter().enumerate() {
        let y = row as f64 * ROW + 4.0;
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{:.1}\" fill=\"{}\" font-weight=\"600\">#{} {}</text>",
            y + 15.0,
            colour(&c.status),
            c.iteration,
            esc(&c.status)
        );
        let mut x = LABEL;
        for s in &c.steps {
            let secs = s.duration_ms as f64 / 1000.0;
            let w = (secs * scale).max(2.0);
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"20\" rx=\"3\" fill=\"{}\"><title>{}: {} in {secs:.1}s</title></rect>",
                colour(&s.status),
                esc(&s.name),
                esc(&s.status)
            );
            if w > 7.0 * s.name.chars().count() as f64 + 8.0 {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#fff\">{}</text>",
                    x + 5.0,
                    y + 14.0,
                    esc(&s.name)
                );
            }
            x += w + 1.0;
        }
        if c.backoff_seconds > 0.0 {
            let w = c.backoff_seconds * scale;
            let _ = write!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"8\" rx=\"2\" fill=\"#d0d7de\"><title>back-off {:.1}s</title></rect>",
                y + 6.0,
                c.backoff_seconds
            );
            x += w;
        }
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" fill=\"#5b6570\">{:.1}s</text>",
            x + 6.0,
            y + 15.0,
            c.duration_seconds
        );
    }
    out.push_str("</svg><div class=\"legend muted\">");
    for s in ["success", "failed", "timeout", "interrupted", "skipped"] {
        let _ = write!(
            out,
            "<span><i style=\"background:{}\"></i>{s}</span>",
            colour(s)
        );
    }
    out.push_str("<span><i style=\"background:#d0d7de\"></i>back-off</span></div></section>\n");
}

fn step_secs(c: &CycleRecord) -> f64 {
    c.steps.iter().map(|s| s.duration_ms as f64 / 1000.0).sum()
}

fn failures(out: &mut String, cycles: &[CycleRecord]) {
    let mut counts: BTreeMap<String, (usize, Vec<u32>)> = BTreeMap::new();
    for c in cycles {
        for m in &c.classified_errors {
            let e = counts.entry(m.class.to_string()).or_default();
            e.0 += 1;
            if !e.1.contains(&c.iteration) {
                e.1.push(c.iteration);
            }
        }
    }
    out.push_str("<section><h2>Failures by class</h2>");
    if counts.is_empty() {
        out.push_str("<p class=\"muted\">No classified failures.</p></section>\n");
        return;
    }
    let max = counts.values().map(|v| v.0).max().unwrap_or(1) as f64;
    let height = 26.0 * counts.len() as f64;
    let _ = write!(
        out,
        "<svg viewBox=\"0 0 480 {height}\" width=\"100%\" font-size=\"12\" role=\"img\" aria-label=\"failures by class\">"
    );
    for (i, (class, (n, its))) in counts.iter().enumerate() {
        let y = i as f64 * 26.0;
        let w = 200.0 * *n as f64 / max;
        let its: Vec<String> = its.iter().map(|i| format!("#{i}")).collect();
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{:.1}\">{}</text><rect x=\"170\" y=\"{:.1}\" width=\"{w:.1}\" height=\"16\" rx=\"2\" fill=\"#d73a3a\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#5b6570\">{n} in {}</text>",
            y + 14.0,
            esc(class),
            y + 2.0,
            176.0 + w,
            y + 14.0,
            esc(&its.join(" "))
        );
    }
    out.push_str("</svg></section>\n");
}

/// The per-iteration `health.overall_score`, when the cycles carry one.
fn health(out: &mut String, cycles: &[CycleRecord]) {
    let points: Vec<(u32, f64)> = cycles
        .iter()
        .filter_map(|c| Some((c.iteration, c.health.get("overall_score")?.as_f64()?)))
        .collect();
    out.push_str("<section><h2>Health over time</h2>");
    if points.is_empty() {
        out.push_str("<p class=\"muted\">No health samples in this report.</p></section>\n");
        return;
    }
    let (w, h, left) = (460.0, 140.0, 34.0);
    let step = if points.len() > 1 {
        (w - left - 10.0) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let xy = |i: usize, v: f64| {
        (
            left + i as f64 * step,
            10.0 + (100.0 - v.clamp(0.0, 100.0)) * (h - 30.0) / 100.0,
        )
    };
    let _ = write!(out, "<svg viewBox=\"0 0 {w} {h}\" width=\"100%\" font-size=\"11\" role=\"img\" aria-label=\"health over time\">");
    for level in [100.0, 70.0, 30.0, 0.0] {
        let (_, y) = xy(0, level);
        let _ = write!(out, "<line x1=\"{left}\" x2=\"{w}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#eceff2\"/><text x=\"0\" y=\"{:.1}\" fill=\"#6b7580\">{level}</text>", y + 4.0);
    }
    let line: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let (x, y) = xy(i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        out,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\"/>",
        line.join(" ")
    );
    for (i, (it, v)) in points.iter().enumerate() {
        let (x, y) = xy(i, *v);
        let _ = write!(out, "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"#0969da\"><title>#{it}: {v:.1}</title></circle><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#6b7580\">#{it}</text>", h - 4.0);
    }
    out.push_str("</svg></section>\n");
}

fn adjustments(out: &mut String, cycles: &[CycleRecord]) {
    out.push_str("<section class=\"wide\"><h2>Adjustments</h2>");
    let any = cycles.iter().any(|c| !c.adjustments.is_empty());
    if !any {
        out.push_str("<p class=\"muted\">None: no iteration changed the plan.</p></section>\n");
        return;
    }
    out.push_str("<table><tr><th>after</th><th>change for the next iteration</th></tr>");
    for c in cycles {
        for a in &c.adjustments {
            let _ = write!(out, "<tr><td>#{}</td><td>{}</td></tr>", c.iteration, esc(a));
        }
    }
    out.push_str("</table></section>\n");
}

fn iterations_table(out: &mut String, cycles: &[CycleRecord]) {
    out.push_str("<section class=\"wide\"><h2>Iterations</h2><table><tr><th>#</th><th>status</th><th class=\"num\">duration</th><th>classes</th><th>first error</th><th>log</th></tr>");
    for c in cycles {
        let classes = classes_of(c).join(", ");
        let first = c.errors.first().map(String::as_str).unwrap_or("");
        let _ = write!(
            out,
            "<tr><td>{}</td><td style=\"color:{}\">{}</td><td class=\"num\">{:.1}s</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            c.iteration,
            colour(&c.status),
            esc(&c.status),
            c.duration_seconds,
            esc(&classes),
            esc(first),
            esc(&c.log_file)
        );
    }
    out.push_str("</table></section>\n");
}

/// Escapes text for HTML element content and quoted attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;

    #[test]
    fn the_page_is_self_contained_and_shows_the_run() {
        let page = html(&sample::report());
        assert!(page.starts_with("<!doctype html>"));
        assert!(!page.contains("http://") && !page.contains("https://") && !page.contains("src="));
        assert!(page.contains("auto-etl GREEN: green at iteration 3"));
        assert!(page.contains("connection_refused"));
        assert!(page.contains("cleanup standard -&gt; deep (already_exists)"));
        assert!(page.contains("<polyline"));
        assert!(page.matches("<rect").count() >= 6);
    }

    #[test]
    fn text_from_logs_is_escaped() {
        let mut r = sample::report();
        r.cycles[0].errors = vec!["<script>alert('x')</script>".into()];
        let page = html(&r);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
