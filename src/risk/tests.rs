use super::*;
use crate::config::{Complexity as C, StepKind as K};
use std::path::Path;
use std::time::Duration;

fn step(name: &str, kind: K, complexity: C, external: bool, data: bool) -> Step {
    Step {
        name: name.into(),
        run: "true".into(),
        timeout: Duration::from_secs(60),
        kind,
        complexity,
        external_dependencies: external,
        data_sensitive: data,
        wait_for: Vec::new(),
        line: 7,
    }
}

fn history(entries: &[(&str, u32, u32)]) -> History {
    let mut h = History::default();
    for (name, runs, successes) in entries {
        h.steps.insert(
            name.to_string(),
            StepHistory {
                runs: *runs,
                successes: *successes,
            },
        );
    }
    h
}

#[test]
fn step_scores() {
    let none = History::default();
    let poor = history(&[("s", 5, 0)]);
    let perfect = history(&[("s", 10, 10)]);
    let half_once = history(&[("s", 1, 0)]);
    // (step, history, score, level)
    let table: Vec<(Step, &History, f64, &str)> = vec![
        (
            step("s", K::Validation, C::Low, false, false),
            &none,
            10.0,
            "low",
        ),
        (
            step("s", K::Verification, C::Medium, false, false),
            &none,
            20.0,
            "low",
        ),
        (
            step("s", K::Decision, C::Medium, false, false),
            &none,
            40.0,
            "medium",
        ),
        (
            step("s", K::Action, C::Medium, false, false),
            &none,
            45.0,
            "medium",
        ),
        (
            step("s", K::Action, C::High, false, false),
            &none,
            60.0,
            "high",
        ),
        (
            step("s", K::Action, C::High, true, false),
            &none,
            75.0,
            "high",
        ),
        (
            step("s", K::Action, C::High, true, true),
            &none,
            95.0,
            "critical",
        ),
        // history: 0 of 5 -> +30 (capped), full confidence
        (
            step("s", K::Validation, C::Low, false, false),
            &poor,
            40.0,
            "medium",
        ),
        // 10 of 10 -> -10: a good record lowers the score
        (
            step("s", K::Action, C::Medium, false, false),
            &perfect,
            35.0,
            "medium",
        ),
        (
            step("s", K::Validation, C::Low, false, false),
            &perfect,
            0.0,
            "low",
        ),
        // one failed run: +30 at 1/5 confidence
        (
            step("s", K::Validation, C::Low, false, false),
            &half_once,
            16.0,
            "low",
        ),
        // clamped at 100
        (
            step("s", K::Action, C::High, true, true),
            &poor,
            100.0,
            "critical",
        ),
        // history of another step is neutral
        (
            step("other", K::Action, C::Medium, false, false),
            &poor,
            45.0,
            "medium",
        ),
    ];
    for (i, (s, h, score, lvl)) in table.into_iter().enumerate() {
        let a = assess(std::slice::from_ref(&s), h);
        let r = &a.step_risks[0];
        assert_eq!(r.risk_score, score, "row {i}: {:?}", r.factors);
        assert_eq!(r.risk_level, lvl, "row {i}");
    }
}

#[test]
fn level_thresholds() {
    let table = [
        (0.0, "low"),
        (29.9, "low"),
        (30.0, "medium"),
        (59.9, "medium"),
        (60.0, "high"),
        (79.9, "high"),
        (80.0, "critical"),
        (100.0, "critical"),
    ];
    for (score, want) in table {
        assert_eq!(level(score), want, "{score}");
    }
}

#[test]
fn factors_name_what_counted() {
    let h = history(&[("load", 4, 1)]);
    let a = assess(&[step("load", K::Action, C::High, true, true)], &h);
    assert_eq!(
        a.step_risks[0].factors,
        vec![
            "kind action (+35)",
            "complexity high (+25)",
            "external dependencies (+15)",
            "data sensitive (+20)",
            "history: 1 of 4 earlier runs succeeded (+16)",
        ]
    );
}

#[test]
fn session_is_the_mean_and_low_risk_has_no_safe_mode() {
    let steps = [
        step("check", K::Validation, C::Low, false, false),
        step("extract", K::Action, C::Medium, true, false),
    ];
    let a = assess(&steps, &History::default());
    assert_eq!(a.risk_score, 35.0); // (10 + 60) / 2
    assert_eq!(a.risk_level, "medium");
    assert!(!a.safe_mode && !a.preflight_required);
    assert_eq!(
        a.mitigations,
        vec!["recommended: external dependencies (extract): declare the services as wait_for targets"]
    );
}

