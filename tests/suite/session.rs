//! Risk, recovery and health as a user sees them in the report.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::AutoEtl;
use std::time::Duration;

/// Starts a stand-in Docker engine (a Python `script` serving `sock`) while
/// the `agent` runs, waits for the run to end red, and returns its report.
fn finish_with_engine(
    mut agent: std::process::Child,
    script: &str,
    sock: &std::path::Path,
    pipe: &Pipeline,
) -> serde_json::Value {
    let mut engine = std::process::Command::new("python3")
        .args(["-c", script, sock.to_str().unwrap()])
        .spawn()
        .unwrap();
    let status = agent.wait().unwrap();
    let _ = engine.kill();
    let _ = engine.wait();
    assert_eq!(status.code(), Some(1));
    pipe.report()
}

fn has_action(report: &serde_json::Value, kind: &str) -> bool {
    report["recovery_actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["action_type"] == kind)
}

#[test]
fn an_unreachable_docker_is_a_recorded_fallback_and_scores_zero() {
    let pipe = Pipeline::new(&format!("[orchestrator]\ncommand = \"sleep 0.5\"\n{FAST}"));
    let run = AutoEtl::new(pipe.path())
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = pipe.report();
    let cleanup = &report["cycles"][0]["cleanup"];
    assert!(
        cleanup["skipped_reason"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{cleanup}"
    );
    assert!(
        has_action(&report, "fallback"),
        "{}",
        report["recovery_actions"]
    );
    assert_eq!(
        report["automation_health"]["component_scores"]["docker"], 0.0,
        "{}",
        report["automation_health"]
    );
}

#[test]
fn a_docker_socket_that_comes_back_mid_run_closes_the_breaker() {
    if !std::path::Path::new("/var/run/docker.sock").exists() {
        assert!(std::env::var_os("CI").is_none(), "CI needs a Docker engine");
        eprintln!("skipped: no Docker engine socket");
        return;
    }
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sleep 1.5; exit 1\"\n[cycle]\nmax_iterations = 11\n{FAST}"
    ));
    let sock = pipe.path().join("docker.sock");
    let agent = AutoEtl::new(pipe.path())
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Two outages open the breaker (for 10 s); then the daemon "comes back"
    // and a half-open trial after those 10 s must close it again.
    std::thread::sleep(Duration::from_secs(4));
    let report = finish_with_engine(agent, PROXY, &sock, &pipe);
    let reasons: Vec<String> = report["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["cleanup"]["skipped_reason"]
                .as_str()
                .unwrap_or("ran")
                .to_string()
        })
        .collect();
    assert!(reasons[0].contains("unreachable"), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("circuit open")),
        "{reasons:?}"
    );
    assert_eq!(
        reasons.last().unwrap(),
        "ran",
        "breaker never closed: {reasons:?}"
    );
    // The client dropped in the outage was re-created once the daemon
    // answered: one restart, after the fallbacks of the outage.
    let actions = report["recovery_actions"].as_array().unwrap();
    let restarts: Vec<usize> = (0..actions.len())
        .filter(|&i| {
            actions[i]["action_type"] == "restart"
                && actions[i]["config"]["component"] == "docker client"
        })
        .collect();
    assert_eq!(restarts.len(), 1, "{}", report["recovery_actions"]);
    let restart = &actions[restarts[0]];
    assert_eq!(restart["success"], true);
    let after = restart["config"]["after"].as_str().unwrap();
    assert!(after.starts_with("docker outage: "), "{after}");
    let last_fallback = (0..actions.len())
        .rev()
        .find(|&i| actions[i]["action_type"] == "fallback")
        .unwrap();
    assert!(
        restarts[0] > last_fallback,
        "{}",
        report["recovery_actions"]
    );
}

/// A unix-socket proxy to the real Docker socket, standing in for a daemon
/// that comes back after an outage.
const PROXY: &str = r#"
import os, socket, sys, threading
path = sys.argv[1]
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(16)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        try: b.shutdown(socket.SHUT_WR)
        except OSError: pass
while True:
    c, _ = srv.accept()
    u = socket.socket(socket.AF_UNIX)
    u.connect("/var/run/docker.sock")
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
"#;

