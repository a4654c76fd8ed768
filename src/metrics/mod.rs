//! Performance metrics: per step (time, CPU, peak memory of its process tree)
//! and per session (throughput, rates, recommendations).

mod sampler;
mod summary;

pub use sampler::{parse_stat, ProcStat, ProcessTreeSampler, TreeTotals};
pub use summary::{summarize, CPU_BOUND_PERCENT, ERROR_RATE_LIMIT, SLOW_SHARE, SLOW_STEP_MS};

use serde::{Deserialize, Serialize};

/// Figures of one step run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StepMetrics {
    pub execution_time_ms: u64,
    /// User + system CPU time of the step's process group.
    pub cpu_time_ms: u64,
    /// CPU time over wall time, as `top` shows it: 100 = one core busy.
    pub cpu_usage_percent: f64,
    /// Peak of the summed resident memory of the group's processes.
    pub peak_memory_mb: f64,
    /// Rows the step reported through `rows=N` tokens in its output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Distinct processes seen in the group.
    #[serde(default)]
    pub processes: u32,
    /// Samples taken.
    #[serde(default)]
    pub samples: u32,
}

/// One row of `performance_metrics.step_breakdown`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StepBreakdown {
    pub step: String,
    pub runs: u32,
    pub successes: u32,
    pub total_time_ms: u64,
    pub mean_time_ms: f64,
    pub peak_memory_mb: f64,
    #[serde(default)]
    pub cpu_time_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The report's `performance_metrics`. Rates are fractions in [0, 1].
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct PerformanceMetrics {
    pub execution_time_ms: u64,
    /// CPU time over the steps' wall time (100 = one core busy).
    pub cpu_usage_percent: f64,
    /// The highest peak memory of any step run.
    pub memory_usage_mb: f64,
    /// Step runs per second of the session.
    pub throughput_ops_per_second: f64,
    /// Rows per second of the steps that reported rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_total: Option<u64>,
    pub error_rate: f64,
    pub success_rate: f64,
    /// The share of the CPU time (wall time when no CPU was measured) that
    /// went into step runs that succeeded.
    pub resource_efficiency: f64,
    pub step_breakdown: Vec<StepBreakdown>,
    pub optimization_recommendations: Vec<String>,
}

/// The sum of the `rows=N` tokens in one output line, if there is any.
///
/// A token starts the line or follows a character that cannot be part of a
/// name (so `arrows=3` does not count) and `N` is all digits.
pub fn parse_rows(line: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"rows=";
    let mut found: Option<u64> = None;
    let mut i = 0;
    while i + KEY.len() <= line.len() {
        let at_boundary = i == 0 || !is_name_byte(line[i - 1]);
        if at_boundary && line[i..].starts_with(KEY) {
            let digits = &line[i + KEY.len()..];
            let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
            let ends_token = digits
                .get(n)
                .is_none_or(|b| !is_name_byte(*b) && *b != b'.');
            if n > 0 && ends_token {
                let v = std::str::from_utf8(&digits[..n])
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok());
                if let Some(v) = v {
                    found = Some(found.unwrap_or(0).saturating_add(v));
                }
            }
            i += KEY.len() + n;
        } else {
            i += 1;
        }
    }
    found
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_tokens() {
        let table: &[(&str, Option<u64>)] = &[
            ("rows=123", Some(123)),
            ("loaded rows=42 into sales", Some(42)),
            ("extract: rows=10, transform: rows=5", Some(15)),
            ("[load] rows=7\n", Some(7)),
            ("arrows=3", None),
            ("my_rows=3", None),
            ("rows=", None),
            ("rows=abc", None),
            ("rows=12abc", None),
            ("rows=1.5", None),
            ("rows = 3", None),
            ("ROWS=3", None),
            ("no metrics here", None),
            ("", None),
            ("rows=99999999999999999999999", None),
        ];
        for (line, want) in table {
            assert_eq!(parse_rows(line.as_bytes()), *want, "{line:?}");
        }
    }

    #[test]
    fn rows_in_non_utf8_output() {
        assert_eq!(parse_rows(b"\xff\xfe rows=8 \xff"), Some(8));
    }
}
