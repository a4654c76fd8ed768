//! Human durations: "500ms", "10s", "2m", "1h", "1h30m", or plain seconds.

use std::time::Duration;

/// Parses a duration such as `10m`, `1h30m`, `2.5s` or `30` (seconds).
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return from_secs(secs, text);
    }
    let mut total = 0.0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("`{text}` has a number without a unit"))?;
        if num_end == 0 {
            return Err(format!(
                "`{text}` is not a duration (use e.g. 500ms, 10s, 2m, 1h)"
            ));
        }
        let value: f64 = rest[..num_end]
            .parse()
            .map_err(|_| format!("`{text}` is not a duration"))?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_end] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hours" => 3600.0,
            "d" => 86400.0,
            unit => return Err(format!("`{text}` has an unknown unit `{unit}`")),
        };
        total += value * factor;
        rest = &rest[unit_end..];
    }
    from_secs(total, text)
}

fn from_secs(secs: f64, text: &str) -> Result<Duration, String> {
    // A week is far beyond any sane step; larger values are typos.
    if !secs.is_finite() || !(0.0..=7.0 * 86400.0).contains(&secs) {
        return Err(format!("`{text}` is out of range (0 to 7d)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Formats a duration the way the parser reads it back (`1m30s`, `250ms`).
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if ms % 1000 != 0 {
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
            ("500ms", 500),
            ("30", 30_000),
            ("2.5s", 2_500),
        ];
        for (text, ms) in cases {
            assert_eq!(parse(text).unwrap(), Duration::from_millis(ms), "{text}");
        }
    }

    #[test]
    fn rejects_garbage_and_absurd_values() {
        for text in ["", "ten", "10x", "s", "-1", "100d"] {
            assert!(parse(text).is_err(), "{text} should be rejected");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["250ms", "10s", "1m30s", "2h", "1.5s"] {
            assert_eq!(format(parse(text).unwrap()), text);
        }
    }
}
