//! The session's `performance_metrics` from its step runs.

use super::{PerformanceMetrics, StepBreakdown, StepMetrics};

/// A step whose runs take more than this share of the session is slow
/// (when there are at least two steps to compare).
pub const SLOW_SHARE: f64 = 0.5;
/// A step whose runs take longer than this on average is slow.
pub const SLOW_STEP_MS: u64 = 5 * 60 * 1000;
/// A step using more CPU than this (100 = one core) is CPU bound.
pub const CPU_BOUND_PERCENT: f64 = 80.0;
/// Above this error rate, failures matter more than speed.
pub const ERROR_RATE_LIMIT: f64 = 0.05;

/// Sums up step runs given as `(step name, succeeded, metrics)`;
/// `total_ms` is the session's wall time.
pub fn summarize(steps: &[(String, bool, StepMetrics)], total_ms: u64) -> PerformanceMetrics {
    let runs = steps.len();
    let successes = steps.iter().filter(|(_, ok, _)| *ok).count();
    let step_ms: u64 = steps.iter().map(|(_, _, m)| m.execution_time_ms).sum();
    let cpu_ms: u64 = steps.iter().map(|(_, _, m)| m.cpu_time_ms).sum();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };

    let with_rows: Vec<&StepMetrics> = steps
        .iter()
        .filter_map(|(_, _, m)| m.rows.map(|_| m))
        .collect();
    let rows_total =
        (!with_rows.is_empty()).then(|| with_rows.iter().filter_map(|m| m.rows).sum::<u64>());
    let rows_ms: u64 = with_rows.iter().map(|m| m.execution_time_ms).sum();
    let rows_per_second = rows_total.map(|r| ratio(r as f64 * 1000.0, rows_ms as f64));

    // Resources that went into runs which failed were wasted.
    let (good, all) = if cpu_ms > 0 {
        let good: u64 = steps
            .iter()
            .filter(|(_, ok, _)| *ok)
            .map(|(_, _, m)| m.cpu_time_ms)
            .sum();
        (good, cpu_ms)
    } else {
        let good: u64 = steps
            .iter()
            .filter(|(_, ok, _)| *ok)
            .map(|(_, _, m)| m.execution_time_ms)
            .sum();
        (good, step_ms)
    };
    let resource_efficiency = if all > 0 {
        good as f64 / all as f64
    } else {
        ratio(successes as f64, runs as f64)
    };

    let breakdown = breakdown(steps);
    let error_rate = ratio((runs - successes) as f64, runs as f64);
    PerformanceMetrics {
        execution_time_ms: total_ms,
        cpu_usage_percent: ratio(cpu_ms as f64 * 100.0, step_ms as f64),
        memory_usage_mb: steps
            .iter()
            .map(|(_, _, m)| m.peak_memory_mb)
            .fold(0.0, f64::max),
        throughput_ops_per_second: ratio(runs as f64 * 1000.0, total_ms as f64),
        rows_per_second,
        rows_total,
        error_rate,
        success_rate: ratio(successes as f64, runs as f64),
        resource_efficiency,
        optimization_recommendations: recommendations(&breakdown, total_ms, error_rate, runs),
        step_breakdown: breakdown,
    }
}

/// One row per step name, in the order the steps first ran.
fn breakdown(steps: &[(String, bool, StepMetrics)]) -> Vec<StepBreakdown> {
    let mut rows: Vec<StepBreakdown> = Vec::new();
    for (name, ok, m) in steps {
        let i = match rows.iter().position(|r| &r.step == name) {
            Some(i) => i,
            None => {
                rows.push(StepBreakdown {
                    step: name.clone(),
                    runs: 0,
                    successes: 0,
                    total_time_ms: 0,
                    mean_time_ms: 0.0,
                    peak_memory_mb: 0.0,
                    cpu_time_ms: 0,
                    rows: None,
                });
                rows.len() - 1
            }
        };
        let r = &mut rows[i];
        r.runs += 1;
        r.successes += u32::from(*ok);
        r.total_time_ms += m.execution_time_ms;
        r.cpu_time_ms += m.cpu_time_ms;
        r.peak_memory_mb = r.peak_memory_mb.max(m.peak_memory_mb);
        if let Some(n) = m.rows {
            r.rows = Some(r.rows.unwrap_or(0) + n);
        }
        r.mean_time_ms = r.total_time_ms as f64 / f64::from(r.runs);
    }
    rows
}

