//! Delays between iterations: exponential with a cap and jitter.

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

/// Exponential backoff settings.
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
    /// The un-jittered delay before retry number `retry` (0 = after the first failure).
    pub fn base_delay(&self, retry: u32) -> Duration {
        let factor = self.multiplier.powi(retry.min(64) as i32);
        let secs = (self.initial.as_secs_f64() * factor).min(self.max.as_secs_f64());
        Duration::from_secs_f64(secs.max(0.0))
    }

    /// The delay before retry number `retry`, jittered with `unit` in [0, 1).
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

    fn b(jitter: Jitter) -> Backoff {
        Backoff {
            initial: Duration::from_secs(2),
            multiplier: 2.0,
            max: Duration::from_secs(60),
            jitter,
        }
    }

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let secs: Vec<u64> = (0..7)
            .map(|n| b(Jitter::None).delay(n, 0.5).as_secs())
            .collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn jitter_stays_in_its_band() {
        for unit in [0.0, 0.3, 0.999] {
            let full = b(Jitter::Full).delay(3, unit);
            assert!(full <= Duration::from_secs(16));
            let equal = b(Jitter::Equal).delay(3, unit);
            assert!(equal >= Duration::from_secs(8) && equal <= Duration::from_secs(16));
        }
        assert_eq!(b(Jitter::Full).delay(3, 0.0), Duration::ZERO);
    }

    #[test]
    fn huge_retry_numbers_do_not_overflow() {
        assert_eq!(
            b(Jitter::None).delay(u32::MAX, 0.0),
            Duration::from_secs(60)
        );
    }
}
