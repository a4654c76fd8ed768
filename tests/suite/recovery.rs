//! Recovery the agent takes on its own behalf, as a user sees it in the
//! report, in git and on disk: rollback to the last green checkpoint, pushes
//! that fail, validators that hang.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::{git, AutoEtl};
use std::path::Path;

/// A pipeline in a git repository that is green while `etl.conf` says good.
/// `extra` goes into the step before the check.
fn repo_pipeline(extra: &str) -> Pipeline {
    let pipe = Pipeline::new(
        r#"
[orchestrator]
command = "sh check.sh"

[cycle]
max_iterations = 2
[cycle.backoff]
initial = "100ms"
max = "200ms"
jitter = "none"

[git]
checkpoint = "ref"

[verify]
success_patterns = []
"#,
    );
    pipe.write("check.sh", &format!("{extra}\ngrep -q good etl.conf\n"));
    pipe.write("etl.conf", "mode = good\n");
    pipe.write(".gitignore", "logs/\n");
    git(pipe.path(), &["init", "-q", "-b", "main"]);
    git(pipe.path(), &["add", "-A"]);
    git(pipe.path(), &["commit", "-qm", "pipeline"]);
    pipe
}

fn read(dir: &Path, rel: &str) -> String {
    std::fs::read_to_string(dir.join(rel)).unwrap()
}

fn actions<'a>(report: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    report["recovery_actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action_type"] == kind)
        .collect()
}