fn recommendations(
    rows: &[StepBreakdown],
    total_ms: u64,
    error_rate: f64,
    runs: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    let slowest = rows.iter().max_by_key(|r| r.total_time_ms);
    if let Some(r) = slowest {
        let share = if total_ms > 0 {
            r.total_time_ms as f64 / total_ms as f64
        } else {
            0.0
        };
        if rows.len() >= 2 && share > SLOW_SHARE {
            out.push(format!(
                "slow step `{}`: {:.0} % of the run time ({:.1} s); look at what it waits on, split it or cache its inputs",
                r.step,
                share * 100.0,
                r.total_time_ms as f64 / 1000.0
            ));
        } else if r.mean_time_ms > SLOW_STEP_MS as f64 {
            out.push(format!(
                "slow step `{}`: {:.1} min per run (over {} min); split it or cache its inputs",
                r.step,
                r.mean_time_ms / 60_000.0,
                SLOW_STEP_MS / 60_000
            ));
        }
    }
    for r in rows {
        let cpu = if r.total_time_ms > 0 {
            r.cpu_time_ms as f64 * 100.0 / r.total_time_ms as f64
        } else {
            0.0
        };
        if cpu > CPU_BOUND_PERCENT {
            out.push(format!(
                "cpu-bound step `{}`: {cpu:.0} % CPU (100 = one core); give it more cores or spread its work",
                r.step
            ));
        }
    }
    if error_rate > ERROR_RATE_LIMIT {
        let failed = rows.iter().map(|r| r.runs - r.successes).sum::<u32>();
        out.push(format!(
            "error rate {:.0} % ({failed} of {runs} step runs failed, over {:.0} %): fix the failing steps before tuning speed",
            error_rate * 100.0,
            ERROR_RATE_LIMIT * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(ms: u64, cpu_ms: u64, mem: f64, rows: Option<u64>) -> StepMetrics {
        StepMetrics {
            execution_time_ms: ms,
            cpu_time_ms: cpu_ms,
            cpu_usage_percent: 0.0,
            peak_memory_mb: mem,
            rows,
            processes: 1,
            samples: 1,
        }
    }

    type Run = (String, bool, StepMetrics);

    fn run(name: &str, ok: bool, metrics: StepMetrics) -> Run {
        (name.to_string(), ok, metrics)
    }

    #[test]
    fn empty_session_is_all_zero() {
        let p = summarize(&[], 0);
        assert_eq!(p, PerformanceMetrics::default());
    }

    #[test]
    fn totals_and_rates() {
        let steps = vec![
            run("extract", true, m(1000, 200, 50.0, Some(1000))),
            run("load", false, m(2000, 600, 120.0, None)),
            run("extract", true, m(1000, 200, 70.0, Some(3000))),
            run("load", true, m(4000, 1000, 80.0, None)),
        ];
        let p = summarize(&steps, 10_000);
        assert_eq!(p.execution_time_ms, 10_000);
        assert!((p.throughput_ops_per_second - 0.4).abs() < 1e-9);
        assert_eq!(p.error_rate, 0.25);
        assert_eq!(p.success_rate, 0.75);
        assert_eq!(p.memory_usage_mb, 120.0);
        assert!((p.cpu_usage_percent - 25.0).abs() < 1e-9); // 2000 / 8000
        assert_eq!(p.rows_total, Some(4000));
        assert_eq!(p.rows_per_second, Some(2000.0)); // 4000 rows in 2 s
        assert!((p.resource_efficiency - 1400.0 / 2000.0).abs() < 1e-9);
        let b = &p.step_breakdown;
        assert_eq!(b.len(), 2);
        assert_eq!(
            (b[0].step.as_str(), b[0].runs, b[0].successes),
            ("extract", 2, 2)
        );
        assert_eq!(
            (b[0].total_time_ms, b[0].mean_time_ms, b[0].peak_memory_mb),
            (2000, 1000.0, 70.0)
        );
        assert_eq!(b[0].rows, Some(4000));
        assert_eq!(
            (b[1].step.as_str(), b[1].runs, b[1].successes),
            ("load", 2, 1)
        );
        assert_eq!(b[1].rows, None);
    }

    #[test]
    fn efficiency_falls_back_to_wall_time_without_cpu_figures() {
        let steps = vec![
            run("a", true, m(3000, 0, 0.0, None)),
            run("a", false, m(1000, 0, 0.0, None)),
        ];
        assert_eq!(summarize(&steps, 4000).resource_efficiency, 0.75);
        assert_eq!(
            summarize(&[run("a", true, m(0, 0, 0.0, None))], 0).resource_efficiency,
            1.0
        );
    }

    /// (steps, total_ms, recommendation prefixes expected, in order)
    #[test]
    fn recommendations_table() {
        let table: Vec<(Vec<Run>, u64, Vec<&str>)> = vec![
            // balanced, healthy: nothing to say
            (
                vec![
                    run("a", true, m(1000, 100, 1.0, None)),
                    run("b", true, m(1000, 100, 1.0, None)),
                ],
                2500,
                vec![],
            ),
            // one step dominates
            (
                vec![
                    run("a", true, m(100, 10, 1.0, None)),
                    run("b", true, m(3000, 10, 1.0, None)),
                ],
                3500,
                vec!["slow step `b`: 86 %"],
            ),
            // a single step is 100 % of the run: not news, unless over 5 min
            (
                vec![run("only", true, m(1000, 10, 1.0, None))],
                1000,
                vec![],
            ),
            (
                vec![run("only", true, m(400_000, 10, 1.0, None))],
                400_000,
                vec!["slow step `only`: 6.7 min"],
            ),
            // cpu bound
            (
                vec![run("t", true, m(1000, 950, 1.0, None))],
                1000,
                vec!["cpu-bound step `t`: 95 %"],
            ),
            (vec![run("t", true, m(1000, 800, 1.0, None))], 1000, vec![]),
            // error rate: 1 of 20 is 5 % (not above), 1 of 4 is
            (
                (0..20)
                    .map(|i| run("s", i != 0, m(10, 1, 1.0, None)))
                    .collect(),
                1000,
                vec![],
            ),
            (
                (0..4)
                    .map(|i| run("s", i != 0, m(10, 1, 1.0, None)))
                    .collect(),
                1000,
                vec!["error rate 25 % (1 of 4 step runs failed"],
            ),
        ];
        for (i, (steps, total, want)) in table.into_iter().enumerate() {
            let got = summarize(&steps, total).optimization_recommendations;
            assert_eq!(got.len(), want.len(), "row {i}: {got:?}");
            for (g, w) in got.iter().zip(&want) {
                assert!(g.starts_with(w), "row {i}: {g:?} should start with {w:?}");
            }
        }
    }
}
