//! Retry policies (fixed, linear, exponential, random) with jitter, and an
//! async helper that runs an operation under a policy.

use crate::backoff::Jitter;
use std::future::Future;
use std::time::{Duration, Instant};

/// How the delay grows from one retry to the next.
#[derive(Debug, Clone, PartialEq)]
pub enum Delays {
    /// The same delay every time.
    Fixed(Duration),
    /// `initial + step * retry`.
    Linear { initial: Duration, step: Duration },
    /// `initial * multiplier ^ retry`.
    Exponential { initial: Duration, multiplier: f64 },
    /// Uniform in `[min, max]`; jitter does not apply on top.
    Random { min: Duration, max: Duration },
}

/// When and how often to try again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub delays: Delays,
    pub jitter: Jitter,
    /// Attempts in all, the first one included (1 = no retry).
    pub max_attempts: u32,
    /// No delay is longer than this, before jitter.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// 3 attempts, 500 ms doubling up to 10 s, full jitter.
    fn default() -> Self {
        RetryPolicy::exponential(Duration::from_millis(500), 2.0, 3)
    }
}

impl RetryPolicy {
    pub fn fixed(delay: Duration, max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            delays: Delays::Fixed(delay),
            jitter: Jitter::None,
            max_attempts,
            max_delay: delay,
        }
    }

    pub fn exponential(initial: Duration, multiplier: f64, max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            delays: Delays::Exponential {
                initial,
                multiplier,
            },
            jitter: Jitter::Full,
            max_attempts,
            max_delay: Duration::from_secs(10),
        }
    }

    /// The delay before retry number `retry` (0 = after the first failed
    /// attempt, as in [`crate::backoff::Backoff`]), with `unit_random` in
    /// [0, 1) as the source of jitter.
    pub fn delay(&self, retry: u32, unit_random: f64) -> Duration {
        let unit = unit_random.clamp(0.0, 1.0);
        let n = retry.min(64);
        let base = match &self.delays {
            Delays::Fixed(d) => *d,
            Delays::Linear { initial, step } => initial.saturating_add(step.saturating_mul(n)),
            Delays::Exponential {
                initial,
                multiplier,
            } => {
                let secs = initial.as_secs_f64() * multiplier.max(1.0).powi(n as i32);
                Duration::from_secs_f64(secs.min(self.max_delay.as_secs_f64()).max(0.0))
            }
            Delays::Random { min, max } => {
                let (lo, hi) = (min.min(max), min.max(max));
                return *lo + (*hi - *lo).mul_f64(unit);
            }
        };
        let base = base.min(self.max_delay);
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => base.mul_f64(unit),
            Jitter::Equal => base / 2 + (base / 2).mul_f64(unit),
        }
    }
}

/// What a retried operation came to.
#[derive(Debug)]
pub struct RetryOutcome<T, E> {
    /// The last attempt's result.
    pub result: Result<T, E>,
    /// Attempts made, the first one included.
    pub attempts: u32,
    pub elapsed: Duration,
}

/// Runs `op` until it succeeds or the policy's attempts are spent.
pub async fn retry<T, E, F, Fut>(policy: &RetryPolicy, op: F) -> RetryOutcome<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_if(policy, op, |_| true).await
}

/// Runs `op` (given the 1-based attempt number) until it succeeds, fails
/// with an error `retryable` rejects, or the attempts are spent.
pub async fn retry_if<T, E, F, Fut, R>(
    policy: &RetryPolicy,
    op: F,
    retryable: R,
) -> RetryOutcome<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: Fn(&E) -> bool,
{
    retry_until(policy, op, retryable, std::future::pending::<()>()).await
}

