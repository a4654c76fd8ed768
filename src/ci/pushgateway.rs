//! `--pushgateway URL`: the run's metrics (the same families as
//! `--metrics-file`) pushed to a Prometheus Pushgateway at the end of the
//! run, interrupted runs included. CI jobs are short-lived batch jobs, for
//! which Prometheus's convention is the Pushgateway: the group is
//! `job="auto-etl"` plus `pipeline=<project>`, and each push replaces the
//! group (PUT), so a step that no longer exists does not linger.

use super::http::{Client, Endpoint, HttpError};
use crate::cycle::events::{Event, Observer};
use std::time::Duration;

/// The `job` label of every push.
pub const JOB: &str = "auto-etl";
/// The Prometheus text exposition format the Pushgateway accepts.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses between the (at most three) attempts.
const PAUSES: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

/// The path of a group: `/metrics/job/<job>/<label>/<value>...`. A value
/// that is empty or not plain (a `/` would split the path) is sent in the
/// Pushgateway's `@base64` form.
pub fn group_path(job: &str, grouping: &[(&str, &str)]) -> String {
    let mut out = String::from("/metrics");
    for (name, value) in std::iter::once(&("job", job)).chain(grouping) {
        let plain = !value.is_empty()
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if plain {
            out.push_str(&format!("/{name}/{value}"));
        } else {
            out.push_str(&format!("/{name}@base64/{}", base64_url(value.as_bytes())));
        }
    }
    out
}

/// URL-safe base64 with padding (RFC 4648 section 5), as the Pushgateway
/// reads label values given `@base64`; an empty value is `=`.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if bytes.is_empty() {
        return "=".into();
    }
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Pushes the report's metrics at `RunEnd`.
pub struct Pushgateway {
    to: Endpoint,
    client: Client,
}

impl Pushgateway {
    /// For the Pushgateway at `base` (`http[s]://host:port[/prefix]`) and the
    /// pipeline `pipeline`.
    pub fn new(base: &str, pipeline: &str) -> Result<Pushgateway, HttpError> {
        let checked = Endpoint::parse(base)?;
        let path = group_path(JOB, &[("pipeline", pipeline)]);
        let url = format!("{}{path}", checked.url.trim_end_matches('/'));
        Ok(Pushgateway {
            to: Endpoint { url, ..checked },
            client: Client::new(ATTEMPT_TIMEOUT),
        })
    }

    /// The full URL pushed to.
    pub fn url(&self) -> &str {
        &self.to.url
    }

    /// Pushes `text`; the attempts made and the result.
    pub fn push(&self, text: &str) -> (u32, Result<u16, HttpError>) {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = self
                .client
                .send("PUT", &self.to, CONTENT_TYPE, text.as_bytes());
            match result {
                Err(e) if e.retryable() && attempts <= PAUSES.len() as u32 => {
                    std::thread::sleep(PAUSES[attempts as usize - 1]);
                }
                other => return (attempts, other),
            }
        }
    }
}

impl Observer for Pushgateway {
    fn event(&mut self, event: &Event) {
        let Event::RunEnd { report } = event else {
            return;
        };
        match self.push(&super::prometheus::prometheus_text(report)) {
            (n, Ok(status)) => tracing::info!(
                "metrics pushed to {} ({status}) after {n} attempt(s)",
                self.to.addr
            ),
            (n, Err(e)) => {
                tracing::warn!("--pushgateway failed after {n} attempt(s): {e}");
                eprintln!("auto-etl: --pushgateway failed after {n} attempt(s): {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_paths_encode_what_is_not_plain() {
        // Values checked against the examples of the Pushgateway README
        // (github.com/prometheus/pushgateway, "URL"): "/var/tmp" is
        // "L3Zhci90bXA=" and an empty value is "=".
        let cases = [
            ("etl-demo", "/metrics/job/auto-etl/pipeline/etl-demo"),
            (
                "/var/tmp",
                "/metrics/job/auto-etl/pipeline@base64/L3Zhci90bXA=",
            ),
            ("", "/metrics/job/auto-etl/pipeline@base64/="),
            ("a b", "/metrics/job/auto-etl/pipeline@base64/YSBi"),
        ];
        for (value, want) in cases {
            assert_eq!(group_path(JOB, &[("pipeline", value)]), want, "{value:?}");
        }
    }

    #[test]
    fn the_url_keeps_a_prefix_and_refuses_what_is_not_http() {
        let p = Pushgateway::new("http://127.0.0.1:9091/pg/", "demo").unwrap();
        assert_eq!(
            p.url(),
            "http://127.0.0.1:9091/pg/metrics/job/auto-etl/pipeline/demo"
        );
        assert!(Pushgateway::new("127.0.0.1:9091", "demo").is_err());
        assert!(Pushgateway::new("http://é:9091", "demo").is_err());
    }
}
