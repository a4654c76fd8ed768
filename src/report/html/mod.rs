//! The HTML rendering of a report: one self-contained page (inline CSS and
//! SVG, nothing fetched) that a person reads after a run: the verdict, a
//! timeline, each failure with its class, subject, source and excerpt, the
//! adjustments, risk, recovery actions, machine health and performance per
//! step.
//!
//! The page is built with maud, so every piece of text from a log or a
//! config is escaped by construction; there is no `write!` of raw markup.

mod charts;
mod sections;

use super::markdown::verdict;
use super::Report;
use maud::{html, Markup, PreEscaped};

const STYLE: &str = r#"
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;margin:0;background:#f6f7f9;color:#1d2329}
header{padding:18px 28px;color:#fff}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;opacity:.95}
.ok{background:#1a7f37}.bad{background:#c62828}.stop{background:#8a2be2}.warn{background:#b26a00}
main{padding:16px 28px 28px;max-width:1240px;margin:0 auto}
.facts{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}
.fact{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:8px 14px;min-width:140px}
.fact b{display:block;font-size:18px}
.fact span{color:#5b6570;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px 18px;margin-bottom:16px}
h2{font-size:14px;margin:0 0 10px;color:#39424e;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%}
td,th{padding:4px 8px;border-bottom:1px solid #eceff2;text-align:left;vertical-align:top}
th{color:#5b6570;font-weight:600;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
code{background:#f0f2f4;padding:1px 4px;border-radius:3px;font-size:12.5px}
pre{margin:4px 0 0;background:#f6f8fa;border:1px solid #eceff2;border-radius:4px;padding:6px 8px;white-space:pre-wrap;word-break:break-word;font-size:12.5px}
.class{display:inline-block;background:#fde8e8;color:#a11d1d;border-radius:10px;padding:0 8px;font-weight:600;white-space:nowrap}
.healed{background:#e6f4ea;color:#1a7f37}
.muted{color:#6b7580}
ul{margin:4px 0;padding-left:20px}
"#;

/// The report as one self-contained HTML page.
pub fn html(report: &Report) -> String {
    page(report).into_string()
}

fn tone(status: &str) -> &'static str {
    match status {
        "success" => "ok",
        "non_retryable" => "stop",
        "interrupted" => "warn",
        _ => "bad",
    }
}

fn page(r: &Report) -> Markup {
    let (_, word) = verdict(&r.status);
    html! {
        (PreEscaped("<!doctype html>\n"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { "auto-etl " (word) " " (r.execution_id) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header class=(tone(&r.status)) {
                    h1 { "auto-etl " (word) ": " (r.stop_reason) }
                    p {
                        "run " b { (r.execution_id) } " · "
                        (r.iterations_executed) " of at most " (r.max_iterations) " iteration(s) · "
                        (secs(r.total_duration_seconds)) " · " (r.start_time) " → " (r.end_time)
                    }
                }
                main {
                    (sections::facts(r))
                    (charts::timeline(&r.cycles))
                    (sections::failures(r))
                    (sections::adjustments(&r.cycles))
                    (sections::iterations(&r.cycles))
                    (sections::performance(r))
                    (sections::health(r))
                    (sections::risk(r))
                    (sections::recovery(r))
                }
            }
        }
    }
}

/// Seconds as people read them: `4.2 s`, `2 min 5 s`.
fn secs(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.1} s")
    } else {
        let whole = s.round() as u64;
        format!("{} min {} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests;