#[test]
fn high_risk_turns_safe_mode_on_with_mitigations_per_factor() {
    let steps = [
        step("extract", K::Action, C::High, true, false),
        step("load", K::Action, C::High, true, true),
        step("decide", K::Decision, C::High, false, false),
    ];
    let a = assess(&steps, &history(&[("decide", 5, 1)]));
    assert_eq!(a.risk_level, "critical", "{}", a.risk_score);
    assert!(a.safe_mode && a.preflight_required);
    let m = a.mitigations.join("\n");
    assert!(m.contains("high complexity (extract, load, decide)"), "{m}");
    assert!(m.contains("external dependencies (extract, load)"), "{m}");
    assert!(m.contains("history (decide)"), "{m}");
    // What is applied comes first and says so; the rest is advice.
    assert!(
        a.mitigations[0].starts_with("applied: named volumes kept")
            && a.mitigations[0].contains("safe mode, risk critical; data sensitive: load"),
        "{m}"
    );
    assert_eq!(
        a.mitigations
            .iter()
            .filter(|l| l.starts_with("applied: "))
            .count(),
        4,
        "{m}"
    );
    assert!(a
        .mitigations
        .iter()
        .all(|l| l.starts_with("applied: ") || l.starts_with("recommended: ")));
}

#[test]
fn no_steps_is_low_risk() {
    let a = assess(&[], &History::default());
    assert_eq!(
        (a.risk_score, a.risk_level.as_str(), a.safe_mode),
        (0.0, "low", false)
    );
}

#[test]
fn program_of_table() {
    let table = [
        (
            "python3 tools/orchestrate.py",
            Program::OnPath("python3".into()),
        ),
        (
            "  mysql etl < sql/create.sql",
            Program::OnPath("mysql".into()),
        ),
        ("X=1 Y=two python3 x.py", Program::OnPath("python3".into())),
        ("./run.sh --fast", Program::File("./run.sh".into())),
        ("tools/etl.sh", Program::File("tools/etl.sh".into())),
        ("/usr/bin/env python3", Program::File("/usr/bin/env".into())),
        ("\"./my script.sh\"", Program::File("./my".into())),
        ("cd etl && make", Program::Builtin("cd".into())),
        ("if true; then x; fi", Program::Builtin("if".into())),
        ("source .env && run", Program::Builtin("source".into())),
        ("$PYTHON x.py", Program::Dynamic("$PYTHON".into())),
        ("~/bin/etl", Program::Dynamic("~/bin/etl".into())),
        ("X=1", Program::Nothing),
        ("   ", Program::Nothing),
        ("a=b=c make", Program::OnPath("make".into())),
        ("1X=2 make", Program::OnPath("1X=2".into())),
    ];
    for (run, want) in table {
        assert_eq!(program_of(run), want, "{run:?}");
    }
}

#[test]
fn program_verdicts() {
    let s = step("load", K::Action, C::Low, false, false);
    let table = [
        (
            Program::OnPath("python3".into()),
            Lookup::Found("/usr/bin/python3".into()),
            true,
            "`python3` found at /usr/bin/python3",
        ),
        (
            Program::OnPath("mysql".into()),
            Lookup::Missing,
            false,
            "`mysql` is not on PATH (config line 7)",
        ),
        (
            Program::File("./run.sh".into()),
            Lookup::NotExecutable("/r/./run.sh".into()),
            false,
            "/r/./run.sh is not executable",
        ),
        (
            Program::File("./run.sh".into()),
            Lookup::Missing,
            false,
            "`./run.sh` does not exist in the repository",
        ),
        (
            Program::Builtin("cd".into()),
            Lookup::NotChecked,
            true,
            "`cd` is a shell builtin",
        ),
        (
            Program::Dynamic("$PY".into()),
            Lookup::NotChecked,
            true,
            "`$PY` is decided at run time",
        ),
        (
            Program::Nothing,
            Lookup::NotChecked,
            false,
            "no command to run",
        ),
    ];
    for (program, lookup, passed, detail) in table {
        let c = program_verdict(&s, &program, &lookup);
        assert_eq!(c.passed, passed, "{program:?}");
        assert!(c.detail.starts_with(detail), "{program:?}: {}", c.detail);
        assert_eq!(c.name, "program of step `load`");
        assert!(c.blocking);
    }
}

