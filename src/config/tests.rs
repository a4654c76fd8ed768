use super::*;
use crate::cli::Cli;
use clap::Parser;

fn outside() -> Outside {
    Outside {
        cwd: PathBuf::from("/work/pipeline"),
        ci: false,
        env_push: false,
    }
}

fn args(flags: &[&str]) -> RunArgs {
    let mut argv = vec!["auto-etl"];
    argv.extend_from_slice(flags);
    Cli::try_parse_from(argv).unwrap().run
}

fn resolve_text(text: &str, flags: &[&str]) -> Result<Config, ConfigError> {
    resolve(
        text,
        "auto-etl.toml",
        PathBuf::from("/work/pipeline"),
        None,
        &args(flags),
        &outside(),
    )
}

const MINIMAL: &str = "[orchestrator]\ncommand = \"python3 tools/run.py\"\n";

fn error_text(text: &str) -> String {
    resolve_text(text, &[]).unwrap_err().to_string()
}

#[test]
fn defaults_apply_when_nothing_is_set() {
    let cfg = resolve_text(MINIMAL, &[]).unwrap();
    assert_eq!(cfg.cycle.max_iterations, 5);
    assert_eq!(cfg.steps.len(), 1);
    assert_eq!(cfg.steps[0].timeout, Duration::from_secs(600));
    assert_eq!(cfg.cycle.service_wait, Duration::from_secs(10));
    assert_eq!(cfg.git.mode, CheckpointMode::Ref);
    assert!(!cfg.git.push);
    assert_eq!(cfg.docker.level, CleanupLevel::Standard);
    assert_eq!(cfg.docker.project, "pipeline");
    assert_eq!(cfg.report_dir, PathBuf::from("/work/pipeline/logs"));
    assert_eq!(cfg.markers.success, ["✅", "SUCCESS", "COMPLETADA"]);
    assert_eq!(cfg.markers.error, ["❌", "FAILED", "ERROR"]);
}

#[test]
fn a_flag_beats_the_file_and_the_file_beats_the_default() {
    let text = format!("{MINIMAL}[cycle]\nmax_iterations = 7\nservice_wait = \"20s\"\n");
    let cfg = resolve_text(&text, &[]).unwrap();
    assert_eq!(cfg.cycle.max_iterations, 7);
    assert_eq!(cfg.cycle.service_wait, Duration::from_secs(20));
    let cfg = resolve_text(
        &text,
        &[
            "--max-iterations",
            "10",
            "--service-wait",
            "1m",
            "--timeout",
            "90s",
        ],
    )
    .unwrap();
    assert_eq!(cfg.cycle.max_iterations, 10);
    assert_eq!(cfg.cycle.service_wait, Duration::from_secs(60));
    assert_eq!(cfg.steps[0].timeout, Duration::from_secs(90));
}

