//! Native in CI: HTTPS webhooks against a local TLS server with a CA made
//! here, and the Pushgateway (Debian's `prometheus-pushgateway`).

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::AutoEtl;
use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A one-step pipeline that is green at once.
fn green() -> Pipeline {
    Pipeline::new(&format!(
        "[[steps]]\nname = \"load\"\nrun = \"echo rows=3\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ))
}

/// A test CA and a certificate for 127.0.0.1 and localhost signed by it.
struct TestPki {
    ca_pem: String,
    leaf: rustls::pki_types::CertificateDer<'static>,
    key: rustls::pki_types::PrivateKeyDer<'static>,
}

fn test_pki() -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "auto-etl test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        leaf: leaf.der().clone(),
        key: rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// A TLS server on 127.0.0.1 answering `connections` connections with 200;
/// hands back the requests it read (an empty one for a failed handshake).
fn tls_server(pki: &TestPki, connections: usize) -> (u16, JoinHandle<Vec<String>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.key.clone_key())
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for _ in 0..connections {
            let (tcp, _) = listener.accept().unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            let request = crate::support::read_http_request(&mut tls);
            if !request.is_empty() {
                let _ = tls.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                );
                tls.conn.send_close_notify();
                let _ = tls.flush();
            }
            requests.push(request);
        }
        requests
    });
    (port, handle)
}

#[test]
fn notify_posts_over_https_to_a_server_signed_by_ssl_cert_file() {
    let pki = test_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("test-ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    let (port, server) = tls_server(&pki, 1);
    let pipe = green();
    let url = format!("https://127.0.0.1:{port}/hooks/T000/B000/s3cr3t");
    let run = AutoEtl::new(pipe.path())
        .args(["--notify", &url])
        .env("SSL_CERT_FILE", &ca)
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let requests = server.join().unwrap();
    let req = &requests[0];
    assert!(
        req.starts_with("POST /hooks/T000/B000/s3cr3t HTTP/1.1\r\n"),
        "{req}"
    );
    let body: serde_json::Value =
        serde_json::from_str(req.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["status"], "success");
    assert!(body["text"]
        .as_str()
        .unwrap()
        .starts_with("auto-etl ✅ GREEN"));
    // Nothing of the URL (its path is the webhook's secret) in the payload.
    assert!(!body.to_string().contains("s3cr3t"), "{body}");
    assert!(!run.stderr.contains("--notify failed"), "{}", run.stderr);
}

#[test]
fn notify_refuses_a_server_its_roots_do_not_trust_without_leaking_the_path() {
    let pki = test_pki();
    let other = test_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other-ca.pem");
    std::fs::write(&ca, &other.ca_pem).unwrap();
    // Three attempts: a failed handshake is retried like a refused connection.
    let (port, server) = tls_server(&pki, 3);
    let pipe = green();
    let url = format!("https://127.0.0.1:{port}/hooks/s3cr3t");
    let run = AutoEtl::new(pipe.path())
        .args(["--notify", &url])
        .env("SSL_CERT_FILE", &ca)
        .run();
    // A notification is not the verdict: the run stays green.
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "--notify failed after 3 attempt(s): cannot reach https://127.0.0.1:{port}"
        )),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cr3t"), "{}", run.stderr);
    let requests = server.join().unwrap();
    assert!(requests.iter().all(String::is_empty), "{requests:?}");
}

#[test]
fn notify_with_a_non_ascii_host_is_a_usage_warning_not_a_panic() {
    let pipe = green();
    let run = AutoEtl::new(pipe.path())
        .args(["--notify", "http://é/x"])
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--notify: `http://é/x` is not an http:// or https:// URL"),
        "{}",
        run.stderr
    );
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A Prometheus Pushgateway on loopback: the one scripts/test.sh started
/// (`AUTO_ETL_TEST_PUSHGATEWAY`), else one started here from Debian's
/// `prometheus-pushgateway`. Missing, the test fails: it never skips.
struct Gateway {
    url: String,
    child: Option<std::process::Child>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn pushgateway() -> Gateway {
    if let Ok(url) = std::env::var("AUTO_ETL_TEST_PUSHGATEWAY") {
        if !url.is_empty() {
            return Gateway { url, child: None };
        }
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("prometheus-pushgateway")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "prometheus-pushgateway cannot be started ({e}; CI={}): \
                 scripts/test.sh installs it (apt-get install prometheus-pushgateway)",
                in_ci()
            )
        });
    let gw = Gateway {
        url: format!("http://127.0.0.1:{port}"),
        child: Some(child),
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while get(&format!("{}/-/ready", gw.url)).is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the pushgateway on {} is not ready",
            gw.url
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    gw
}

/// The body of a 200 answer to GET `url`.
fn get(url: &str) -> Option<String> {
    let mut answer = ureq::get(url).call().ok()?;
    answer.body_mut().read_to_string().ok()
}

/// The pushgateway's sample lines of `metric` in the group of `pipeline`.
fn samples(gw: &Gateway, metric: &str, pipeline: &str) -> Vec<String> {
    let text = get(&format!("{}/metrics", gw.url)).expect("scrape the pushgateway");
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .filter(|l| {
            l.contains(r#"job="auto-etl""#) && l.contains(&format!(r#"pipeline="{pipeline}""#))
        })
        .map(str::to_string)
        .collect()
}

/// A unique pipeline (Docker project) name, so runs never share a group.
fn project(tag: &str) -> String {
    format!("aetl-{tag}-{}", std::process::id())
}

#[test]
fn pushgateway_holds_the_runs_metrics_under_job_and_pipeline() {
    let gw = pushgateway();
    let name = project("push");
    let pipe = Pipeline::new(&format!(
        "[[steps]]\nname = \"load\"\nrun = \"sleep 0.2; echo rows=3\"\n\
         [docker]\nproject = \"{name}\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path())
        .env("AUTO_ETL_PUSHGATEWAY", &gw.url)
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("--pushgateway"), "{}", run.stderr);
    let success = samples(&gw, "auto_etl_run_success", &name);
    assert_eq!(success.len(), 1, "{success:?}");
    assert!(success[0].ends_with("} 1"), "{success:?}");
    let steps = samples(&gw, "auto_etl_step_duration_seconds", &name);
    assert!(
        steps.iter().any(|l| l.contains(r#"step="load""#)),
        "{steps:?}"
    );
    // The Pushgateway's own record of the push.
    assert_eq!(samples(&gw, "push_time_seconds", &name).len(), 1);
}

#[test]
fn an_interrupted_run_still_pushes_its_metrics() {
    let gw = pushgateway();
    let name = project("interrupted");
    let pipe = Pipeline::new(&format!(
        "[[steps]]\nname = \"load\"\nrun = \"sleep 30\"\n\
         [docker]\nproject = \"{name}\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ));
    let child = AutoEtl::new(pipe.path())
        .args(["--pushgateway", &gw.url])
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the step runs: its iteration log exists.
    let logs = pipe.path().join("logs");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !std::fs::read_dir(&logs).is_ok_and(|d| {
        d.flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("orchestrator_iteration_1")
        })
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "the step never started"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    // SAFETY: kill(2) on the child's pid, which has not been waited for yet.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let status = samples(&gw, "auto_etl_run_status", &name);
    assert!(
        status
            .iter()
            .any(|l| l.contains(r#"status="interrupted""#) && l.ends_with("} 1")),
        "{status:?}\n{stderr}"
    );
}