#[test]
fn disk_verdicts() {
    let usage = |avail_gib: f64, used: f64| -> std::io::Result<crate::health::DiskUsage> {
        Ok(crate::health::DiskUsage {
            path: "logs".into(),
            used_percent: used,
            available_mb: avail_gib * 1024.0,
            total_mb: 100.0 * 1024.0,
        })
    };
    let dir = Path::new("logs");
    let table = [
        (usage(20.0, 50.0), true),
        (usage(0.5, 50.0), false),  // under 1 GiB
        (usage(50.0, 96.0), false), // under 5 % free
        (usage(1.0, 95.0), true),   // exactly at both limits
        (Err(std::io::Error::other("stale mount")), false),
    ];
    for (u, passed) in table {
        let c = disk_verdict(dir, &u);
        assert_eq!(c.passed, passed, "{u:?}: {}", c.detail);
        assert!(!c.blocking);
    }
}

#[test]
fn git_and_docker_verdicts() {
    let root = Path::new("/repo");
    let c = git_verdict(root, &GitState::Clean);
    assert!(c.passed);
    let c = git_verdict(root, &GitState::NotARepo);
    assert!(!c.passed && !c.blocking);
    let c = git_verdict(root, &GitState::InProgress("rebase".into()));
    assert!(!c.passed && c.blocking);
    assert_eq!(
        c.detail,
        "a rebase is in progress in /repo: finish or abort it first"
    );

    assert_eq!(docker_verdict(None, true), None);
    assert!(docker_verdict(Some(true), true).unwrap().passed);
    let c = docker_verdict(Some(false), false).unwrap();
    assert!(!c.passed && !c.blocking);
    assert!(docker_verdict(Some(false), true).unwrap().blocking);
}

fn git(dir: &Path, args: &[&str]) {
    let ok = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn git_state_sees_a_merge_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(git_state(d), GitState::NotARepo);
    git(d, &["init", "-q", "-b", "main"]);
    std::fs::write(d.join("f"), "base\n").unwrap();
    git(d, &["add", "f"]);
    git(d, &["commit", "-qm", "base"]);
    assert_eq!(git_state(d), GitState::Clean);
    git(d, &["checkout", "-qb", "other"]);
    std::fs::write(d.join("f"), "other\n").unwrap();
    git(d, &["commit", "-qam", "other"]);
    git(d, &["checkout", "-q", "main"]);
    std::fs::write(d.join("f"), "main\n").unwrap();
    git(d, &["commit", "-qam", "main"]);
    // conflicts: the merge stays in progress
    let _ = std::process::Command::new("git")
        .args(["merge", "-q", "other"])
        .current_dir(d)
        .output();
    assert_eq!(git_state(d), GitState::InProgress("merge".into()));
}

#[test]
fn preflight_checks_programs_files_disk_git_and_docker() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join("tools")).unwrap();
    std::fs::write(root.join("tools/run.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(
        root.join("tools/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let mut steps = vec![
        step("a", K::Action, C::Low, false, false),
        step("b", K::Action, C::Low, false, false),
        step("c", K::Action, C::Low, false, false),
        step("d", K::Action, C::Low, false, false),
    ];
    steps[0].run = "sh -c 'exit 0'".into();
    steps[1].run = "tools/run.sh --x".into();
    steps[2].run = "no-such-program-auto-etl arg".into();
    steps[3].run = "tools/missing.sh".into();
    let input = PreflightInput {
        root,
        report_dir: &root.join("logs"),
        path_var: std::env::var_os("PATH"),
        docker_reachable: Some(false),
        docker_required: false,
    };
    let checks = preflight(&steps, &input);
    let by_name = |n: &str| {
        checks
            .iter()
            .find(|c| c.name == n)
            .unwrap_or_else(|| panic!("{n}: {checks:?}"))
    };
    assert!(by_name("program of step `a`").passed);
    assert!(by_name("program of step `b`").passed);
    assert!(!by_name("program of step `c`").passed);
    assert!(!by_name("program of step `d`").passed);
    assert!(by_name("disk space").detail.contains("GiB free"));
    assert!(!by_name("git repository").passed);
    assert!(!by_name("docker reachable").passed);
    assert_eq!(checks.len(), 7);
}