#[test]
fn errors_name_the_file_line_and_key() {
    let cases = [
        ("[orchestrator]\ncommand = \"x\"\n\n[cycle]\nmax_iteratons = 3\n", "auto-etl.toml:5: cycle.max_iteratons: unknown field"),
        ("[orchestrator]\ncommand = \"x\"\n[cycle.backoff]\nfactor = 3\n", "auto-etl.toml:4: cycle.backoff.factor: unknown field"),
        ("[[steps]]\nname = \"a\"\nrun = \"x\"\n[[steps]]  # second\nname = \"b\"\nrn = \"y\"\n", "auto-etl.toml:6: steps[1].rn: unknown field"),
        ("colour = 1\n[orchestrator]\ncommand = \"x\"\n", "auto-etl.toml:1: colour: unknown field"),
        ("[orchestrator]\ncommand = \"x\"\n[cycle]\nmax_iterations = 0\n", "auto-etl.toml:4: cycle.max_iterations: 0 is out of range"),
        ("[orchestrator]\ncommand = \"x\"\ntimeout = \"ten\"\n", "auto-etl.toml:3: orchestrator.timeout: `ten` is not a duration"),
        (
            "[orchestrator]\ncommand = \"x\"\n\n[[rules]]\nid = \"bad\"\nclass = \"timeout\"\npattern = \"(unclosed\"\n",
            "auto-etl.toml:7: rules[0].pattern: rule `bad`: invalid pattern",
        ),
        (
            "[orchestrator]\ncommand = \"x\"\n[[rules]]\nid = \"ok\"\nclass = \"timeout\"\npattern = \"slow\"\n[[rules]]\nid = \"bad\"\nclass = \"timeout\"\npattern = \"a{5000}{5000}\"\n",
            "auto-etl.toml:10: rules[1].pattern: rule `bad`: invalid pattern",
        ),
        (
            "[orchestrator]\ncommand = \"x\"\n[[rules]]\nid = \"r\"\nclass = \"timeout\"\npattern = \"slow\"\n[[rules]]\nid = \"r\"\nclass = \"timeout\"\npattern = \"late\"\n",
            "auto-etl.toml:8: rules[1].id: rule `r` is defined twice",
        ),
        ("[orchestrator]\ncommand = \"  \"\n", "auto-etl.toml:2: orchestrator.command: the command is empty"),
        ("[orchestrator]\ncommand = \"x\"\n[cleanup]\npaths = [\"../etc\"]\n", "auto-etl.toml:4: cleanup.paths: `../etc` is not a path inside the repository"),
        ("[orchestrator]\ncommand = \"x\"\n[cleanup]\npaths = [\"/tmp\"]\n", "auto-etl.toml:4: cleanup.paths"),
        ("[orchestrator]\ncommand = \"x\"\n[docker]\nlevel = \"nuclear\"\n", "auto-etl.toml:4: docker.level: `nuclear` is not one of light, standard, deep"),
        ("[orchestrator]\ncommand = \"x\"\n[docker]\nlabels = [\"novalue\"]\n", "auto-etl.toml:4: docker.labels: `novalue` is not a K=V label"),
        ("[orchestrator]\ncommand = \"x\"\n[git]\ncheckpoint = \"always\"\n", "auto-etl.toml:4: git.checkpoint"),
        ("[orchestrator]\ncommand = \"x\"\n[cycle.backoff]\njitter = \"some\"\n", "auto-etl.toml:4: cycle.backoff.jitter"),
        ("[orchestrator]\ncommand = \"x\"\n[cycle.backoff]\nmultiplier = 1e9\n", "auto-etl.toml:4: cycle.backoff.multiplier"),
        ("[orchestrator]\ncommand = \"x\"\nwait_for = [\"udp:x:1\"]\n", "auto-etl.toml:3: orchestrator.wait_for"),
        ("[[steps]]\nname = \"a\"\nrun = \"x\"\n[[steps]]\nname = \"a\"\nrun = \"y\"\n", "auto-etl.toml:5: steps[1].name: step `a` is defined twice"),
        ("[[steps]]\nname = \"a\"\nrun = \"x\"\nkind = \"chore\"\n", "auto-etl.toml:4: steps[0].kind"),
        ("[cycle]\nmax_iterations = 3\n", "auto-etl.toml:1: orchestrator: nothing to run"),
        ("[orchestrator\ncommand = 1", "auto-etl.toml:1: toml:"),
        (
            "[orchestrator]\ncommand = \"x\"\n[cycle]\nmax_iterations = 99999999999999999999\n",
            "auto-etl.toml:4: max_iterations:",
        ),
    ];
    for (text, expected) in cases {
        let err = error_text(text);
        assert!(
            err.starts_with(expected),
            "for {text:?}\n got: {err}\nwant: {expected}"
        );
    }
}

