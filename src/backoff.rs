//! The one delay function: exponential with a cap and jitter, for the
//! waits between iterations and between the attempts of a retried operation
//! ([`crate::recovery::RetryPolicy`]).

use std::time::Duration;

/// How the computed delay is randomised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Jitter {
    /// Exactly the exponential delay.
    None,
    /// Uniform in [0, delay].
    Full,
    /// delay/2 + uniform in [0, delay/2].
    Equal,
}

/// Exponential backoff settings. A fixed delay is `multiplier` 1 with
/// `max` = `initial` and no jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub initial: Duration,
    pub multiplier: f64,
    pub max: Duration,
    pub jitter: Jitter,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(2),
            multiplier: 2.0,
            max: Duration::from_secs(60),
            jitter: Jitter::Full,
        }
    }
}

impl Backoff {
    /// The same `delay` every time.
    pub fn fixed(delay: Duration) -> Backoff {
        Backoff {
            initial: delay,
            multiplier: 1.0,
            max: delay,
            jitter: Jitter::None,
        }
    }

    /// The un-jittered delay before retry number `retry` (0 = after the
    /// first failure): `initial * multiplier ^ retry`, at most `max`.
    pub fn base_delay(&self, retry: u32) -> Duration {
        let factor = self.multiplier.powi(retry.min(64) as i32);
        let secs = (self.initial.as_secs_f64() * factor).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The delay before retry number `retry`, jittered with `unit` in [0, 1)
    /// (clamped): the caller passes its randomness in, so this stays pure.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let base = self.base_delay(retry);
        let unit = unit.clamp(0.0, 1.0);
        match self.jitter {
            Jitter::None => base,
            Jitter::Full => base.mul_f64(unit),
            Jitter::Equal => base / 2 + (base / 2).mul_f64(unit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn b(initial: u64, multiplier: f64, max: u64, jitter: Jitter) -> Backoff {
        Backoff {
            initial: ms(initial),
            multiplier,
            max: ms(max),
            jitter,
        }
    }

    #[test]
    fn delays_follow_the_settings() {
        let expo = b(2000, 2.0, 60_000, Jitter::None);
        let full = b(100, 2.0, 1000, Jitter::Full);
        let equal = b(100, 2.0, 1000, Jitter::Equal);
        let fixed = Backoff::fixed(ms(250));
        // (backoff, retry, unit, expected)
        let table: Vec<(&Backoff, u32, f64, Duration)> = vec![
            (&expo, 0, 0.5, ms(2000)),
            (&expo, 1, 0.5, ms(4000)),
            (&expo, 4, 0.5, ms(32_000)),
            (&expo, 5, 0.5, ms(60_000)), // capped
            (&expo, 6, 0.5, ms(60_000)),
            (&expo, u32::MAX, 0.0, ms(60_000)), // no overflow
            (&fixed, 0, 0.3, ms(250)),
            (&fixed, 7, 0.9, ms(250)),
            (&full, 2, 0.5, ms(200)),
            (&full, 2, 0.0, ms(0)),
            (&full, 9, 0.5, ms(500)), // capped, then jittered
            (&full, 0, 7.0, ms(100)), // unit clamped
            (&full, 0, -1.0, ms(0)),
            (&equal, 2, 0.0, ms(200)),
            (&equal, 2, 0.5, ms(300)),
            (&equal, 2, 1.0, ms(400)),
        ];
        for (i, (backoff, retry, unit, want)) in table.into_iter().enumerate() {
            assert_eq!(backoff.delay(retry, unit), want, "row {i}: {backoff:?}");
        }
    }

    #[test]
    fn jitter_stays_in_its_band() {
        let (full, equal) = (
            b(2000, 2.0, 60_000, Jitter::Full),
            b(2000, 2.0, 60_000, Jitter::Equal),
        );
        for unit in [0.0, 0.3, 0.999] {
            assert!(full.delay(3, unit) <= ms(16_000));
            let e = equal.delay(3, unit);
            assert!(e >= ms(8000) && e <= ms(16_000), "{e:?}");
        }
    }
}