/// As `retry_if`, but the wait between attempts ends when `stop` does, and
/// no attempt starts after that: the last attempt's result is returned.
/// `stop` is typically "a signal arrived"; `retryable` should check it too,
/// for a signal that came during an attempt.
pub async fn retry_until<T, E, F, Fut, R, S>(
    policy: &RetryPolicy,
    mut op: F,
    retryable: R,
    stop: S,
) -> RetryOutcome<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: Fn(&E) -> bool,
    S: Future<Output = ()>,
{
    let start = Instant::now();
    let max = policy.max_attempts.max(1);
    let mut attempt = 1;
    tokio::pin!(stop);
    loop {
        let result = op(attempt).await;
        let give_up = match &result {
            Ok(_) => true,
            Err(e) => attempt >= max || !retryable(e),
        };
        let stopped = !give_up && {
            let delay = policy.delay(attempt - 1, rand::random::<f64>());
            tokio::select! {
                _ = tokio::time::sleep(delay) => false,
                _ = &mut stop => true,
            }
        };
        if give_up || stopped {
            return RetryOutcome {
                result,
                attempts: attempt,
                elapsed: start.elapsed(),
            };
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_follow_the_policy() {
        let linear = RetryPolicy {
            delays: Delays::Linear {
                initial: ms(100),
                step: ms(50),
            },
            jitter: Jitter::None,
            max_attempts: 5,
            max_delay: ms(180),
        };
        let expo = RetryPolicy {
            jitter: Jitter::None,
            max_delay: ms(1000),
            ..RetryPolicy::exponential(ms(100), 2.0, 5)
        };
        let random = RetryPolicy {
            delays: Delays::Random {
                min: ms(100),
                max: ms(300),
            },
            jitter: Jitter::Full,
            max_attempts: 3,
            max_delay: ms(0),
        };
        let full = RetryPolicy {
            max_delay: ms(1000),
            ..RetryPolicy::exponential(ms(100), 2.0, 5)
        };
        let equal = RetryPolicy {
            jitter: Jitter::Equal,
            ..full.clone()
        };
        let fixed = RetryPolicy::fixed(ms(250), 3);
        // (policy, retry, unit, expected)
        let table: Vec<(&RetryPolicy, u32, f64, Duration)> = vec![
            (&fixed, 0, 0.3, ms(250)),
            (&fixed, 7, 0.9, ms(250)),
            (&linear, 0, 0.5, ms(100)),
            (&linear, 1, 0.5, ms(150)),
            (&linear, 2, 0.5, ms(180)), // capped
            (&expo, 0, 0.5, ms(100)),
            (&expo, 3, 0.5, ms(800)),
            (&expo, 4, 0.5, ms(1000)), // capped
            (&expo, 500, 0.5, ms(1000)),
            (&random, 0, 0.0, ms(100)),
            (&random, 9, 0.5, ms(200)),
            (&random, 1, 1.0, ms(300)),
            (&full, 2, 0.5, ms(200)),
            (&full, 2, 0.0, ms(0)),
            (&equal, 2, 0.0, ms(200)),
            (&equal, 2, 1.0, ms(400)),
            (&full, 0, 7.0, ms(100)), // unit clamped
        ];
        for (i, (p, retry, unit, want)) in table.into_iter().enumerate() {
            assert_eq!(p.delay(retry, unit), want, "row {i}: {p:?} retry {retry}");
        }
    }

    fn instant(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::fixed(Duration::ZERO, max_attempts)
    }

    #[tokio::test]
    async fn retry_stops_at_the_first_success() {
        let out = retry(&instant(5), |n| async move {
            if n < 3 {
                Err(format!("attempt {n}"))
            } else {
                Ok(n)
            }
        })
        .await;
        assert_eq!(out.result, Ok(3));
        assert_eq!(out.attempts, 3);
    }

    #[tokio::test]
    async fn retry_gives_up_after_max_attempts() {
        let out: RetryOutcome<(), u32> = retry(&instant(4), |n| async move { Err(n) }).await;
        assert_eq!(out.result, Err(4));
        assert_eq!(out.attempts, 4);
    }

    #[tokio::test]
    async fn retry_if_stops_on_a_non_retryable_error() {
        let out: RetryOutcome<(), &str> = retry_if(
            &instant(5),
            |n| async move { Err(if n == 2 { "fatal" } else { "flaky" }) },
            |e| *e != "fatal",
        )
        .await;
        assert_eq!(out.result, Err("fatal"));
        assert_eq!(out.attempts, 2);
    }

    #[tokio::test]
    async fn zero_max_attempts_still_tries_once() {
        let out = retry(&instant(0), |_| async { Err::<(), _>("no") }).await;
        assert_eq!(out.attempts, 1);
    }

    #[tokio::test]
    async fn a_stop_ends_the_wait_and_no_attempt_follows() {
        let policy = RetryPolicy::fixed(Duration::from_secs(30), 3);
        let started = Instant::now();
        let mut calls = 0;
        let out: RetryOutcome<(), &str> = retry_until(
            &policy,
            |_| {
                calls += 1;
                async { Err("down") }
            },
            |_| true,
            tokio::time::sleep(ms(50)),
        )
        .await;
        assert_eq!(out.attempts, 1);
        assert_eq!(calls, 1);
        assert!(out.result.is_err());
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}