/// The reason of the run's one rollback, which must have been refused.
fn refused_rollback(report: &serde_json::Value) -> String {
    let rollback = actions(report, "rollback");
    assert_eq!(rollback.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(rollback[0]["success"], false, "{}", rollback[0]);
    rollback[0]["config"]["reason"]
        .as_str()
        .expect("a refused rollback says why")
        .to_string()
}

#[test]
fn rollback_restores_the_last_green_files_and_keeps_the_failing_state() {
    let pipe = repo_pipeline("");
    let dir = pipe.path();
    let green = AutoEtl::new(dir).args(["--no-cleanup", "--rollback"]).run();
    assert_eq!(green.code, 0, "{}", green.stderr);
    assert!(
        actions(&pipe.report(), "rollback").is_empty(),
        "a green run rolled back"
    );

    // A committed change that breaks the pipeline, and an untracked note.
    pipe.write("etl.conf", "mode = broken\n");
    git(dir, &["commit", "-qam", "break it"]);
    pipe.write("notes.txt", "mine\n");
    let head = git(dir, &["rev-parse", "HEAD"]);
    let staged = git(dir, &["ls-files", "-s", "etl.conf"]);

    let red = AutoEtl::new(dir)
        .args(["--no-cleanup"])
        .env("AUTO_ETL_ROLLBACK", "1")
        .run();
    assert_eq!(red.code, 1, "{}", red.stderr);
    let report = pipe.reports().pop().unwrap();
    let rollback = actions(&report, "rollback");
    assert_eq!(rollback.len(), 1, "{}", report["recovery_actions"]);
    let config = &rollback[0]["config"];
    assert_eq!(rollback[0]["success"], true, "{config}");
    let run = report["execution_id"].as_str().unwrap();
    assert_eq!(config["from"], format!("{run}:2"), "{config}");
    assert_eq!(config["files"], serde_json::json!(["etl.conf"]), "{config}");
    assert!(
        red.stdout
            .contains("rollback: 1 file(s) back to last-green"),
        "{}",
        red.stdout
    );

    // The working tree has the green content; HEAD, the branch, the index
    // and the untracked file are as they were.
    assert_eq!(read(dir, "etl.conf"), "mode = good\n");
    assert_eq!(
        git(dir, &["show", "refs/auto-etl/last-green:etl.conf"]),
        "mode = good\n"
    );
    assert_eq!(git(dir, &["rev-parse", "HEAD"]), head);
    assert_eq!(
        git(dir, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );
    assert_eq!(git(dir, &["ls-files", "-s", "etl.conf"]), staged);
    assert_eq!(read(dir, "notes.txt"), "mine\n");

    // Nothing is lost: the failing iteration's checkpoint has the broken file.
    let restored = AutoEtl::new(dir)
        .args(["restore", &format!("{run}:2"), "--to-branch", "failing"])
        .run();
    assert_eq!(restored.code, 0, "{}", restored.stderr);
    assert_eq!(git(dir, &["show", "failing:etl.conf"]), "mode = broken\n");
}

#[test]
fn without_a_last_green_or_checkpoints_rollback_touches_nothing() {
    let pipe = repo_pipeline("");
    let dir = pipe.path();
    pipe.write("etl.conf", "mode = broken\n");
    let before = git(dir, &["status", "--porcelain"]);
    let red = AutoEtl::new(dir).args(["--no-cleanup", "--rollback"]).run();
    assert_eq!(red.code, 1, "{}", red.stderr);
    let report = pipe.report();
    let reason = refused_rollback(&report);
    assert!(reason.contains("no green checkpoint"), "{reason}");
    assert!(
        red.stdout
            .contains("rollback: not done: no green checkpoint"),
        "{}",
        red.stdout
    );
    assert_eq!(read(dir, "etl.conf"), "mode = broken\n");
    assert_eq!(git(dir, &["status", "--porcelain"]), before);

    // A green run makes a last green; with checkpoints off there is still
    // no rollback, because the failing state could not be kept.
    pipe.write("etl.conf", "mode = good\n");
    assert_eq!(AutoEtl::new(dir).args(["--no-cleanup"]).run().code, 0);
    pipe.write("etl.conf", "mode = broken\n");
    let off = AutoEtl::new(dir)
        .args(["--no-cleanup", "--rollback", "--no-commit"])
        .run();
    assert_eq!(off.code, 1, "{}", off.stderr);
    let report = pipe.reports().pop().unwrap();
    let reason = refused_rollback(&report);
    assert!(reason.contains("checkpoints are off"), "{reason}");
    assert_eq!(read(dir, "etl.conf"), "mode = broken\n");
}

#[test]
fn rollback_refuses_to_overwrite_changes_no_checkpoint_holds() {
    // The step itself rewrites the tracked file after each checkpoint.
    let pipe = repo_pipeline("echo ran >> etl.conf");
    let dir = pipe.path();
    git(dir, &["update-ref", "refs/auto-etl/last-green", "HEAD"]);
    pipe.write("etl.conf", "mode = broken\n");
    let red = AutoEtl::new(dir).args(["--no-cleanup", "--rollback"]).run();
    assert_eq!(red.code, 1, "{}", red.stderr);
    let report = pipe.report();
    let reason = refused_rollback(&report);
    assert!(
        reason.contains("etl.conf") && reason.contains("after the failing checkpoint"),
        "{reason}"
    );
    assert_eq!(read(dir, "etl.conf"), "mode = broken\nran\nran\n");
}

#[test]
fn rollback_does_not_replace_a_directory_holding_ignored_files_with_a_green_file() {
    let pipe = repo_pipeline("");
    let dir = pipe.path();
    pipe.write("foo", "a tracked file\n");
    pipe.write(".gitignore", "logs/\n*.secret\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "foo is a file"]);
    let green = AutoEtl::new(dir).args(["--no-cleanup"]).run();
    assert_eq!(green.code, 0, "{}", green.stderr);

    // `foo` becomes a directory holding an ignored file no checkpoint has.
    std::fs::remove_file(dir.join("foo")).unwrap();
    pipe.write("foo/data.secret", "only copy\n");
    pipe.write("etl.conf", "mode = broken\n");
    let red = AutoEtl::new(dir).args(["--no-cleanup", "--rollback"]).run();
    assert_eq!(red.code, 1, "{}", red.stderr);
    let report = pipe.reports().pop().unwrap();
    let reason = refused_rollback(&report);
    assert!(
        reason.contains("foo") && reason.contains("nothing rolled back"),
        "{reason}"
    );
    assert_eq!(read(dir, "foo/data.secret"), "only copy\n");
    assert_eq!(read(dir, "etl.conf"), "mode = broken\n");
}

#[test]
fn rollback_does_not_bring_another_branchs_last_green_into_this_branch() {
    let pipe = repo_pipeline("");
    let dir = pipe.path();
    git(dir, &["branch", "other"]);
    // Green on main, with a file the other branch never had.
    pipe.write("main.txt", "main only\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "main work"]);
    let green = AutoEtl::new(dir).args(["--no-cleanup"]).run();
    assert_eq!(green.code, 0, "{}", green.stderr);

    // Red on the other branch, which does not descend from that green state.
    git(dir, &["checkout", "-q", "other"]);
    pipe.write("etl.conf", "mode = broken\n");
    let before = git(dir, &["status", "--porcelain", "--ignored"]);
    let red = AutoEtl::new(dir).args(["--no-cleanup", "--rollback"]).run();
    assert_eq!(red.code, 1, "{}", red.stderr);
    let report = pipe.reports().pop().unwrap();
    let reason = refused_rollback(&report);
    assert!(
        reason.contains("not HEAD or an ancestor of HEAD") && reason.contains("another branch"),
        "{reason}"
    );
    assert_eq!(read(dir, "etl.conf"), "mode = broken\n");
    assert!(!dir.join("main.txt").exists());
    assert_eq!(git(dir, &["status", "--porcelain", "--ignored"]), before);
}

/// A failing pipeline in a git repository that pushes its checkpoints to
/// `remote` for `iterations` iterations; `step` runs first.
fn pushing_pipeline(remote: &str, step: &str, iterations: u32) -> Pipeline {
    let pipe = Pipeline::new(&format!(
        r#"
[orchestrator]
command = "sh step.sh"

[cycle]
max_iterations = {iterations}
[cycle.backoff]
initial = "100ms"
max = "200ms"
jitter = "none"

[git]
checkpoint = "ref"
remote = "{remote}"

[verify]
success_patterns = []
"#
    ));
    pipe.write(".gitignore", "logs/\n");
    pipe.write("step.sh", &format!("{step}\nexit 1\n"));
    git(pipe.path(), &["init", "-q", "-b", "main"]);
    git(pipe.path(), &["add", "-A"]);
    git(pipe.path(), &["commit", "-qm", "pipeline"]);
    pipe
}

fn push_errors(report: &serde_json::Value) -> Vec<String> {
    report["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            c["checkpoint"]["push_error"]
                .as_str()
                .unwrap_or("pushed")
                .to_string()
        })
        .collect()
}

#[test]
fn a_push_to_a_dead_server_is_retried_then_the_run_keeps_checkpoints_locally() {
    // A server that takes connections and drops them at once, counting them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let url = format!("http://127.0.0.1:{port}/pipeline.git");
    let pipe = pushing_pipeline(&url, "true", 3);
    let run = AutoEtl::new(pipe.path())
        .args(["--push", "--no-cleanup"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = pipe.report();
    let errors = push_errors(&report);
    assert!(
        errors[0].contains(&format!("127.0.0.1:{port}")),
        "{errors:?}"
    );
    for later in &errors[1..] {
        assert!(later.contains("circuit `git push` is open"), "{errors:?}");
        assert!(later.contains("kept locally"), "{errors:?}");
    }
    // Three attempts in the first iteration, none after the breaker opened.
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 3);
    let retries: Vec<_> = actions(&report, "retry")
        .into_iter()
        .filter(|a| a["config"]["operation"] == "git push")
        .collect();
    assert_eq!(retries.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(retries[0]["config"]["attempts"], 3);
    assert_eq!(retries[0]["success"], false);
    let fallbacks = actions(&report, "fallback");
    assert_eq!(fallbacks.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(
        fallbacks[0]["config"]["fallback"],
        "checkpoint kept locally"
    );
    // Every iteration's checkpoint is in the local repository.
    let run_id = report["execution_id"].as_str().unwrap();
    let tags = git(
        pipe.path(),
        &[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/auto-etl/iterations/{run_id}"),
        ],
    );
    assert_eq!(tags.lines().count(), 3, "{tags}");
}

#[test]
fn ctrl_c_during_a_failing_push_does_not_wait_for_its_retries() {
    // A server that, on its first connection, has the agent interrupted,
    // then drops the connection; it counts every connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/pipeline.git");
    let pipe = pushing_pipeline(&url, "true", 3);
    let child = AutoEtl::new(pipe.path())
        .args(["--push", "--no-cleanup"])
        .command()
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                // SAFETY: kill(2) on our own child's pid.
                unsafe { libc::kill(pid, libc::SIGINT) };
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            drop(stream);
        }
    });
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert_eq!(
        connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the push was retried after Ctrl-C: {stderr}"
    );
    let report = pipe.report();
    assert_eq!(report["status"], "interrupted");
}

#[test]
fn a_remote_that_disappears_mid_run_is_not_retried_and_stops_the_pushes() {
    let outside = tempfile::tempdir().unwrap();
    let bare = outside.path().join("remote.git");
    let moved = outside.path().join("moved.git");
    git(outside.path(), &["init", "-q", "--bare", "remote.git"]);
    // The first iteration's step takes the remote away after its push.
    let step = format!(
        "mv {} {} 2>/dev/null || true",
        bare.display(),
        moved.display()
    );
    let pipe = pushing_pipeline(bare.to_str().unwrap(), &step, 3);
    let run = AutoEtl::new(pipe.path())
        .args(["--push", "--no-cleanup"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = pipe.report();
    let errors = push_errors(&report);
    assert_eq!(errors[0], "pushed", "{errors:?}");
    assert!(!errors[1].contains("circuit"), "{errors:?}");
    assert!(
        errors[2].contains("circuit `git push` is open"),
        "{errors:?}"
    );
    let push_retries = actions(&report, "retry")
        .into_iter()
        .filter(|a| a["config"]["operation"] == "git push")
        .count();
    assert_eq!(push_retries, 0, "a missing remote was retried: {errors:?}");
    let fallbacks = actions(&report, "fallback");
    assert_eq!(fallbacks.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(fallbacks[0]["config"]["retryable"], false);
    // The remote got the first checkpoint; the local repository has all three.
    let run_id = report["execution_id"].as_str().unwrap();
    let remote_refs = git(&moved, &["for-each-ref", "--format=%(refname)"]);
    assert!(
        remote_refs.contains(&format!("refs/auto-etl/runs/{run_id}")),
        "{remote_refs}"
    );
    let local = git(
        pipe.path(),
        &[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/auto-etl/iterations/{run_id}"),
        ],
    );
    assert_eq!(local.lines().count(), 3, "{local}");
}

fn validator_pipeline(validator: &str, iterations: u32) -> Pipeline {
    Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo loaded\"\n[cycle]\nmax_iterations = {iterations}\n{FAST}\
         validator = \"{validator}\"\nvalidator_timeout = \"1s\"\n"
    ))
}

fn validator_retries(report: &serde_json::Value) -> Vec<serde_json::Value> {
    actions(report, "retry")
        .into_iter()
        .filter(|a| a["config"]["operation"] == "validator")
        .cloned()
        .collect()
}

#[test]
fn a_validator_that_hangs_once_is_retried_and_the_run_is_green() {
    let pipe = validator_pipeline("sh validate.sh", 1);
    pipe.write(
        "validate.sh",
        "if [ -e hung-once ]; then echo valid; exit 0; fi\ntouch hung-once\nsleep 30\n",
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    let retries = validator_retries(&report);
    assert_eq!(retries.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(retries[0]["success"], true);
    assert_eq!(retries[0]["config"]["attempts"], 2);
    let reason = retries[0]["config"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("timed out"), "{reason}");
    let cycle = &report["cycles"][0];
    assert_eq!(cycle["classified_errors"], serde_json::json!([]), "{cycle}");
    // The hung attempt's note is in the log, for the record.
    let log = std::fs::read_to_string(
        cycle["log_file"]
            .as_str()
            .map(|f| pipe.path().join(f))
            .unwrap(),
    )
    .unwrap();
    assert!(log.contains("step validator timed out"), "{log}");
}

#[test]
fn a_validator_that_says_red_is_never_run_again() {
    let pipe = validator_pipeline("sh validate.sh", 2);
    pipe.write("validate.sh", "echo checked >> runs.txt\nexit 1\n");
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    // One run per iteration, no more.
    assert_eq!(read(pipe.path(), "runs.txt"), "checked\nchecked\n");
    let report = pipe.report();
    assert!(
        validator_retries(&report).is_empty(),
        "{}",
        report["recovery_actions"]
    );
    let validation = report["cycles"][1]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "validator")
        .unwrap()
        .clone();
    assert_eq!(validation["passed"], false);
    assert!(
        validation["detail"]
            .as_str()
            .unwrap()
            .ends_with("exited with 1"),
        "{validation}"
    );
}

#[test]
fn a_validator_that_cannot_be_started_is_tried_twice_and_stays_red() {
    // An argument longer than the kernel takes (E2BIG): the spawn itself fails.
    let huge = format!("true #{}", "x".repeat(200_000));
    let pipe = validator_pipeline(&huge, 1);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = pipe.report();
    let retries = validator_retries(&report);
    assert_eq!(retries.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(retries[0]["success"], false);
    assert_eq!(retries[0]["config"]["attempts"], 2);
    assert_eq!(retries[0]["config"]["reason"], "could not be started");
    let log_file = report["cycles"][0]["log_file"].as_str().unwrap();
    let log = std::fs::read_to_string(pipe.path().join(log_file)).unwrap();
    assert_eq!(
        log.matches("cannot start step validator").count(),
        2,
        "{log}"
    );
}

#[test]
fn a_hung_validator_is_not_retried_past_max_elapsed() {
    let pipe = Pipeline::new(
        r#"
[orchestrator]
command = "echo loaded"

[cycle]
max_iterations = 1
max_elapsed = "2s"

[git]
checkpoint = "off"

[verify]
success_patterns = []
validator = "sleep 30"
validator_timeout = "10s"
"#,
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = pipe.report();
    let took = report["total_duration_seconds"].as_f64().unwrap();
    assert!(took < 3.5, "the run took {took}s with max_elapsed 2s");
    assert!(
        validator_retries(&report).is_empty(),
        "{}",
        report["recovery_actions"]
    );
}

#[test]
fn what_a_hung_validator_printed_before_its_retry_does_not_make_the_run_red() {
    let pipe = Pipeline::new(
        r#"
[orchestrator]
command = "echo loaded"

[cycle]
max_iterations = 1

[git]
checkpoint = "off"

[verify]
success_patterns = []
error_patterns = ["BROKEN"]
validator = "sh validate.sh"
validator_timeout = "1s"
"#,
    );
    pipe.write(
        "validate.sh",
        "if [ -e hung-once ]; then echo valid; exit 0; fi\ntouch hung-once\n\
         echo 'BROKEN: connection refused while warming up'\nsleep 30\n",
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    let retries = validator_retries(&report);
    assert_eq!(retries.len(), 1, "{}", report["recovery_actions"]);
    assert_eq!(retries[0]["success"], true);
    let cycle = &report["cycles"][0];
    assert_eq!(cycle["success"], true, "{cycle}");
    assert_eq!(cycle["classified_errors"], serde_json::json!([]), "{cycle}");
    // The first attempt's output is still in the log, for the record.
    let log =
        std::fs::read_to_string(pipe.path().join(cycle["log_file"].as_str().unwrap())).unwrap();
    assert!(log.contains("BROKEN: connection refused"), "{log}");
}
