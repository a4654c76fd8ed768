//! The validation cycle end to end, over the real binary.

use crate::support::pipeline::{processes_matching, reports_in, Pipeline, FAST};
use crate::support::{git, AutoEtl};
use std::time::{Duration, Instant};

fn unique() -> String {
    format!(
        "{}{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() % 100_000
    )
}

fn errors_of(cycle: &serde_json::Value) -> String {
    serde_json::to_string(&cycle["errors"]).unwrap()
}

#[test]
fn the_demo_heals_its_faults_and_ends_green() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("demo");
    let run = AutoEtl::new(base.path())
        .args(["demo", "--dir"])
        .arg_path(&dir)
        .run();
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.contains("report: "), "{}", run.stdout);
    let reports = reports_in(&dir.join("logs"));
    let report = &reports[0];
    assert_eq!(report["overall_success"], true);
    assert_eq!(report["status"], "success");
    let cycles = report["cycles"].as_array().unwrap();
    assert!(
        cycles.len() >= 2 && cycles.len() <= 5,
        "{} iterations",
        cycles.len()
    );
    assert!(
        errors_of(&cycles[0]).contains("connection_refused"),
        "{}",
        errors_of(&cycles[0])
    );
    let adjustments: Vec<String> = cycles
        .iter()
        .flat_map(|c| {
            c["adjustments"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.to_string())
        })
        .collect();
    assert!(
        adjustments.iter().any(|a| a.contains("service wait")),
        "{adjustments:?}"
    );
    assert!(cycles.last().unwrap()["success"].as_bool().unwrap());
    assert!(cycles[..cycles.len() - 1]
        .iter()
        .all(|c| c["success"] == false));
}