/// A Docker engine that answers every request with a server error.
const ERRORING_ENGINE: &str = r#"
import socket, sys
srv = socket.socket(socket.AF_UNIX)
srv.bind(sys.argv[1])
srv.listen(16)
body = b'{"message":"engine broken"}'
while True:
    c, _ = srv.accept()
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: "
                  + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    except OSError:
        pass
    c.close()
"#;

#[test]
fn a_docker_client_that_fails_to_connect_after_an_outage_is_not_a_restart() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sh step.sh\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ));
    // The first iteration (no engine: an outage) waits for the engine to
    // appear; the second connects to it and gets an API error.
    pipe.write(
        "step.sh",
        "if [ ! -e once ]; then touch once; while [ ! -S docker.sock ]; do sleep 0.1; done; fi\nexit 1\n",
    );
    let sock = pipe.path().join("docker.sock");
    let agent = AutoEtl::new(pipe.path())
        .env("DOCKER_HOST", format!("unix://{}", sock.display()))
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !pipe.path().join("once").exists() {
        assert!(std::time::Instant::now() < deadline, "the step never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = finish_with_engine(agent, ERRORING_ENGINE, &sock, &pipe);
    let cleanups: Vec<String> = report["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cleanup"]["skipped_reason"].to_string())
        .collect();
    assert!(cleanups[0].contains("unreachable"), "{cleanups:?}");
    assert!(cleanups[1].contains("engine broken"), "{cleanups:?}");
    assert!(
        !has_action(&report, "restart"),
        "{}",
        report["recovery_actions"]
    );
}

#[test]
fn a_step_that_allocates_shows_its_peak_memory() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"python3 -c 'b = bytearray(300 * 1024 * 1024); import time; time.sleep(1)'\"\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let metrics = &pipe.report()["cycles"][0]["steps"][0]["performance_metrics"];
    let peak = metrics["peak_memory_mb"].as_f64().unwrap();
    assert!((250.0..1000.0).contains(&peak), "{metrics}");
}

const HIGH_RISK: &str = r#"
[[steps]]
name = "migrate_prod"
run = "echo migrated"
kind = "decision"
complexity = "high"
external_dependencies = true
data_sensitive = true
"#;

#[test]
fn a_high_risk_config_runs_in_safe_mode_and_says_so() {
    let pipe = Pipeline::new(&format!("{HIGH_RISK}{FAST}"));
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = pipe.report();
    let risk = &report["risk_assessment"];
    assert!(
        matches!(risk["risk_level"].as_str(), Some("high" | "critical")),
        "{risk}"
    );
    assert_eq!(risk["safe_mode"], true);
    assert!(
        risk["mitigations"].to_string().contains("safe mode"),
        "{}",
        risk["mitigations"]
    );
    assert!(has_action(&report, "safe_mode"));
}

#[test]
fn failures_in_earlier_reports_raise_a_steps_risk() {
    let failing = format!(
        "[[steps]]\nname = \"load\"\nrun = \"exit 1\"\n[cycle]\nmax_iterations = 3\n{FAST}"
    );
    let pipe = Pipeline::new(&failing);
    AutoEtl::new(pipe.path()).run();
    AutoEtl::new(pipe.path()).run();
    let reports = pipe.reports();
    let score = |r: &serde_json::Value| {
        r["risk_assessment"]["step_risks"][0]["risk_score"]
            .as_f64()
            .unwrap()
    };
    assert!(
        score(&reports[1]) > score(&reports[0]),
        "risk did not rise with a failing history: {} -> {}",
        score(&reports[0]),
        score(&reports[1])
    );
    let factors = reports[1]["risk_assessment"]["step_risks"][0]["factors"].to_string();
    assert!(factors.contains("histor"), "{factors}");
}

#[test]
fn a_corrupted_earlier_report_is_a_warning_not_a_failure() {
    let pipe = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    std::fs::create_dir_all(pipe.path().join("logs")).unwrap();
    std::fs::write(
        pipe.path()
            .join("logs/auto_cycle_report_20200101_000000.json"),
        "{\"cycles\": [tru",
    )
    .unwrap();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("auto_cycle_report_20200101_000000.json"),
        "{}",
        run.stderr
    );
}
