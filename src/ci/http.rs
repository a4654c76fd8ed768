//! The HTTP(S) client that webhooks and the Pushgateway share: ureq over
//! rustls, trusting the system's root certificates (or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` when set, as OpenSSL and curl do), with one timeout for a
//! whole request so a dead endpoint cannot hold the end of a run.

use std::sync::Arc;
use std::time::Duration;
use ureq::tls::{Certificate, RootCerts, TlsConfig};

/// Why a request could not be made or was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HttpError {
    #[error("`{url}` is not an http:// or https:// URL with a host")]
    BadUrl { url: String },
    #[error("cannot reach {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("{addr} answered {status}")]
    Status { addr: String, status: u16 },
    #[error("{addr} did not answer within {} s", limit.as_secs())]
    TimedOut { addr: String, limit: Duration },
}

impl HttpError {
    /// A server error, throttling or no answer may pass; a 4xx will not.
    pub fn retryable(&self) -> bool {
        match self {
            HttpError::Status { status, .. } => *status >= 500 || *status == 429,
            HttpError::Connect { .. } | HttpError::TimedOut { .. } => true,
            HttpError::BadUrl { .. } => false,
        }
    }
}

/// A checked endpoint. `addr` (scheme, host and port) is what messages show:
/// a webhook's path is often its secret.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub url: String,
    pub addr: String,
    pub https: bool,
}

impl Endpoint {
    /// Parses an `http://` or `https://` URL with a host, without user
    /// information (a password in a URL would end up in logs).
    pub fn parse(url: &str) -> Result<Endpoint, HttpError> {
        let url = url.trim();
        let bad = || HttpError::BadUrl {
            url: url.to_string(),
        };
        let uri: ureq::http::Uri = url.parse().map_err(|_| bad())?;
        let https = match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("https") => true,
            Some(s) if s.eq_ignore_ascii_case("http") => false,
            _ => return Err(bad()),
        };
        let authority = uri.authority().ok_or_else(bad)?;
        if authority.host().is_empty() || authority.as_str().contains('@') {
            return Err(bad());
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let scheme = if https { "https" } else { "http" };
        Ok(Endpoint {
            url: url.to_string(),
            addr: format!("{scheme}://{}:{port}", authority.host()),
            https,
        })
    }
}

/// A client whose every request ends within `timeout`.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        let tls = TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(root_certs())))
            .build();
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("auto-etl/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .build()
            .new_agent();
        Client { agent, timeout }
    }

    /// Sends `body` with `method` (POST or PUT); the status on a 2xx answer.
    pub fn send(
        &self,
        method: &str,
        to: &Endpoint,
        content_type: &str,
        body: &[u8],
    ) -> Result<u16, HttpError> {
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(to.url.as_str())
            .header("Content-Type", content_type)
            .body(body.to_vec())
            .map_err(|_| HttpError::BadUrl {
                url: to.url.clone(),
            })?;
        let answer = self.agent.run(request).map_err(|e| self.error(to, e))?;
        let status = answer.status().as_u16();
        if (200..300).contains(&status) {
            Ok(status)
        } else {
            Err(HttpError::Status {
                addr: to.addr.clone(),
                status,
            })
        }
    }

    fn error(&self, to: &Endpoint, e: ureq::Error) -> HttpError {
        match e {
            ureq::Error::Timeout(_) => HttpError::TimedOut {
                addr: to.addr.clone(),
                limit: self.timeout,
            },
            ureq::Error::StatusCode(status) => HttpError::Status {
                addr: to.addr.clone(),
                status,
            },
            other => HttpError::Connect {
                addr: to.addr.clone(),
                message: other.to_string(),
            },
        }
    }
}

/// The system's roots, or those of `SSL_CERT_FILE`/`SSL_CERT_DIR` when set.
/// Unreadable entries are skipped: one bad file must not stop a notification
/// that other roots can verify.
fn root_certs() -> Vec<Certificate<'static>> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::debug!("root certificates: {e}");
    }
    found
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_checked_and_shown_without_their_path() {
        let e = Endpoint::parse("https://hooks.example.com/services/T0/B0/secret").unwrap();
        assert_eq!(e.addr, "https://hooks.example.com:443");
        assert!(e.https);
        let e = Endpoint::parse(" http://127.0.0.1:9091 ").unwrap();
        assert_eq!(e.addr, "http://127.0.0.1:9091");
        assert_eq!(e.url, "http://127.0.0.1:9091");
        for bad in [
            "ftp://x/",
            "hooks.example.com/x",
            "http://user:pw@host/",
            "http:///x",
            "",
            // Issue 14 item 11: this panicked the hand-written parser.
            "http://é/x",
            "https://é",
        ] {
            assert!(
                matches!(Endpoint::parse(bad), Err(HttpError::BadUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn only_server_errors_and_silence_are_retried() {
        let s = |status| HttpError::Status {
            addr: "a".into(),
            status,
        };
        assert!(s(503).retryable() && s(429).retryable());
        assert!(!s(404).retryable() && !s(400).retryable());
    }
}
