//! A bulkhead: at most N operations at once, at most M waiting, the rest
//! refused.
//!
//! Its one user, parallel Docker removals, already starts no more than the
//! bulkhead holds (`buffer_unordered(capacity)`), so the refusal can never
//! happen there; a plain `buffer_unordered(limit)` bounds removals alone.
//! Once the removals are bounded that way this type goes.

use super::RecoveryError;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Limits concurrency, e.g. of parallel Docker removals.
#[derive(Debug, Clone)]
pub struct Bulkhead {
    name: String,
    max_concurrent: usize,
    max_waiting: usize,
    permits: Arc<Semaphore>,
    waiting: Arc<AtomicUsize>,
}

/// A place in the bulkhead; freed on drop.
#[derive(Debug)]
pub(crate) struct BulkheadPermit {
    _permit: OwnedSemaphorePermit,
}

/// Counts a waiter for as long as it waits, even if its future is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Bulkhead {
    pub fn new(name: &str, max_concurrent: usize, max_waiting: usize) -> Bulkhead {
        let max_concurrent = max_concurrent.max(1);
        Bulkhead {
            name: name.to_string(),
            max_concurrent,
            max_waiting,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Operations it holds at most: running plus waiting.
    pub fn capacity(&self) -> usize {
        self.max_concurrent + self.max_waiting
    }

    /// Operations running now.
    #[cfg(test)]
    pub fn running(&self) -> usize {
        self.max_concurrent - self.permits.available_permits()
    }

    /// Operations waiting for a place now.
    #[cfg(test)]
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Acquire)
    }

    fn full(&self) -> RecoveryError {
        RecoveryError::BulkheadFull {
            name: self.name.clone(),
            max_concurrent: self.max_concurrent,
            max_waiting: self.max_waiting,
        }
    }

    /// A place now, or after waiting in line; refused when the line is full.
    pub async fn acquire(&self) -> Result<BulkheadPermit, RecoveryError> {
        if let Ok(p) = self.permits.clone().try_acquire_owned() {
            return Ok(BulkheadPermit { _permit: p });
        }
        let max = self.max_waiting;
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                (w < max).then_some(w + 1)
            })
            .map_err(|_| self.full())?;
        let _waiting = Waiting(&self.waiting);
        let p = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| self.full())?;
        Ok(BulkheadPermit { _permit: p })
    }

    /// Runs `fut` inside the bulkhead.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, RecoveryError> {
        let _permit = self.acquire().await?;
        Ok(fut.await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::with_timeout;
    use std::time::Duration;

    #[tokio::test]
    async fn refuses_beyond_max_waiting() {
        let b = Bulkhead::new("docker removals", 2, 1);
        let p1 = b.acquire().await.unwrap();
        let _p2 = b.acquire().await.unwrap();
        assert_eq!(b.running(), 2);

        let b2 = b.clone();
        let waiter = tokio::spawn(async move { b2.run(async { 42 }).await });
        while b.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        let refused = b.acquire().await.unwrap_err();
        assert_eq!(
            refused.to_string(),
            "bulkhead `docker removals` is full: 2 running, 1 waiting"
        );

        drop(p1);
        assert_eq!(waiter.await.unwrap(), Ok(42));
        assert_eq!(b.waiting(), 0);
    }

    #[tokio::test]
    async fn a_cancelled_waiter_frees_its_place_in_line() {
        let b = Bulkhead::new("x", 1, 1);
        let _p = b.acquire().await.unwrap();
        let gave_up = with_timeout(Duration::from_millis(20), "wait", b.acquire()).await;
        assert!(gave_up.is_err());
        assert_eq!(b.waiting(), 0);
    }

    #[tokio::test]
    async fn runs_at_most_max_concurrent_at_once() {
        let b = Bulkhead::new("x", 3, 100);
        let peak = Arc::new(AtomicUsize::new(0));
        let now = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (b, peak, now) = (b.clone(), peak.clone(), now.clone());
                tokio::spawn(async move {
                    b.run(async {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
