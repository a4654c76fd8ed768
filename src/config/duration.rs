//! Human durations: "500ms", "10s", "2m", "1h", "1h30m", or plain seconds,
//! read by humantime; and their short form for messages.

use std::time::Duration;

/// Parses a duration such as `10m`, `1h30m`, `1h 30m`, `2.5s` or `30`
/// (seconds), from 0 to 7 days. The units are humantime's (`ms`, `s`,
/// `sec`, `m`, `min`, `h`, `hr`, `hours`, `d`, `w`, ...).
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return in_range(Duration::try_from_secs_f64(secs).ok(), text);
    }
    match humantime::parse_duration(s) {
        Ok(d) => in_range(Some(d), text),
        Err(e) => Err(format!(
            "`{text}` is not a duration: {e} (use e.g. 500ms, 10s, 2m, 1h30m)"
        )),
    }
}

fn in_range(d: Option<Duration>, text: &str) -> Result<Duration, String> {
    // A week is far beyond any sane step; larger values are typos.
    const WEEK: Duration = Duration::from_secs(7 * 86400);
    d.filter(|d| *d <= WEEK)
        .ok_or_else(|| format!("`{text}` is out of range (0 to 7d)"))
}

/// Formats a duration the way the parser reads it back (`1m30s`, `250ms`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1000) {
        return format!("{:.1}s", d.as_secs_f64());
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        let cases = [
            ("10s", 10_000),
            ("2m", 120_000),
            ("1h30m", 5_400_000),
            ("1h 30m", 5_400_000),
            ("500ms", 500),
            ("30", 30_000),
            ("0.25", 250),
            (" 45s ", 45_000),
            ("2.5s", 2_500),
            ("1.5h", 5_400_000),
            ("1.5h30m", 7_200_000),
            ("90sec", 90_000),
            ("2 min", 120_000),
            ("3hours", 10_800_000),
            ("1d", 86_400_000),
            ("1w", 604_800_000),
            ("0s", 0),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text), Ok(Duration::from_millis(ms)), "{text}");
        }
    }

    #[test]
    fn rejects_garbage_and_absurd_values_saying_why() {
        let cases = [
            ("", "empty duration"),
            ("ten", "`ten` is not a duration"),
            ("10x", "`10x` is not a duration: unknown time unit"),
            ("s", "`s` is not a duration"),
            ("1.5.5s", "`1.5.5s` is not a duration"),
            ("-1", "`-1` is out of range (0 to 7d)"),
            ("100d", "`100d` is out of range (0 to 7d)"),
            ("8d", "`8d` is out of range (0 to 7d)"),
            (
                "99999999999999999999h",
                "`99999999999999999999h` is not a duration: number is too large",
            ),
            ("1e300", "`1e300` is out of range"),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(text);
            assert!(err.starts_with(want), "{text}: {err}");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["250ms", "10s", "1m30s", "2h", "1.5s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
