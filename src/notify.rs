//! `--notify URL`: a JSON POST of the final verdict, with a Slack-compatible
//! `text` field, sent at the end of the run and retried through `recovery`.
//!
//! A plain HTTP/1.1 client over a TCP socket: enough for a webhook relay on
//! the runner's network without a TLS stack in the binary. `https://` is not
//! supported yet.

use crate::cycle::events::{Event, Observer};
use crate::recovery::{retry_if, RetryPolicy};
use crate::report::Report;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Why a notification could not be set up or sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotifyError {
    #[error("`{0}` is an https URL: https is not supported yet (use an http:// relay)")]
    HttpsUnsupported(String),
    #[error("`{0}` is not an http:// URL")]
    BadUrl(String),
    #[error("cannot reach {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("{addr} answered {status}")]
    Status { addr: String, status: u16 },
    #[error("{addr} did not answer within {} s", limit.as_secs())]
    TimedOut { addr: String, limit: Duration },
}

impl NotifyError {
    /// A server error or no answer may pass; a 4xx will not.
    fn retryable(&self) -> bool {
        match self {
            NotifyError::Status { status, .. } => *status >= 500 || *status == 429,
            NotifyError::Connect { .. } | NotifyError::TimedOut { .. } => true,
            _ => false,
        }
    }
}

/// Where to POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    /// Parses `http://HOST[:PORT][/PATH]`.
    pub fn parse(url: &str) -> Result<Target, NotifyError> {
        let url = url.trim();
        if url.len() >= 8 && url[..8].eq_ignore_ascii_case("https://") {
            return Err(NotifyError::HttpsUnsupported(url.into()));
        }
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| NotifyError::BadUrl(url.into()))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| NotifyError::BadUrl(url.into()))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() || authority.contains('@') {
            return Err(NotifyError::BadUrl(url.into()));
        }
        Ok(Target {
            host: host.to_string(),
            port,
            path: path.to_string(),
        })
    }

    fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

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

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// One POST; the status code on any answer.
async fn post_once(target: &Target, body: &[u8]) -> Result<u16, NotifyError> {
    let addr = target.addr();
    let io = async {
        let mut s = tokio::net::TcpStream::connect(&addr).await?;
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: auto-etl/{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            target.path,
            if target.port == 80 { target.host.clone() } else { addr.clone() },
            env!("CARGO_PKG_VERSION"),
            body.len()
        );
        s.write_all(head.as_bytes()).await?;
        s.write_all(body).await?;
        s.flush().await?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        // The status line is all that matters; stop reading after it.
        while !answer.windows(2).any(|w| w == b"\r\n") && answer.len() < 8192 {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
        }
        Ok::<Vec<u8>, std::io::Error>(answer)
    };
    let answer = match tokio::time::timeout(ATTEMPT_TIMEOUT, io).await {
        Err(_) => {
            return Err(NotifyError::TimedOut {
                addr,
                limit: ATTEMPT_TIMEOUT,
            })
        }
        Ok(Err(e)) => {
            return Err(NotifyError::Connect {
                addr,
                message: e.to_string(),
            })
        }
        Ok(Ok(a)) => a,
    };
    let line = String::from_utf8_lossy(&answer);
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| NotifyError::Connect {
            addr: addr.clone(),
            message: "no HTTP status line in the answer".into(),
        })?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(NotifyError::Status { addr, status })
    }
}

/// Posts `body` under `policy`; returns the attempts made and the result.
pub async fn post(
    target: &Target,
    body: &[u8],
    policy: &RetryPolicy,
) -> (u32, Result<u16, NotifyError>) {
    let out = retry_if(policy, |_| post_once(target, body), NotifyError::retryable).await;
    (out.attempts, out.result)
}

/// Sends the verdict at `RunEnd`.
pub struct Notifier {
    target: Target,
    url: String,
    policy: RetryPolicy,
}

impl Notifier {
    pub fn new(url: &str) -> Result<Notifier, NotifyError> {
        Ok(Notifier {
            target: Target::parse(url)?,
            url: url.to_string(),
            policy: RetryPolicy::exponential(Duration::from_millis(500), 2.0, 3),
        })
    }

    /// With another retry policy (tests use one without delays).
    pub fn with_policy(mut self, policy: RetryPolicy) -> Notifier {
        self.policy = policy;
        self
    }

    /// Sends the report's verdict now, blocking the caller until done.
    pub fn send(&self, report: &Report) -> (u32, Result<u16, NotifyError>) {
        let body = serde_json::to_vec(&payload(report)).unwrap_or_default();
        let target = self.target.clone();
        let policy = self.policy.clone();
        // Observers are called from inside the loop's runtime, where blocking
        // on a future is not allowed; a scoped thread with its own small
        // runtime keeps this usable from any context.
        std::thread::scope(|s| {
            s.spawn(|| {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(post(&target, &body, &policy)),
                    Err(e) => (
                        0,
                        Err(NotifyError::Connect {
                            addr: target.addr(),
                            message: format!("cannot start a runtime: {e}"),
                        }),
                    ),
                }
            })
            .join()
            .unwrap_or((
                0,
                Err(NotifyError::Connect {
                    addr: self.target.addr(),
                    message: "the notifier thread panicked".into(),
                }),
            ))
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
                tracing::info!("notified {} ({status}) after {n} attempt(s)", self.url)
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
    fn parses_http_urls_and_refuses_https() {
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/hooks/x?y=1").unwrap(),
            Target {
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/hooks/x?y=1".into()
            }
        );
        assert_eq!(Target::parse("http://relay").unwrap().port, 80);
        assert!(matches!(
            Target::parse("https://hooks.slack.com/x"),
            Err(NotifyError::HttpsUnsupported(_))
        ));
        assert!(matches!(
            Target::parse("ftp://x"),
            Err(NotifyError::BadUrl(_))
        ));
        assert!(matches!(
            Target::parse("http://:80/"),
            Err(NotifyError::BadUrl(_))
        ));
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
