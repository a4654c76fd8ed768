//! Issue 14, "destroys what it does not own", for `[cleanup] paths`: the real
//! binary over real git repositories, real symbolic links and real signals;
//! each test checks what is left on disk afterwards.

use crate::support::pipeline::{reports_in, Pipeline};
use crate::support::{git, AutoEtl};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Fast settings with checkpoints on (the default `ref` mode).
const FAST_GIT: &str = r#"
[cycle]
max_iterations = 1
[cycle.backoff]
initial = "100ms"
max = "200ms"
jitter = "none"

[verify]
success_patterns = []
"#;

/// A pipeline whose directory is a git repository with one commit.
fn git_pipeline(toml: &str) -> Pipeline {
    let pipe = Pipeline::new(&format!("{toml}{FAST_GIT}"));
    let root = pipe.path();
    git(root, &["init", "-q"]);
    git(root, &["config", "user.name", "Scope Tester"]);
    git(root, &["config", "user.email", "scope@example.com"]);
    std::fs::write(root.join(".gitignore"), "logs/\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "init"]);
    pipe
}

/// Waits for `child` at most `limit`; kills it and fails past that.
fn wait_at_most(mut child: Child, limit: Duration) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("auto-etl still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cleanup_warnings(report: &serde_json::Value) -> String {
    report["cycles"][0]["cleanup"]["warnings"].to_string()
}

#[test]
fn link_dot_and_link_slash_in_cleanup_paths_leave_the_directory_outside_intact() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("precious.db"), "keep me").unwrap();
    let pipe = git_pipeline(
        "[orchestrator]\ncommand = \"true\"\n[cleanup]\npaths = [\"link/.\", \"link//\"]\n",
    );
    std::os::unix::fs::symlink(outside.path(), pipe.path().join("link")).unwrap();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(outside.path().join("precious.db").exists());
    let warnings = cleanup_warnings(&pipe.report());
    assert!(warnings.contains("symbolic link"), "{warnings}");
}

#[test]
fn a_cleanup_glob_over_symlink_loops_and_a_link_to_root_ends() {
    let pipe =
        git_pipeline("[orchestrator]\ncommand = \"true\"\n[cleanup]\npaths = [\"**/*.json\"]\n");
    let out = pipe.path().join("out");
    std::fs::create_dir_all(out.join("deep")).unwrap();
    std::fs::write(out.join("deep/a.json"), "{}").unwrap();
    std::os::unix::fs::symlink("..", out.join("up")).unwrap();
    std::os::unix::fs::symlink(".", out.join("self")).unwrap();
    std::os::unix::fs::symlink("/", out.join("slash")).unwrap();
    let child = AutoEtl::new(pipe.path())
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert_eq!(wait_at_most(child, Duration::from_secs(60)), 0);
    assert!(!out.join("deep/a.json").exists());
    assert_eq!(pipe.report()["cycles"][0]["cleanup"]["files"], 1);
}

#[test]
fn cleanup_paths_in_a_directory_with_no_git_repository_are_refused_with_exit_2() {
    // Issue 14, reproduction 5: `--config ../other.toml` into a directory
    // that is no git repository deleted files with no checkpoint.
    let here = git_pipeline("[orchestrator]\ncommand = \"true\"\n");
    let other = tempfile::tempdir().unwrap();
    std::fs::write(
        other.path().join("other.toml"),
        format!("[orchestrator]\ncommand = \"true\"\n[cleanup]\npaths = [\"output\"]\n{FAST_GIT}"),
    )
    .unwrap();
    std::fs::create_dir_all(other.path().join("output")).unwrap();
    std::fs::write(other.path().join("output/result.csv"), "data").unwrap();
    let config = other.path().join("other.toml");
    let run = AutoEtl::new(here.path())
        .arg_path(Path::new("--config"))
        .arg_path(&config)
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(&other.path().display().to_string())
            && run.stderr.contains("--allow-unchecked-cleanup"),
        "{}",
        run.stderr
    );
    assert!(other.path().join("output/result.csv").exists());
    assert!(reports_in(&other.path().join("logs")).is_empty());

    // The explicit flag (or its variable) lets the run delete anyway.
    let run = AutoEtl::new(here.path())
        .arg_path(Path::new("--config"))
        .arg_path(&config)
        .env("AUTO_ETL_ALLOW_UNCHECKED_CLEANUP", "1")
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!other.path().join("output").exists());
}

#[test]
fn tracked_files_under_a_cleanup_path_are_kept() {
    let pipe = git_pipeline(
        "[orchestrator]\ncommand = \"true\"\n[cleanup]\npaths = [\"output\", \"output/*\"]\n",
    );
    pipe.write("output/schema.sql", "create table t (x int);");
    git(pipe.path(), &["add", "output/schema.sql"]);
    git(pipe.path(), &["commit", "-qm", "schema"]);
    pipe.write("output/result.csv", "1");
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(pipe.path().join("output/schema.sql").exists());
    assert!(!pipe.path().join("output/result.csv").exists());
    let status = git(pipe.path(), &["status", "--porcelain"]);
    assert!(!status.contains("schema.sql"), "{status}");
}

#[test]
fn a_report_dir_spelled_through_dot_dot_keeps_its_lock_journal_and_log() {
    // Issue 14, reproduction 7: `[report] dir = "x/../logs"` was not seen as
    // the report directory, and `paths = ["logs"]` deleted it mid-run.
    let pipe = git_pipeline(
        "[orchestrator]\ncommand = \"true\"\n[report]\ndir = \"x/../logs\"\n[cleanup]\npaths = [\"logs\"]\n",
    );
    std::fs::create_dir_all(pipe.path().join("x")).unwrap();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<String> = std::fs::read_dir(pipe.path().join("logs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for prefix in ["auto_cycle_report_", "orchestrator_iteration_1_"] {
        assert!(names.iter().any(|n| n.starts_with(prefix)), "{names:?}");
    }
    assert!(
        names.iter().any(|n| n.ends_with(".journal.jsonl")),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("auto_cycle_") && n.ends_with(".log")),
        "{names:?}"
    );
    let warnings = cleanup_warnings(&pipe.report());
    assert!(warnings.contains("never touches"), "{warnings}");
}

#[test]
fn a_report_dir_reached_through_an_alias_of_the_repo_is_protected() {
    let pipe = git_pipeline("[orchestrator]\ncommand = \"true\"\n[cleanup]\npaths = [\"logs\"]\n");
    let alias_dir = tempfile::tempdir().unwrap();
    let alias = alias_dir.path().join("repo");
    std::os::unix::fs::symlink(pipe.path(), &alias).unwrap();
    let run = AutoEtl::new(pipe.path())
        .arg_path(Path::new("--report-dir"))
        .arg_path(&alias.join("logs"))
        .run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let journals = std::fs::read_dir(pipe.path().join("logs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".journal.jsonl")
        })
        .count();
    assert_eq!(journals, 1);
}
