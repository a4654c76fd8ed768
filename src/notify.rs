//! `--notify URL`: a JSON POST of the final verdict, with a Slack-compatible
//! `text` field, sent at the end of the run and retried through `recovery`.
//! `http://` and `https://` (system roots or `SSL_CERT_FILE`) through the
//! shared client in `ci::http`. The payload carries the verdict and the
//! report's path, nothing from the environment, and messages name only the
//! endpoint's scheme, host and port: a webhook's path is often its secret.

use crate::ci::http::{Client, Endpoint, HttpError};
use crate::cycle::events::{Event, Observer};
use crate::recovery::{retry_if, RetryPolicy};
use crate::report::Report;
use std::time::Duration;

/// Why a notification could not be set up or sent.
pub type NotifyError = HttpError;

/// The JSON body for a report.
pub fn payload(report: &Report) -> serde_json::Value {
    let (icon, word) = crate::report::markdown::verdict(&report.status);
    let text = format!(
        "auto-etl {icon} {word}: {} ({} iteration(s), {:.1}s, run {})",
        report.stop_reason,
        report.iterations_executed,
        report.total_duration_seconds,
        report.execution_id
    );
    serde_json::json!({
        "text": text,
        "status": report.status,
        "overall_success": report.overall_success,
        "stop_reason": report.stop_reason,
        "execution_id": report.execution_id,
        "iterations_executed": report.iterations_executed,
        "max_iterations": report.max_iterations,
        "total_duration_seconds": report.total_duration_seconds,
        "exit_code": crate::ci::exit_code(&report.status),
        "report": report.files.report,
    })
}

/// One attempt's limit, connection and TLS handshake included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts `body` under `policy`; returns the attempts made and the result.
pub async fn post(
    client: &Client,
    to: &Endpoint,
    body: &[u8],
    policy: &RetryPolicy,
) -> (u32, Result<u16, NotifyError>) {
    let once = |_| {
        let (client, to, body) = (client.clone(), to.clone(), body.to_vec());
        async move {
            // ureq blocks; keep it off the runtime's worker.
            tokio::task::spawn_blocking(move || client.send("POST", &to, "application/json", &body))
                .await
                .unwrap_or_else(|e| {
                    Err(HttpError::Connect {
                        addr: String::new(),
                        message: format!("the request thread failed: {e}"),
                    })
                })
        }
    };
    let out = retry_if(policy, once, HttpError::retryable).await;
    (out.attempts, out.result)
}

/// Sends the verdict at `RunEnd`.
pub struct Notifier {
    to: Endpoint,
    client: Client,
    policy: RetryPolicy,
}

impl Notifier {
    pub fn new(url: &str) -> Result<Notifier, NotifyError> {
        Ok(Notifier {
            to: Endpoint::parse(url)?,
            client: Client::new(ATTEMPT_TIMEOUT),
            policy: RetryPolicy::exponential(Duration::from_millis(500), 2.0, 3),
        })
    }

    /// With another retry policy (tests use one without delays).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Notifier {
        self.policy = policy;
        self
    }

    /// With another per-attempt timeout.
    pub fn with_timeout(mut self, limit: Duration) -> Notifier {
        self.client = Client::new(limit);
        self
    }

    /// Sends the report's verdict now, blocking the caller until done.
    pub fn send(&self, report: &Report) -> (u32, Result<u16, NotifyError>) {
        let body = serde_json::to_vec(&payload(report)).unwrap_or_default();
        // Observers are called from inside the loop's runtime, where blocking
        // on a future is not allowed; a scoped thread with its own small
        // runtime keeps this usable from any context.
        let failed = |message: String| {
            (
                0,
                Err(HttpError::Connect {
                    addr: self.to.addr.clone(),
                    message,
                }),
            )
        };
        std::thread::scope(|s| {
            s.spawn(|| {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(post(&self.client, &self.to, &body, &self.policy)),
                    Err(e) => failed(format!("cannot start a runtime: {e}")),
                }
            })
            .join()
            .unwrap_or_else(|_| failed("the notifier thread panicked".into()))
        })
    }
}

impl Observer for Notifier {
    fn event(&mut self, event: &Event) {
        let Event::RunEnd { report } = event else {
            return;
        };
        match self.send(report) {
            (n, Ok(status)) => {
                tracing::info!("notified {} ({status}) after {n} attempt(s)", self.to.addr)
            }
            (n, Err(e)) => {
                tracing::warn!("--notify failed after {n} attempt(s): {e}");
                eprintln!("auto-etl: --notify failed after {n} attempt(s): {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_urls_are_accepted_and_bad_ones_refused_without_a_panic() {
        assert!(Notifier::new("https://hooks.slack.com/services/x").is_ok());
        assert!(Notifier::new("http://127.0.0.1:8080/hooks/x?y=1").is_ok());
        // Issue 14 item 11: `--notify 'http://é/x'` panicked on a byte slice.
        assert!(matches!(
            Notifier::new("http://é/x"),
            Err(HttpError::BadUrl { .. })
        ));
        assert!(Notifier::new("ftp://x").is_err());
    }

    #[test]
    fn the_payload_is_slack_compatible() {
        let p = payload(&crate::ci::sample::report());
        assert_eq!(
            p["text"],
            "auto-etl ✅ GREEN: green at iteration 3 (3 iteration(s), 9.8s, run 20250109_123456)"
        );
        assert_eq!(p["exit_code"], 0);
    }
}