#[test]
fn absurd_flag_values_are_usage_errors() {
    let err = resolve_text(MINIMAL, &["--max-iterations", "100000"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--max-iterations") && err.contains("out of range"),
        "{err}"
    );
    let err = resolve_text(MINIMAL, &["--timeout", "forever"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("--timeout"), "{err}");
    let err = resolve_text(MINIMAL, &["--timeout", "0s"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("above zero"), "{err}");
}

#[test]
fn push_in_ci_needs_the_flag_itself() {
    let text = format!("{MINIMAL}[git]\npush = true\n");
    let ci = Outside {
        ci: true,
        ..outside()
    };
    let root = PathBuf::from("/work/pipeline");
    let cfg = resolve(&text, "f", root.clone(), None, &args(&[]), &ci).unwrap();
    assert!(!cfg.git.push);
    assert!(cfg.git.push_refused.unwrap().contains("--push"));
    let env_ci = Outside {
        ci: true,
        env_push: true,
        ..outside()
    };
    assert!(
        !resolve(MINIMAL, "f", root.clone(), None, &args(&[]), &env_ci)
            .unwrap()
            .git
            .push
    );
    assert!(
        resolve(MINIMAL, "f", root.clone(), None, &args(&["--push"]), &ci)
            .unwrap()
            .git
            .push
    );
    assert!(
        resolve(&text, "f", root, None, &args(&[]), &outside())
            .unwrap()
            .git
            .push
    );
}

#[test]
fn steps_keep_their_attributes() {
    let text = r#"
[[steps]]
name = "create_tables"
run = "mysql etl < sql/create_tables.sql"
timeout = "2m"
kind = "decision"
complexity = "high"
external_dependencies = true
data_sensitive = true
wait_for = ["tcp:127.0.0.1:3306"]
"#;
    let cfg = resolve_text(text, &[]).unwrap();
    let s = &cfg.steps[0];
    assert_eq!(
        (s.kind, s.complexity),
        (StepKind::Decision, Complexity::High)
    );
    assert!(s.external_dependencies && s.data_sensitive);
    assert_eq!(s.timeout, Duration::from_secs(120));
    assert_eq!(s.wait_for, ["tcp:127.0.0.1:3306"]);
    assert_eq!(s.line, 3);
}

#[test]
fn user_rules_come_first_and_default_their_retryability_from_the_class() {
    let text = format!(
        "{MINIMAL}[[rules]]\nid = \"ch-unknown-table\"\nclass = \"no_such_table\"\npattern = 'Code: 60\\. DB::Exception'\n\
         [[rules]]\nid = \"mine\"\nclass = \"syntax_error\"\npattern = 'bad'\n\
         [[rules]]\nid = \"custom\"\nclass = \"kafka_rebalance\"\npattern = 'rebalance'\nretryable = false\n"
    );
    let cfg = resolve_text(&text, &[]).unwrap();
    let rules = cfg.rules.rules();
    assert_eq!(rules[0].id, "ch-unknown-table");
    assert!(rules[0].retryable);
    assert!(!rules[1].retryable);
    assert_eq!(
        rules[2].class,
        FailureClass::Custom("kafka_rebalance".into())
    );
    assert!(!rules[2].retryable);
}

#[test]
fn compose_names_follow_docker_compose() {
    assert_eq!(
        compose_project_name(Path::new("/x/My.Pipeline_1")),
        "mypipeline_1"
    );
    assert_eq!(compose_project_name(Path::new("/x/__etl")), "etl");
    assert_eq!(compose_project_name(Path::new("/")), "default");
}

#[test]
fn sizes_parse() {
    assert_eq!(parse_size("50MB").unwrap(), 50 << 20);
    assert_eq!(parse_size("512k").unwrap(), 512 << 10);
    assert_eq!(parse_size("100").unwrap(), 100);
    assert!(parse_size("lots").is_err());
    assert!(parse_size("99999999999999999999G").is_err());
}

#[test]
fn rollback_flag_beats_the_file_and_defaults_off() {
    assert!(!resolve_text(MINIMAL, &[]).unwrap().rollback);
    let on = format!("{MINIMAL}[git]\nrollback = true\n");
    assert!(resolve_text(&on, &[]).unwrap().rollback);
    assert!(resolve_text(MINIMAL, &["--rollback"]).unwrap().rollback);
    assert!(!resolve_text(&on, &["--rollback=false"]).unwrap().rollback);
    assert!(resolve_text(MINIMAL, &["--rollback=yes"]).unwrap().rollback);
    let err = error_text(&format!("{MINIMAL}[git]\nrollback = \"yes\"\n"));
    assert!(err.contains("rollback"), "{err}");
}

#[test]
fn the_config_is_found_in_a_parent_up_to_the_repository_root() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    let deep = repo.join("etl/jobs");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::create_dir(repo.join(".git")).unwrap();
    assert_eq!(find_config(&deep), None);
    std::fs::write(repo.join(FILE_NAME), MINIMAL).unwrap();
    assert_eq!(find_config(&deep), Some(repo.join(FILE_NAME)));
    assert_eq!(find_config(&repo), Some(repo.join(FILE_NAME)));
    // Never past the repository root: a config above it belongs to
    // something else.
    std::fs::remove_file(repo.join(FILE_NAME)).unwrap();
    std::fs::write(tmp.path().join(FILE_NAME), MINIMAL).unwrap();
    assert_eq!(find_config(&deep), None);
    // Outside any repository, the walk goes up to the filesystem root.
    let loose = tmp.path().join("loose/a/b");
    std::fs::create_dir_all(&loose).unwrap();
    assert_eq!(find_config(&loose), Some(tmp.path().join(FILE_NAME)));
}

#[test]
fn flag_errors_name_the_environment_variable_when_the_flag_was_not_given() {
    let e = ConfigError::Flag {
        origin: FLAG_ORIGIN.into(),
        key: "--max-iterations".into(),
        message: "0 is out of range (1 to 1000)".into(),
    };
    assert_eq!(
        e.named_where_given(&["auto-etl".into()]).to_string(),
        "environment: AUTO_ETL_MAX_ITERATIONS: 0 is out of range (1 to 1000)"
    );
}

#[test]
fn zero_timeouts_and_nul_bytes_are_errors_naming_line_and_key() {
    let cases = [
        (
            "[orchestrator]\ncommand = \"x\"\ntimeout = \"0s\"\n",
            "auto-etl.toml:3: orchestrator.timeout: a timeout must be above zero",
        ),
        (
            "[[steps]]\nname = \"a\"\nrun = \"x\"\ntimeout = \"0ms\"\n",
            "auto-etl.toml:4: steps[0].timeout: a timeout must be above zero",
        ),
        (
            "[orchestrator]\ncommand = \"x\"\n[verify]\nvalidator_timeout = \"0\"\n",
            "auto-etl.toml:4: verify.validator_timeout: a timeout must be above zero",
        ),
        (
            "[[steps]]\nname = \"a\"\nrun = \"a\\u0000b\"\n",
            "auto-etl.toml:3: steps[0].run: the command holds a NUL byte",
        ),
        (
            "[orchestrator]\ncommand = \"\\u0000\"\n",
            "auto-etl.toml:2: orchestrator.command: the command holds a NUL byte",
        ),
        (
            "[orchestrator]\ncommand = \"x\"\n[verify]\nvalidator = \"v\\u0000\"\n",
            "auto-etl.toml:4: verify.validator: the command holds a NUL byte",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error_text(text), want, "{text}");
    }
    let flag = resolve_text(MINIMAL, &["--timeout", "0s"]).unwrap_err();
    assert_eq!(
        flag.to_string(),
        "command line or environment: --timeout: a timeout must be above zero"
    );
}
