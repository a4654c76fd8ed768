//! Readiness waits: a step may declare what it needs before it starts
//! (`tcp:HOST:PORT`, `container:NAME[:running|:healthy]`), bounded by the
//! plan's service wait.

use std::time::{Duration, Instant};

/// One readiness target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp { host: String, port: u16 },
    Container { name: String, healthy: bool },
}

impl Target {
    /// Parses `tcp:HOST:PORT` or `container:NAME[:running|:healthy]`.
    pub fn parse(text: &str) -> Result<Target, String> {
        let bad = || {
            format!("`{text}` is not a readiness target (tcp:HOST:PORT or container:NAME[:running|:healthy])")
        };
        let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
        match kind {
            "tcp" => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
                let port = port.parse().map_err(|_| bad())?;
                if host.is_empty() {
                    return Err(bad());
                }
                Ok(Target::Tcp {
                    host: host.trim_matches(['[', ']']).to_string(),
                    port,
                })
            }
            "container" => {
                let (name, state) = match rest.rsplit_once(':') {
                    Some((n, "healthy")) => (n, true),
                    Some((n, "running")) => (n, false),
                    Some(_) => return Err(bad()),
                    None => (rest, false),
                };
                if name.is_empty() {
                    return Err(bad());
                }
                Ok(Target::Container {
                    name: name.to_string(),
                    healthy: state,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
            Target::Container {
                name,
                healthy: true,
            } => write!(f, "container:{name}:healthy"),
            Target::Container {
                name,
                healthy: false,
            } => write!(f, "container:{name}:running"),
        }
    }
}

/// Waits until every target is ready or `budget` runs out. Returns how long
/// it waited, or which target was still not ready.
pub async fn wait_all(
    targets: &[Target],
    docker: Option<&crate::docker::Cleaner>,
    budget: Duration,
) -> Result<Duration, String> {
    let start = Instant::now();
    let deadline = start + budget;
    for target in targets {
        loop {
            let ready = match target {
                Target::Tcp { host, port } => tcp_ready(host, *port).await,
                Target::Container { name, healthy } => match docker {
                    Some(d) => d.container_ready(name, *healthy).await.unwrap_or(false),
                    None => false,
                },
            };
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{target} not ready after {}",
                    crate::config::duration::format(budget)
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    Ok(start.elapsed())
}

async fn tcp_ready(host: &str, port: u16) -> bool {
    let connect = tokio::net::TcpStream::connect((host, port));
    matches!(
        tokio::time::timeout(Duration::from_secs(1), connect).await,
        Ok(Ok(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("tcp:127.0.0.1:5432").unwrap(),
            Target::Tcp {
                host: "127.0.0.1".into(),
                port: 5432
            }
        );
        assert_eq!(
            Target::parse("container:warehouse:healthy").unwrap(),
            Target::Container {
                name: "warehouse".into(),
                healthy: true
            }
        );
        assert_eq!(
            Target::parse("container:warehouse").unwrap(),
            Target::Container {
                name: "warehouse".into(),
                healthy: false
            }
        );
        for bad in [
            "tcp:host",
            "tcp::80",
            "udp:x:1",
            "container:",
            "container:x:dead",
            "nothing",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn tcp_wait_sees_a_listener_and_times_out_without_one() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = [Target::Tcp {
            host: "127.0.0.1".into(),
            port,
        }];
        assert!(wait_all(&up, None, Duration::from_secs(2)).await.is_ok());
        drop(listener);
        let err = wait_all(&up, None, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.contains(&format!("tcp:127.0.0.1:{port}")), "{err}");
    }
}
