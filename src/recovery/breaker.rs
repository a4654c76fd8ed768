//! A circuit breaker: after repeated failures of a dependency (the Docker
//! API, a git push) stop calling it for a while, then let a few trial calls
//! through before trusting it again.

use super::{Clock, RecoveryError, SystemClock};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The breaker's thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Consecutive failures (closed) that open the circuit.
    pub failure_threshold: u32,
    /// Successful trial calls (half-open) that close it again.
    pub success_threshold: u32,
    /// How long the circuit stays open before trial calls are let through.
    pub open_timeout: Duration,
}

impl Default for BreakerConfig {
    /// 5 failures open it for 30 s; 2 good trials close it.
    fn default() -> Self {
        BreakerConfig {
            failure_threshold: 5,
            success_threshold: 2,
            open_timeout: Duration::from_secs(30),
        }
    }
}

/// Where the breaker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

#[derive(Debug)]
enum Inner {
    Closed {
        failures: u32,
    },
    Open {
        since: Instant,
    },
    /// `in_flight` trials are running; at most `success_threshold` at once.
    HalfOpen {
        successes: u32,
        in_flight: u32,
    },
}

/// A named circuit breaker; cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct CircuitBreaker {
    name: String,
    cfg: BreakerConfig,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    /// A breaker on the real clock.
    pub fn new(name: &str, cfg: BreakerConfig) -> CircuitBreaker {
        CircuitBreaker::with_clock(name, cfg, Arc::new(SystemClock))
    }

    pub fn with_clock(name: &str, cfg: BreakerConfig, clock: Arc<dyn Clock>) -> CircuitBreaker {
        CircuitBreaker {
            name: name.to_string(),
            cfg,
            clock,
            inner: Mutex::new(Inner::Closed { failures: 0 }),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state now; an open circuit whose timeout has passed reads as
    /// half-open.
    pub fn state(&self) -> BreakerState {
        let now = self.clock.now();
        match *self.lock() {
            Inner::Closed { .. } => BreakerState::Closed,
            Inner::Open { since } if now.duration_since(since) >= self.cfg.open_timeout => {
                BreakerState::HalfOpen
            }
            Inner::Open { .. } => BreakerState::Open,
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may go ahead now. A `true` must be followed by
    /// [`on_success`](Self::on_success) or [`on_failure`](Self::on_failure).
    pub fn allow(&self) -> bool {
        self.try_acquire().is_ok()
    }

    /// As [`allow`](Self::allow), with the error to report when refused.
    pub fn try_acquire(&self) -> Result<(), RecoveryError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        if let Inner::Open { since } = *inner {
            let open_for = now.duration_since(since);
            if open_for < self.cfg.open_timeout {
                return Err(RecoveryError::CircuitOpen {
                    name: self.name.clone(),
                    retry_after: self.cfg.open_timeout - open_for,
                });
            }
            *inner = Inner::HalfOpen {
                successes: 0,
                in_flight: 0,
            };
        }
        if let Inner::HalfOpen { in_flight, .. } = &mut *inner {
            if *in_flight >= self.cfg.success_threshold.max(1) {
                return Err(RecoveryError::CircuitOpen {
                    name: self.name.clone(),
                    retry_after: Duration::ZERO,
                });
            }
            *in_flight += 1;
        }
        Ok(())
    }

    /// The call went well.
    pub fn on_success(&self) {
        let mut inner = self.lock();
        match &mut *inner {
            Inner::Closed { failures } => *failures = 0,
            Inner::Open { .. } => {}
            Inner::HalfOpen {
                successes,
                in_flight,
            } => {
                *in_flight = in_flight.saturating_sub(1);
                *successes += 1;
                if *successes >= self.cfg.success_threshold {
                    *inner = Inner::Closed { failures: 0 };
                }
            }
        }
    }

    /// The call failed.
    pub fn on_failure(&self) {
        let now = self.clock.now();
        let mut inner = self.lock();
        match &mut *inner {
            Inner::Closed { failures } => {
                *failures += 1;
                if *failures >= self.cfg.failure_threshold.max(1) {
                    *inner = Inner::Open { since: now };
                }
            }
            // A failed trial re-opens the circuit for a full timeout.
            Inner::HalfOpen { .. } => *inner = Inner::Open { since: now },
            Inner::Open { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::ManualClock;

    #[derive(Debug, Clone, Copy)]
    enum Op {
        /// allow() must give this answer
        Allow(bool),
        Good,
        Bad,
        Wait(u64),
        Is(BreakerState),
    }
    use BreakerState::*;
    use Op::*;

    fn run(table: &[Op]) {
        let clock = Arc::new(ManualClock::new());
        let cfg = BreakerConfig {
            failure_threshold: 3,
            success_threshold: 2,
            open_timeout: Duration::from_secs(10),
        };
        let b = CircuitBreaker::with_clock("docker", cfg, clock.clone());
        for (i, op) in table.iter().enumerate() {
            match *op {
                Allow(want) => assert_eq!(b.allow(), want, "step {i}: allow"),
                Good => b.on_success(),
                Bad => b.on_failure(),
                Wait(s) => clock.advance(Duration::from_secs(s)),
                Is(s) => assert_eq!(b.state(), s, "step {i}: state"),
            }
        }
    }

    #[rustfmt::skip]
    #[test]
    fn opens_after_consecutive_failures_only() {
        run(&[Is(Closed), Bad, Bad, Good, Bad, Bad, Is(Closed), Bad, Is(Open), Allow(false)]);
    }

    #[rustfmt::skip]
    #[test]
    fn stays_open_until_the_timeout() {
        run(&[Bad, Bad, Bad, Wait(9), Allow(false), Is(Open), Wait(1), Is(HalfOpen)]);
    }

    #[rustfmt::skip]
    #[test]
    fn half_open_closes_after_enough_good_trials() {
        run(&[
            Bad, Bad, Bad, Wait(10),
            Allow(true), Good, Is(HalfOpen),
            Allow(true), Good, Is(Closed),
            Allow(true),
        ]);
    }

    #[rustfmt::skip]
    #[test]
    fn a_failed_trial_reopens_for_a_full_timeout() {
        run(&[
            Bad, Bad, Bad, Wait(10),
            Allow(true), Good,
            Allow(true), Bad, Is(Open),
            Wait(5), Allow(false),
            Wait(5), Allow(true), Is(HalfOpen),
        ]);
    }

    #[rustfmt::skip]
    #[test]
    fn half_open_limits_concurrent_trials() {
        run(&[
            Bad, Bad, Bad, Wait(10),
            Allow(true), Allow(true), Allow(false),
            Good, Is(HalfOpen), Allow(true),
        ]);
    }

    #[test]
    fn refusal_says_when_to_retry() {
        let clock = Arc::new(ManualClock::new());
        let cfg = BreakerConfig {
            failure_threshold: 1,
            ..BreakerConfig::default()
        };
        let b = CircuitBreaker::with_clock("git push", cfg, clock.clone());
        b.on_failure();
        clock.advance(Duration::from_secs(12));
        assert_eq!(
            b.try_acquire(),
            Err(RecoveryError::CircuitOpen {
                name: "git push".into(),
                retry_after: Duration::from_secs(18)
            })
        );
    }
}