#[test]
fn the_seed_usage_heals_a_slow_service_in_a_pipeline_repo() {
    let pipe = Pipeline::new("");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo-pipeline");
    copy_dir(&src, pipe.path());
    git(pipe.path(), &["init", "-q"]);
    git(pipe.path(), &["add", "-A"]);
    git(pipe.path(), &["commit", "-qm", "pipeline"]);
    let run = AutoEtl::new(pipe.path())
        .args(["--max-iterations", "10", "--debug"])
        .run();
    assert_eq!(
        run.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    // --debug echoes the steps' own output.
    assert!(run.stderr.contains("extract: rows=20"), "{}", run.stderr);
    let report = pipe.report();
    let first = &report["cycles"][0];
    assert!(errors_of(first).contains("connection_refused"), "{first:#}");
    assert!(
        first["adjustments"][0]
            .as_str()
            .unwrap()
            .starts_with("service wait 1s -> 6s"),
        "{first}"
    );
    assert_eq!(report["max_iterations"], 10);
    assert_eq!(report["overall_success"], true);
    assert_eq!(
        git(pipe.path(), &["status", "--porcelain"]),
        "",
        "the run left the work tree dirty"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
    std::fs::write(to.join(".gitignore"), "output/\ngenerated/\nlogs/\n").unwrap();
}

#[test]
fn a_hanging_step_is_killed_with_its_whole_tree() {
    let token = unique();
    let toml = format!(
        "[orchestrator]\ncommand = \"sleep 3000.{token}1 & (sleep 3000.{token}2; true) & setsid sleep 3000.{token}3 & sleep 3000.{token}4\"\ntimeout = \"1s\"\n\
         [cycle]\nmax_iterations = 1\nstop_grace = \"1s\"\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let started = Instant::now();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(20));
    let report = pipe.report();
    assert_eq!(report["cycles"][0]["status"], "timeout");
    assert_eq!(report["cycles"][0]["steps"][0]["status"], "timeout");
    let left = processes_matching(&format!("3000.{token}"));
    assert!(
        left.is_empty(),
        "processes survived the iteration: {left:?}"
    );
}

#[test]
fn background_processes_of_a_finished_step_are_gone_when_the_iteration_ends() {
    let token = unique();
    let toml = format!(
        "[[steps]]\nname = \"start\"\nrun = \"(setsid sleep 3100.{token} &) ; sleep 3101.{token} & echo started\"\n\
         [[steps]]\nname = \"check\"\nrun = \"pgrep -f 3101.{token} >/dev/null && echo still-there\"\n\
         [cycle]\nmax_iterations = 1\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log = std::fs::read_to_string(
        pipe.path()
            .join(pipe.report()["cycles"][0]["log_file"].as_str().unwrap()),
    )
    .unwrap();
    assert!(
        log.contains("still-there"),
        "a step's background process must live until the iteration ends:\n{log}"
    );
    let left: Vec<_> = processes_matching(&format!("3100.{token}"))
        .into_iter()
        .chain(processes_matching(&format!("3101.{token}")))
        .collect();
    assert!(
        left.is_empty(),
        "processes survived the iteration: {left:?}"
    );
}

#[test]
fn a_sql_syntax_error_stops_after_one_iteration_with_exit_3() {
    let toml = format!(
        "[orchestrator]\ncommand = \"echo 'ERROR:  syntax error at or near \\\"SELEC\\\"' >&2; exit 1\"\n\
         [cycle]\nmax_iterations = 5\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    assert_eq!(report["status"], "non_retryable");
    assert_eq!(report["iterations_executed"], 1);
    assert_eq!(
        report["cycles"][0]["classified_errors"][0]["class"],
        "syntax_error"
    );
    assert!(report["stop_reason"]
        .as_str()
        .unwrap()
        .contains("syntax_error is not retryable"));
}

#[test]
fn exit_zero_with_a_classified_failure_line_is_not_green() {
    let toml = format!(
        "[orchestrator]\ncommand = \"echo \\\"ERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist\\\"; echo '✅ done'; exit 0\"\n\
         [cycle]\nmax_iterations = 2\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    assert_eq!(report["overall_success"], false);
    assert_eq!(report["status"], "failed");
    for cycle in report["cycles"].as_array().unwrap() {
        assert_eq!(cycle["success"], false);
        assert_eq!(cycle["exit_code"], 0);
        assert_eq!(cycle["classified_errors"][0]["class"], "no_such_table");
    }
    assert!(run.stdout.contains("RED"), "{}", run.stdout);
}

#[test]
fn a_missing_table_is_healed_by_recreating_the_schema() {
    let toml = format!(
        "[orchestrator]\ncommand = \"if [ \\\"$AUTO_ETL_RECREATE_SCHEMA\\\" = 1 ]; then echo schema recreated; else echo \\\"ERROR 1146 (42S02): Table 'etl.sales' doesn't exist\\\"; fi\"\n\
         [cycle]\nmax_iterations = 3\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    assert_eq!(report["iterations_executed"], 2);
    assert!(report["cycles"][0]["adjustments"][0]
        .as_str()
        .unwrap()
        .starts_with("recreate schema on"));
    assert_eq!(report["cycles"][1]["plan"]["recreate_schema"], true);
}

#[test]
fn a_timed_out_step_gets_a_longer_timeout_next_time() {
    let toml = format!(
        "[[steps]]\nname = \"slow\"\nrun = \"sleep 10\"\ntimeout = \"1s\"\n[cycle]\nmax_iterations = 2\nstop_grace = \"1s\"\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1);
    let report = pipe.report();
    assert_eq!(report["cycles"][0]["status"], "timeout");
    assert_eq!(
        report["cycles"][0]["adjustments"][0],
        "step slow timeout 1s -> 1.5s (timeout)"
    );
    assert_eq!(report["cycles"][1]["plan"]["step_timeouts_seconds"][0], 1.5);
    assert!(report["cycles"][0]["backoff_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn a_bad_config_exits_2_naming_file_line_and_key() {
    let pipe = Pipeline::new("[orchestrator]\ncommand = \"true\"\n\n[cycle]\nmax_iteratons = 3\n");
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("auto-etl.toml:5: cycle.max_iteratons: unknown field"),
        "{}",
        run.stderr
    );
    assert!(
        pipe.reports().is_empty(),
        "no report for a run that never started"
    );
    let pipe = Pipeline::new("[orchestrator]\ncommand = \"true\"\n[[rules]]\nid = \"x\"\nclass = \"timeout\"\npattern = \"a(b\"\n");
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("auto-etl.toml:6: rules[0].pattern"),
        "{}",
        run.stderr
    );
}

#[test]
fn no_config_points_at_init_and_demo() {
    let dir = tempfile::tempdir().unwrap();
    let run = AutoEtl::new(dir.path()).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("auto-etl init") && run.stderr.contains("auto-etl demo"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_missing_program_is_named_before_any_iteration() {
    let pipe = Pipeline::new(&format!(
        "[[steps]]\nname = \"load\"\nrun = \"no-such-etl-tool --go\"\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("step `load`")
            && run
                .stderr
                .contains("`no-such-etl-tool` is not on PATH (config line 2)"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_environment_sits_between_flags_and_the_file() {
    let toml = format!(
        "[orchestrator]\ncommand = \"exit 1\"\ntimeout = \"30s\"\n[cycle]\nmax_iterations = 3\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let from_file = AutoEtl::new(pipe.path()).run();
    let from_env = AutoEtl::new(pipe.path())
        .env("AUTO_ETL_MAX_ITERATIONS", "1")
        .env("AUTO_ETL_TIMEOUT", "20s")
        .run();
    let from_flag = AutoEtl::new(pipe.path())
        .env("AUTO_ETL_MAX_ITERATIONS", "1")
        .env("AUTO_ETL_TIMEOUT", "20s")
        .args(["--max-iterations", "2", "--timeout", "10s"])
        .run();
    for run in [&from_file, &from_env, &from_flag] {
        assert_eq!(run.code, 1, "{}", run.stderr);
    }
    let reports = pipe.reports();
    let seen: Vec<(u64, f64)> = reports
        .iter()
        .map(|r| {
            (
                r["max_iterations"].as_u64().unwrap(),
                r["cycles"][0]["plan"]["step_timeouts_seconds"][0]
                    .as_f64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [(3, 30.0), (1, 20.0), (2, 10.0)]);
}

#[test]
fn the_report_has_every_field_of_the_contract() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo hello rows=3\"\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path()).args(["--format", "json"]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let printed: serde_json::Value =
        serde_json::from_str(&run.stdout).expect("--format json prints the report");
    let report = pipe.report();
    assert_eq!(printed, report);
    for key in [
        "schema_version",
        "execution_id",
        "start_time",
        "end_time",
        "total_duration_seconds",
        "max_iterations",
        "iterations_executed",
        "overall_success",
        "status",
        "cycles",
        "risk_assessment",
        "performance_metrics",
        "recovery_actions",
        "automation_health",
    ] {
        assert!(report.get(key).is_some(), "report lacks {key}");
    }
    let cycle = &report["cycles"][0];
    for key in [
        "iteration",
        "status",
        "success",
        "duration_seconds",
        "errors_count",
        "errors",
        "adjustments_count",
        "adjustments",
        "exit_code",
        "log_file",
        "checkpoint",
        "cleanup",
        "classified_errors",
        "validations",
        "steps",
        "backoff_seconds",
        "health",
    ] {
        assert!(cycle.get(key).is_some(), "cycle lacks {key}");
    }
    for key in [
        "level",
        "containers",
        "networks",
        "volumes",
        "files",
        "duration_ms",
    ] {
        assert!(cycle["cleanup"].get(key).is_some(), "cleanup lacks {key}");
    }
    for key in ["risk_score", "risk_level", "step_risks", "mitigations"] {
        assert!(
            report["risk_assessment"].get(key).is_some(),
            "risk lacks {key}"
        );
    }
    for key in [
        "execution_time_ms",
        "cpu_usage_percent",
        "memory_usage_mb",
        "throughput_ops_per_second",
        "error_rate",
        "success_rate",
        "resource_efficiency",
        "step_breakdown",
        "optimization_recommendations",
    ] {
        assert!(
            report["performance_metrics"].get(key).is_some(),
            "performance lacks {key}"
        );
    }
    for key in [
        "overall_score",
        "health_status",
        "component_scores",
        "trending",
        "alerts",
        "recommendations",
    ] {
        assert!(
            report["automation_health"].get(key).is_some(),
            "health lacks {key}"
        );
    }
    let id = report["execution_id"].as_str().unwrap();
    assert!(id.len() >= 15 && id.as_bytes()[8] == b'_', "{id}");
    assert!(chrono::DateTime::parse_from_rfc3339(report["start_time"].as_str().unwrap()).is_ok());
    assert_eq!(cycle["steps"][0]["performance_metrics"]["rows"], 3);
    assert!(pipe
        .path()
        .join("logs")
        .join(format!("auto_cycle_{id}.log"))
        .exists());
    assert!(pipe
        .path()
        .join(cycle["log_file"].as_str().unwrap())
        .exists());
}

#[test]
fn the_environment_of_the_steps_carries_the_plan() {
    let toml = format!(
        "[orchestrator]\ncommand = \"env | grep ^AUTO_ETL_ | sort\"\ntimeout = \"42s\"\n[cycle]\nservice_wait = \"7s\"\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let log = std::fs::read_to_string(
        pipe.path()
            .join(pipe.report()["cycles"][0]["log_file"].as_str().unwrap()),
    )
    .unwrap();
    for line in [
        "AUTO_ETL_ITERATION=1",
        "AUTO_ETL_STEP_TIMEOUT_SECS=42",
        "AUTO_ETL_SERVICE_WAIT_SECS=7",
        "AUTO_ETL_RECREATE_SCHEMA=0",
        "AUTO_ETL_CLEANUP_LEVEL=standard",
    ] {
        assert!(log.contains(line), "{line} missing in:\n{log}");
    }
}

#[test]
fn the_max_elapsed_budget_stops_the_loop() {
    let toml = format!(
        "[orchestrator]\ncommand = \"sleep 0.7; exit 1\"\n[cycle]\nmax_iterations = 50\nmax_elapsed = \"2s\"\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let started = Instant::now();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    let report = pipe.report();
    assert!(
        report["stop_reason"]
            .as_str()
            .unwrap()
            .contains("max-elapsed"),
        "{}",
        report["stop_reason"]
    );
    let n = report["iterations_executed"].as_u64().unwrap();
    assert!((1..=4).contains(&n), "{n} iterations in a 2s budget");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let pipe = Pipeline::new(&format!("[orchestrator]\ncommand = \"touch ran\"\n{FAST}"));
    let run = AutoEtl::new(pipe.path()).args(["--dry-run"]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("step 1: orchestrator"),
        "{}",
        run.stdout
    );
    let left: Vec<_> = std::fs::read_dir(pipe.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["auto-etl.toml"], "a dry run must not create files");
}

#[test]
fn a_non_retryable_error_after_hundreds_of_retryable_ones_still_stops_the_loop() {
    let toml = format!(
        "[orchestrator]\ncommand = \"for i in $(seq 250); do echo 'connect: Connection refused'; done; echo 'ERROR:  syntax error at or near \\\"x\\\"'; exit 1\"\n\
         [cycle]\nmax_iterations = 3\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = pipe.report();
    assert_eq!(report["iterations_executed"], 1);
    assert_eq!(report["cycles"][0]["classified_total"], 251);
}

#[test]
fn a_step_named_like_a_success_marker_does_not_pass_the_marker_check() {
    let toml = "[[steps]]\nname = \"load SUCCESS\"\nrun = \"echo loaded\"\n[cycle]\nmax_iterations = 1\n[git]\ncheckpoint = \"off\"\n";
    let pipe = Pipeline::new(toml);
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let errors = pipe.report()["cycles"][0]["errors"].to_string();
    assert!(errors.contains("no success marker"), "{errors}");
}
