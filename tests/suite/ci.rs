//! CI and people: report renderings, init, completions, the man page, the
//! CI file checks, the HTML screenshot, the progress display in a real
//! terminal, the notifier, and the file-writing observers.
//!
//! Tests marked `needs wiring` drive a real run and expect the observers of
//! `auto_etl::ci::observers` to be wired into the cycle; until then they are
//! ignored, and the same observers are checked by replaying a stored
//! report's events through them.

use crate::support::pipeline::{reports_in, Pipeline, FAST};
use crate::support::AutoEtl;
use auto_etl::ci::{self, CiEnv, ObserverOptions};
use auto_etl::cycle::events::Observer;
use auto_etl::report::Report;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A two-step pipeline whose load is refused once, then passes.
fn refused_once() -> Pipeline {
    let toml = format!(
        "[[steps]]\nname = \"extract\"\nrun = \"echo rows=3\"\n\
         [[steps]]\nname = \"load\"\nrun = \"sleep 0.3; test -f .warm || {{ touch .warm; echo 'psql: could not connect to server: Connection refused'; exit 1; }}\"\n\
         [cycle]\nmax_iterations = 3\nservice_wait = \"1s\"\n{FAST}"
    );
    Pipeline::new(&toml)
}

/// A finished run of [`refused_once`] and the path of its JSON report.
fn stored_report() -> (Pipeline, PathBuf) {
    let pipe = refused_once();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let path = pipe.path().join(
        pipe.report()["files"]["report"]
            .as_str()
            .expect("files.report"),
    );
    (pipe, path)
}

