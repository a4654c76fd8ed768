//! Time as an input: the real monotonic clock, and a manual one in tests.

use std::time::Instant;

/// Where the recovery blocks read the time from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

#[cfg(test)]
pub(crate) use manual::ManualClock;

#[cfg(test)]
mod manual {
    use super::Clock;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// A clock that moves only when told to.
    #[derive(Debug)]
    pub struct ManualClock {
        base: Instant,
        offset: Mutex<Duration>,
    }

    impl Default for ManualClock {
        fn default() -> Self {
            ManualClock::new()
        }
    }

    impl ManualClock {
        pub fn new() -> ManualClock {
            ManualClock {
                base: Instant::now(),
                offset: Mutex::new(Duration::ZERO),
            }
        }

        /// Moves the clock forward by `d`.
        pub fn advance(&self, d: Duration) {
            *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += d;
        }
    }

    impl Clock for ManualClock {
        fn now(&self) -> Instant {
            self.base + *self.offset.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}
