//! A timeout wrapper whose error names what timed out.

use super::RecoveryError;
use std::future::Future;
use std::time::Duration;

/// Runs `fut` for at most `limit`; `what` names it in the error.
pub async fn with_timeout<F: Future>(
    limit: Duration,
    what: &str,
    fut: F,
) -> Result<F::Output, RecoveryError> {
    tokio::time::timeout(limit, fut)
        .await
        .map_err(|_| RecoveryError::TimedOut {
            what: what.to_string(),
            limit,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn with_timeout_names_what_timed_out() {
        let slow = tokio::time::sleep(Duration::from_secs(5));
        let e = with_timeout(Duration::from_millis(10), "docker ping", slow)
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "docker ping timed out after 10 ms");
        let fast = with_timeout(Duration::from_secs(5), "x", async { 7 }).await;
        assert_eq!(fast, Ok(7));
    }
}