fn load(path: &Path) -> Report {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn report_renders_a_stored_run_in_every_format() {
    let (pipe, path) = stored_report();
    let render = |format: &str| {
        let run = AutoEtl::new(pipe.path())
            .args(["report", "--format", format])
            .arg_path(&path)
            .run();
        assert_eq!(run.code, 0, "{format}: {}", run.stderr);
        run.stdout
    };
    let text = render("text");
    assert!(
        text.starts_with("auto-etl GREEN: green at iteration 2"),
        "{text}"
    );
    let md = render("markdown");
    assert!(md.contains("| 1 | ❌ failed |"), "{md}");
    assert!(md.contains("`connection_refused`"), "{md}");
    assert!(md.contains("**Verdict:** `success`"), "{md}");
    let xml = render("junit");
    let junit =
        quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    // Healed at iteration 2: one passing case, the first attempt flaky.
    assert_eq!(junit.test_suites[0].test_cases.len(), 1, "{xml}");
    assert!(xml.contains(r#"failures="0""#), "{xml}");
    assert!(
        xml.contains(r#"message="iteration 1: connection_refused"#)
            && xml.contains("<flakyFailure "),
        "{xml}"
    );
    assert!(xml.contains(r#"type="connection_refused""#), "{xml}");
    let html = render("html");
    assert!(
        html.starts_with("<!doctype html>") && html.contains("<svg"),
        "{html}"
    );
    let json: serde_json::Value = serde_json::from_str(&render("json")).unwrap();
    assert_eq!(json["status"], "success");
}

#[test]
fn report_errors_name_the_file_and_journal_support_is_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let missing = AutoEtl::new(dir.path()).args(["report", "nope.json"]).run();
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("nope.json"), "{}", missing.stderr);
    std::fs::write(dir.path().join("j.jsonl"), "{}\n").unwrap();
    let journal = AutoEtl::new(dir.path())
        .args(["report", "j.jsonl", "--from-journal"])
        .run();
    assert_eq!(journal.code, 2);
    assert!(journal.stderr.contains("journal"), "{}", journal.stderr);
}

#[test]
fn init_writes_a_config_that_loads_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  db:\n    image: postgres\n    ports:\n      - \"5432:5432\"\n",
    )
    .unwrap();
    std::fs::create_dir(d.join("tools")).unwrap();
    std::fs::write(d.join("tools/orchestrate_etl_init.py"), "print('ok')\n").unwrap();
    std::fs::write(d.join(".gitignore"), "/target\n").unwrap();
    let run = AutoEtl::new(d).arg_path(Path::new("init")).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(d.join("auto-etl.toml")).unwrap();
    assert!(
        text.contains("command = \"python3 tools/orchestrate_etl_init.py\""),
        "{text}"
    );
    assert!(text.contains("tcp:127.0.0.1:5432"), "{text}");
    let outside = auto_etl::config::Outside {
        cwd: d.to_path_buf(),
        ci: false,
        env_push: false,
    };
    let cfg = auto_etl::config::load(&Default::default(), &outside)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(cfg.steps[0].run, "python3 tools/orchestrate_etl_init.py");
    assert_eq!(
        std::fs::read_to_string(d.join(".gitignore")).unwrap(),
        "/target\nlogs/\n"
    );

    let again = AutoEtl::new(d).args(["init"]).run();
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    let forced = AutoEtl::new(d).args(["init", "--force"]).run();
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert_eq!(
        std::fs::read_to_string(d.join(".gitignore")).unwrap(),
        "/target\nlogs/\n",
        "logs/ must not be added twice"
    );
}

#[test]
fn init_without_an_orchestrator_writes_a_placeholder_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let run = AutoEtl::new(dir.path()).args(["init"]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let outside = auto_etl::config::Outside {
        cwd: dir.path().to_path_buf(),
        ci: false,
        env_push: false,
    };
    let cfg = auto_etl::config::load(&Default::default(), &outside).unwrap();
    assert!(cfg.steps[0].run.contains("set [orchestrator] command"));
    assert!(dir.path().join(".gitignore").exists());
}

#[test]
fn completions_and_man_page_come_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let bash = AutoEtl::new(dir.path()).args(["completions", "bash"]).run();
    assert_eq!(bash.code, 0);
    assert!(
        bash.stdout.contains("complete -F _auto__etl"),
        "{}",
        bash.stdout
    );
    assert!(bash.stdout.contains("--max-iterations"));
    let man = AutoEtl::new(dir.path()).args(["man"]).run();
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.contains(".TH auto-etl 1"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
    assert!(man.stdout.contains("max\\-iterations"));
}

#[test]
fn the_ci_files_pass_actionlint_and_the_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/check-ci-files.sh"))
        .current_dir(root)
        .output()
        .expect("run scripts/check-ci-files.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Never skipped: a checker that cannot be installed (exit 3) fails the
    // test, so CI cannot pass without checking the files.
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all clean"), "{text}");
}

#[test]
fn the_html_report_screenshots_in_headless_chromium() {
    let installed = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .any(|b| {
            Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if !installed {
        eprintln!("SKIPPED: no chromium installed (apt-get install chromium)");
        return;
    }
    let (_pipe, path) = stored_report();
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("report.png");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("bash")
        .arg(root.join("scripts/screenshot-report.sh"))
        .arg(&path)
        .arg(&png)
        .arg("1000x900")
        .env("AUTO_ETL", crate::support::bin())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(
        bytes.len() > 10_000,
        "a blank page is tiny: {} bytes",
        bytes.len()
    );
}

/// Not a test by itself: replays a stored report's events through the
/// progress display, slowly, on this process's stderr. The tmux test below
/// runs it in a pseudo-terminal.
#[test]
#[ignore = "helper of progress_shows_the_phase_in_a_terminal"]
fn progress_replay_helper() {
    let Ok(path) = std::env::var("AUTO_ETL_TEST_PROGRESS_REPLAY") else {
        return;
    };
    let report = load(Path::new(&path));
    let mut o = auto_etl::progress::ProgressObserver::stderr();
    for e in ci::replay(&report) {
        o.event(&e);
        if matches!(e, auto_etl::cycle::events::Event::PhaseStart { .. }) {
            std::thread::sleep(Duration::from_millis(400));
        }
    }
    o.finish();
    std::thread::sleep(Duration::from_secs(2));
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(command: &str) -> Option<Tmux> {
        let socket = format!(
            "aetl-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        );
        let ok = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "-u",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "30",
                command,
            ])
            .env("LANG", "C.UTF-8")
            .status()
            .ok()?
            .success();
        ok.then_some(Tmux { socket })
    }

    fn screen(&self) -> String {
        Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Every distinct screen seen until `done` holds or `limit` passes.
    fn watch(&self, limit: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
        let start = Instant::now();
        let mut screens: Vec<String> = Vec::new();
        while start.elapsed() < limit {
            let s = self.screen();
            if screens.last() != Some(&s) {
                screens.push(s.clone());
            }
            if done(&s) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        screens
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !in_ci(),
            "tmux is missing; the progress tests need it under CI"
        );
        eprintln!("SKIPPED: tmux is not installed");
    }
    found
}

#[test]
fn progress_shows_the_phase_in_a_terminal() {
    if !tmux_available() {
        return;
    }
    let (_pipe, path) = stored_report();
    let exe = std::env::current_exe().unwrap();
    let command = format!(
        "env AUTO_ETL_TEST_PROGRESS_REPLAY='{}' '{}' --ignored --exact suite::ci::progress_replay_helper --nocapture; sleep 30",
        path.display(),
        exe.display()
    );
    let tmux = Tmux::start(&command).expect("start tmux");
    let screens = tmux.watch(Duration::from_secs(20), |s| s.contains("✔ iteration 2/3"));
    let all = screens.join("\n---\n");
    assert!(all.contains("iteration 1/3"), "{all}");
    assert!(
        screens.iter().any(|s| s.contains("step 2/2 load")),
        "no screen showed the running step:\n{all}"
    );
    assert!(screens.iter().any(|s| s.contains("checkpoint")), "{all}");
    assert!(screens.iter().any(|s| s.contains("backoff")), "{all}");
    let last = screens.last().unwrap();
    assert!(last.contains("✘ iteration 1/3 failed"), "{last}");
    assert!(last.contains("→ service wait"), "{last}");
    assert!(last.contains("✔ iteration 2/3 success"), "{last}");
}

#[test]
fn progress_is_drawn_by_a_real_run_in_a_terminal() {
    if !tmux_available() {
        return;
    }
    let pipe = refused_once();
    let command = format!(
        "cd '{}' && env -u CI -u GITHUB_ACTIONS -u GITLAB_CI '{}'; sleep 30",
        pipe.path().display(),
        crate::support::bin().display()
    );
    let tmux = Tmux::start(&command).expect("start tmux");
    let screens = tmux.watch(Duration::from_secs(30), |s| s.contains("report: "));
    let all = screens.join("\n---\n");
    assert!(screens.iter().any(|s| s.contains("step 2/2 load")), "{all}");
    assert!(all.contains("✔ iteration 2/"), "{all}");
}

/// A one-shot HTTP server: answers each connection with the next status in
/// `statuses` and hands back the requests it read.
fn http_server(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks/auto-etl", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut requests = Vec::new();
        for status in statuses {
            let (mut s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            requests.push(crate::support::read_http_request(&mut s));
            let _ = write!(
                s,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        requests
    });
    (url, handle)
}

#[test]
fn notify_posts_the_verdict_and_retries_a_server_error() {
    let (_pipe, path) = stored_report();
    let report = load(&path);
    let (url, server) = http_server(vec![503, 200]);
    let notifier = auto_etl::notify::Notifier::new(&url).unwrap().with_policy(
        auto_etl::recovery::RetryPolicy::fixed(Duration::from_millis(10), 3),
    );
    let (attempts, result) = notifier.send(&report);
    assert_eq!(result, Ok(200));
    assert_eq!(attempts, 2);
    let requests = server.join().unwrap();
    assert_eq!(requests.len(), 2);
    let req = &requests[1];
    assert!(
        req.starts_with("POST /hooks/auto-etl HTTP/1.1\r\n"),
        "{req}"
    );
    assert!(
        req.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{req}"
    );
    let body: serde_json::Value =
        serde_json::from_str(req.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["status"], "success");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("auto-etl ✅ GREEN"),
        "{body}"
    );
}

#[test]
fn notify_gives_up_on_a_client_error_at_once() {
    let (_pipe, path) = stored_report();
    let (url, server) = http_server(vec![404]);
    let notifier = auto_etl::notify::Notifier::new(&url).unwrap().with_policy(
        auto_etl::recovery::RetryPolicy::fixed(Duration::from_millis(10), 3),
    );
    let (attempts, result) = notifier.send(&load(&path));
    assert_eq!(attempts, 1);
    assert!(result.unwrap_err().to_string().contains("answered 404"));
    server.join().unwrap();
}

/// A Write that the test reads back.
#[derive(Clone, Default)]
struct Buf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn observers_replaying_a_real_run_write_junit_metrics_and_annotations() {
    let (pipe, path) = stored_report();
    let report = load(&path);
    let junit = pipe.path().join("logs/junit.xml");
    let metrics = pipe.path().join("metrics/auto_etl.prom");
    let opts = ObserverOptions {
        junit: Some(junit.clone()),
        metrics_file: Some(metrics.clone()),
        root: pipe.path().to_path_buf(),
        report_dir: pipe.path().join("logs"),
        ..Default::default()
    };
    let mut list = ci::observers(&CiEnv::default(), &opts);
    assert_eq!(list.len(), 2);
    let buf = Buf::default();
    let summary = pipe.path().join("summary.md");
    list.push(Box::new(ci::GithubObserver::new(
        Box::new(buf.clone()),
        pipe.path().to_path_buf(),
        Some(pipe.path().parent().unwrap().to_path_buf()),
        Some(summary.clone()),
    )));
    for e in ci::replay(&report) {
        for o in &mut list {
            o.event(&e);
        }
    }
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testcase name=\"validation cycle\""), "{xml}");
    assert!(!xml.contains("<failure"), "{xml}");
    let prom = std::fs::read_to_string(&metrics).unwrap();
    assert!(prom.contains("auto_etl_run_success 1\n"), "{prom}");
    assert!(
        prom.contains("auto_etl_failures_total{class=\"connection_refused\"} 1\n"),
        "{prom}"
    );
    let gh = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    // Healed: a warning without a file (the output names no source line).
    assert!(!gh.contains("::error"), "{gh}");
    assert!(
        gh.contains("::warning title=auto-etl%3A healed connection_refused (iteration 1)::connection_refused: psql: could not connect"),
        "{gh}"
    );
    assert!(std::fs::read_to_string(&summary)
        .unwrap()
        .contains("| 2 | ✅ success |"));
}

#[test]
fn a_run_under_github_actions_writes_groups_summary_junit_and_metrics() {
    let pipe = refused_once();
    let summary = pipe.path().join("summary.md");
    let run = AutoEtl::new(pipe.path())
        .args([
            "--junit",
            "logs/junit.xml",
            "--metrics-file",
            "logs/auto_etl.prom",
        ])
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_WORKSPACE", pipe.path())
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("::group::Iteration 1"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("::error"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("::warning title=auto-etl%3A healed connection_refused (iteration 1)::"),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("::group::"), "stdout stays the result");
    assert!(std::fs::read_to_string(&summary)
        .unwrap()
        .contains("**Verdict:** `success`"));
    assert!(pipe.path().join("logs/junit.xml").exists());
    assert!(pipe.path().join("logs/auto_etl.prom").exists());
    assert_eq!(reports_in(&pipe.path().join("logs")).len(), 1);
}
