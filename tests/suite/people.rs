//! What people read and type: the HTML report (checked by a screenshot in
//! headless Chromium), the text summary, the help, config discovery and
//! naming, `init` detection, `--debug`.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::{bin, AutoEtl};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Three steps and a validator; `load` fails on a missing table until the
/// agent asks for the schema to be recreated: red once, then green.
fn healing_pipeline() -> Pipeline {
    Pipeline::new(&format!(
        r#"[[steps]]
name = "extract"
run = "echo extracting rows=1200; sleep 0.3"

[[steps]]
name = "load"
run = "if [ \"$AUTO_ETL_RECREATE_SCHEMA\" = 1 ]; then echo loaded rows=1200; else echo \"ERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist\"; exit 1; fi"

[[steps]]
name = "publish"
run = "echo published"

[cycle]
max_iterations = 3
{FAST}
validator = "echo validated"
"#
    ))
}

/// The newest report file of a pipeline.
fn report_path(pipe: &Pipeline) -> PathBuf {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(pipe.path().join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("auto_cycle_report_") && n.ends_with(".json")
        })
        .collect();
    paths.sort();
    paths.pop().expect("a report")
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The screenshot of a healed run's report, written to the test output
/// directory (`target/tmp/people/`) for people and CI artifacts. Without a
/// browser this test fails, in CI and out: scripts/test.sh installs
/// Debian's chromium.
#[test]
fn the_html_report_of_a_healed_run_is_screenshotted_in_chromium() {
    let pipe = healing_pipeline();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("people");
    std::fs::create_dir_all(&out_dir).unwrap();
    let png = out_dir.join("report-healed.png");
    let _ = std::fs::remove_file(&png);
    let shot = Command::new(repo_root().join("scripts/screenshot-report.sh"))
        .arg(report_path(&pipe))
        .arg(&png)
        .arg("1280x2100")
        .env("AUTO_ETL", bin())
        .output()
        .expect("run scripts/screenshot-report.sh");
    assert!(
        shot.status.success(),
        "screenshot failed (exit {:?}; exit 3 = no chromium: scripts/test.sh installs it): {}",
        shot.status.code(),
        String::from_utf8_lossy(&shot.stderr)
    );
    let bytes = std::fs::read(&png).expect("the screenshot");
    assert_eq!(png_size(&bytes), (1280, 2100));
    // A blank or unstyled page compresses to a few kB; this one has
    // tables, charts and text.
    assert!(bytes.len() > 60_000, "{} bytes", bytes.len());
    let page = AutoEtl::new(pipe.path())
        .args(["report"])
        .arg_path(&report_path(&pipe))
        .args(["--format", "html"])
        .run()
        .stdout;
    assert!(page.contains("auto-etl GREEN: green at iteration 2"));
    assert!(page.contains(">no_such_table<"));
    assert!(
        page.contains("Table &#39;etl.sales&#39; doesn&#39;t exist")
            || page.contains("Table 'etl.sales' doesn't exist")
    );
    for h in [
        "Timeline",
        "Failures",
        "Adjustments",
        "Performance per step",
        "Machine health",
        "Risk",
        "Recovery actions",
    ] {
        assert!(page.contains(&format!("<h2>{h}</h2>")), "{h}");
    }
    let header = &page[page.find("<header").unwrap()..page.find("</header>").unwrap()];
    assert!(!header.contains("critical"), "{header}");
}

/// The summary said "still failing after 2 iteration(s) (max-iterations)
/// after 2 iteration(s)".
#[test]
fn the_summary_of_a_red_run_says_the_count_once() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo 'could not connect to server: Connection refused'; exit 1\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let first = run.stdout.lines().next().unwrap();
    assert!(
        first.starts_with("auto-etl RED: still failing after 2 iteration(s) (max-iterations), "),
        "{first}"
    );
    assert_eq!(first.matches("iteration(s)").count(), 1, "{first}");
}

/// Steps were numbered 1/3, 2/3, 3/3 and then the validator (4/4); and a
/// failed step followed by two skipped ones read "3 of 3 step(s) did not
/// succeed".
#[test]
fn steps_and_validator_share_one_numbering_and_skips_are_not_failures() {
    let pipe = healing_pipeline();
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report_path(&pipe)).unwrap()).unwrap();
    let second_log = report["cycles"][1]["log_file"].as_str().unwrap();
    let log = std::fs::read_to_string(pipe.path().join(second_log)).unwrap();
    for header in [
        "step extract (1/4)",
        "step load (2/4)",
        "step publish (3/4)",
        "step validator (4/4)",
    ] {
        assert!(log.contains(header), "{header} in\n{log}");
    }
    let exit = report["cycles"][0]["validations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "exit codes")
        .unwrap()
        .clone();
    assert_eq!(exit["detail"], "1 of 3 step(s) did not succeed, 1 skipped");
}

