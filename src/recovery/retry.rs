//! Retry policies (a fixed delay, or exponential with jitter) and an async
//! helper that runs an operation under one. The delays come from
//! [`Backoff::delay`], the same function that spaces the iterations.

use crate::backoff::{Backoff, Jitter};
use std::future::Future;
use std::time::{Duration, Instant};

/// When and how often to try again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// The waits between attempts.
    pub backoff: Backoff,
    /// Attempts in all, the first one included (1 = no retry).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    /// 3 attempts, 500 ms doubling up to 10 s, full jitter.
    fn default() -> Self {
        RetryPolicy::exponential(Duration::from_millis(500), 2.0, 3)
    }
}

impl RetryPolicy {
    /// `max_attempts`, `delay` apart.
    pub fn fixed(delay: Duration, max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff::fixed(delay),
            max_attempts,
        }
    }

    /// `max_attempts`, the waits growing from `initial` by `multiplier` up
    /// to 10 s, with full jitter.
    pub fn exponential(initial: Duration, multiplier: f64, max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff {
                initial,
                multiplier,
                max: Duration::from_secs(10),
                jitter: Jitter::Full,
            },
            max_attempts,
        }
    }

    /// The delay before retry number `retry` (0 = after the first failed
    /// attempt), with `unit_random` in [0, 1) as the source of jitter.
    pub fn delay(&self, retry: u32, unit_random: f64) -> Duration {
        self.backoff.delay(retry, unit_random)
    }
}

/// What a retried operation came to.
#[derive(Debug)]
pub struct RetryOutcome<T, E> {
    /// The last attempt's result.
    pub result: Result<T, E>,
    /// Attempts made, the first one included.
    pub attempts: u32,
    /// When the first attempt failed; `None` if it succeeded. The time from
    /// there to the end is the time the retries took to recover.
    pub first_failure: Option<Instant>,
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
    let max = policy.max_attempts.max(1);
    let mut attempt = 1;
    let mut first_failure = None;
    tokio::pin!(stop);
    loop {
        let result = op(attempt).await;
        if result.is_err() && first_failure.is_none() {
            first_failure = Some(Instant::now());
        }
        let give_up = match &result {
            Ok(_) => true,
            Err(e) => attempt >= max || !retryable(e),
        };
        let stopped = !give_up && {
            let delay = policy.delay(attempt - 1, fastrand::f64());
            tokio::select! {
                _ = tokio::time::sleep(delay) => false,
                _ = &mut stop => true,
            }
        };
        if give_up || stopped {
            return RetryOutcome {
                result,
                attempts: attempt,
                first_failure,
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
    fn policies_take_their_delays_from_the_one_backoff() {
        let fixed = RetryPolicy::fixed(ms(250), 3);
        assert_eq!(
            (fixed.delay(0, 0.3), fixed.delay(7, 0.9)),
            (ms(250), ms(250))
        );
        let expo = RetryPolicy::exponential(ms(100), 2.0, 5);
        for (retry, unit) in [(0, 0.5), (3, 1.0), (9, 0.2)] {
            assert_eq!(expo.delay(retry, unit), expo.backoff.delay(retry, unit));
        }
        assert_eq!(expo.delay(3, 1.0), ms(800));
        assert_eq!(expo.delay(20, 1.0), Duration::from_secs(10));
    }

    fn always<E>(_: &E) -> bool {
        true
    }

    fn instant(max_attempts: u32) -> RetryPolicy {
        RetryPolicy::fixed(Duration::ZERO, max_attempts)
    }

    #[tokio::test]
    async fn retry_stops_at_the_first_success() {
        let out = retry_if(
            &instant(5),
            |n| async move {
                if n < 3 {
                    Err(format!("attempt {n}"))
                } else {
                    Ok(n)
                }
            },
            always,
        )
        .await;
        assert_eq!(out.result, Ok(3));
        assert_eq!(out.attempts, 3);
        assert!(out.first_failure.is_some());
    }

    #[tokio::test]
    async fn retry_gives_up_after_max_attempts() {
        let out: RetryOutcome<(), u32> =
            retry_if(&instant(4), |n| async move { Err(n) }, always).await;
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
        let out = retry_if(&instant(0), |_| async { Err::<(), _>("no") }, always).await;
        assert_eq!(out.attempts, 1);
    }

    #[tokio::test]
    async fn a_stop_ends_the_wait_and_no_attempt_follows() {
        let policy = RetryPolicy::fixed(Duration::from_secs(30), 3);
        let started = std::time::Instant::now();
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