/// `--dry-run` printed `checkpoints Ref`.
#[test]
fn the_dry_run_plan_names_the_checkpoint_mode_as_the_config_does() {
    let pipe = Pipeline::new("[orchestrator]\ncommand = \"true\"\n");
    let run = AutoEtl::new(pipe.path()).args(["--dry-run"]).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("checkpoints ref\n"), "{}", run.stdout);
}

/// `AUTO_ETL_MAX_ITERATIONS=zero` was reported as `--max-iterations`, a
/// flag the user never typed.
#[test]
fn a_bad_environment_value_is_named_by_its_variable() {
    let pipe = Pipeline::new("[orchestrator]\ncommand = \"true\"\n");
    for value in ["zero", "0"] {
        let run = AutoEtl::new(pipe.path())
            .env("AUTO_ETL_MAX_ITERATIONS", value)
            .args(["--dry-run"])
            .run();
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("AUTO_ETL_MAX_ITERATIONS"),
            "{value}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("--max-iterations"),
            "{value}: {}",
            run.stderr
        );
    }
    let run = AutoEtl::new(pipe.path())
        .args(["--dry-run", "--max-iterations", "0"])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("command line: --max-iterations: 0 is out of range"),
        "{}",
        run.stderr
    );
}

/// The config was only looked for in the current directory; git, cargo and
/// just look in the parents too.
#[test]
fn the_config_is_found_from_a_subdirectory_of_the_repository() {
    let pipe = Pipeline::new("[orchestrator]\ncommand = \"true\"\n");
    std::fs::create_dir(pipe.path().join(".git")).unwrap();
    let sub = pipe.path().join("etl/jobs");
    std::fs::create_dir_all(&sub).unwrap();
    let run = AutoEtl::new(&sub).args(["--dry-run"]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let root = pipe.path().canonicalize().unwrap();
    assert!(
        run.stdout
            .contains(&format!("auto-etl plan for {}", root.display()))
            || run
                .stdout
                .contains(&format!("auto-etl plan for {}", pipe.path().display())),
        "{}",
        run.stdout
    );
}

/// `man` worked but was not in `--help`.
#[test]
fn the_help_lists_man_and_man_prints_a_page() {
    let help = AutoEtl::new(Path::new(".")).args(["--help"]).run();
    assert!(
        help.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("man ")),
        "{}",
        help.stdout
    );
    let man = AutoEtl::new(Path::new(".")).args(["man"]).run();
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH"),
        "{}",
        man.stdout
    );
}

/// `--debug` printed no DEBUG line: it only echoed the steps' output.
#[test]
fn debug_prints_debug_lines() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo step-output-here; sleep 1.2\"\n[cycle]\nmax_iterations = 1\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path()).args(["--debug"]).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("DEBUG"), "{}", run.stderr);
    assert!(run.stderr.contains("health sample: cpu"), "{}", run.stderr);
    assert!(run.stderr.contains("step-output-here"), "{}", run.stderr);
}

/// `init` found only tools/orchestrate_*.py; a dbt project with a compose
/// file whose database has a healthcheck got a placeholder.
#[test]
fn init_detects_a_dbt_project_and_waits_for_healthy_services() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("dbt_project.yml"),
        "name: shop\nversion: '1.0.0'\nprofile: shop\n",
    )
    .unwrap();
    std::fs::write(
        d.join("packages.yml"),
        "packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.1.1\n",
    )
    .unwrap();
    std::fs::write(
        d.join("docker-compose.yml"),
        "services:\n  warehouse:\n    image: postgres:16\n    container_name: wh\n    healthcheck:\n      test: [\"CMD-SHELL\", \"pg_isready\"]\n",
    )
    .unwrap();
    let run = AutoEtl::new(d).args(["init"]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("from dbt_project.yml: dbt deps; dbt build"),
        "{}",
        run.stdout
    );
    // What init wrote loads (dbt itself is not installed here, so the
    // pre-flight of a real run would stop on the missing program).
    let outside = auto_etl::config::Outside {
        cwd: d.to_path_buf(),
        ci: false,
        env_push: false,
    };
    let cfg = auto_etl::config::load(&Default::default(), &outside).unwrap();
    let runs: Vec<&str> = cfg.steps.iter().map(|s| s.run.as_str()).collect();
    assert_eq!(runs, ["dbt deps", "dbt build"]);
    assert_eq!(cfg.steps[0].wait_for, ["container:wh:healthy"]);
}
