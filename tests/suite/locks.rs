//! Safety of a run against its neighbours and its own past (issue 14): quiet
//! exits on a closed pipe, bounds on config values, one run per Docker
//! project, unique run ids, a killed agent's leftovers stopped by the next
//! run, and a journal that tells forgery and a cut from a real one.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::AutoEtl;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};

/// Runs `cmd` with its stdout on a pipe whose read end is already closed, so
/// its first write meets EPIPE (what `| head -1` does once head has left).
fn run_into_closed_pipe(cmd: AutoEtl) -> (i32, String) {
    let mut fds = [0; 2];
    // SAFETY: pipe(2) fills two descriptors that we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: both descriptors were just returned by pipe(2) and are ours.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    let mut cmd: Command = cmd.command();
    cmd.stdout(Stdio::from(writer)).stderr(Stdio::piped());
    let out = cmd.output().expect("run auto-etl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn completions_into_a_closed_pipe_exit_quietly_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["fish", "bash"] {
        let (code, stderr) =
            run_into_closed_pipe(AutoEtl::new(dir.path()).args(["completions", shell]));
        assert_eq!((code, stderr.as_str()), (0, ""), "completions {shell}");
    }
}

#[test]
fn rules_and_report_into_a_closed_pipe_exit_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stderr) = run_into_closed_pipe(AutoEtl::new(dir.path()).args(["rules"]));
    assert_eq!((code, stderr.as_str()), (0, ""), "rules");
    let (code, stderr) = run_into_closed_pipe(AutoEtl::new(dir.path()).args(["man"]));
    assert_eq!((code, stderr.as_str()), (0, ""), "man");
}

fn config_error(toml: &str, args: &[&str]) -> (i32, String) {
    let p = Pipeline::new(toml);
    let r = AutoEtl::new(p.path()).args(args).run();
    (r.code, r.stderr)
}

#[test]
fn a_zero_timeout_flag_is_a_config_error() {
    let toml = format!("[orchestrator]\ncommand = \"true\"\n{FAST}");
    let (code, stderr) = config_error(&toml, &["--timeout", "0s", "--no-cleanup"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--timeout"), "{stderr}");
}

#[test]
fn a_zero_validator_timeout_is_a_config_error_naming_file_line_and_key() {
    let toml = format!(
        "[orchestrator]\ncommand = \"true\"\n{FAST}\nvalidator = \"true\"\nvalidator_timeout = \"0s\"\n"
    );
    let line = toml
        .lines()
        .position(|l| l.starts_with("validator_timeout"))
        .unwrap()
        + 1;
    let (code, stderr) = config_error(&toml, &["--no-cleanup"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("auto-etl.toml:{line}")),
        "{stderr}"
    );
    assert!(stderr.contains("validator_timeout"), "{stderr}");
}

#[test]
fn a_nul_byte_in_a_step_command_is_a_config_error_naming_file_line_and_key() {
    let toml = format!("{FAST}\n[[steps]]\nname = \"a\"\nrun = \"echo a\\u0000b\"\n");
    let line = toml.lines().position(|l| l.starts_with("run =")).unwrap() + 1;
    let (code, stderr) = config_error(&toml, &["--no-cleanup"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!("auto-etl.toml:{line}")),
        "{stderr}"
    );
    assert!(stderr.contains("run"), "{stderr}");
    assert!(stderr.contains("NUL"), "{stderr}");
}

/// A git repository with one commit and a config of one quick step.
fn repo_pipeline() -> tempfile::TempDir {
    use crate::support::git;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["config", "user.name", "Lock Tester"]);
    git(root, &["config", "user.email", "tester@example.com"]);
    let toml = FAST.replace("checkpoint = \"off\"", "checkpoint = \"ref\"");
    std::fs::write(
        root.join("auto-etl.toml"),
        format!("[orchestrator]\ncommand = \"sleep 0.3\"\n{toml}"),
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "logs*/\n").unwrap();
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "initial"]);
    dir
}

#[test]
fn two_runs_started_in_the_same_second_in_one_repo_get_their_own_run_ids() {
    use crate::support::pipeline::reports_in;
    // The two runs must start within one second; retried when the clock
    // ticked between them, which makes the case vacuous.
    for attempt in 0..5 {
        let repo = repo_pipeline();
        let spawn = |n: &str| {
            let mut cmd = AutoEtl::new(repo.path())
                .args(["--no-cleanup", "--report-dir", &format!("logs{n}")])
                .args([
                    "--project",
                    &format!("h3-same-second-{n}-{}", std::process::id()),
                ])
                .command();
            cmd.stdout(Stdio::null()).stderr(Stdio::piped());
            cmd.spawn().expect("spawn auto-etl")
        };
        let (a, b) = (spawn("a"), spawn("b"));
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert_eq!(out.status.code(), Some(0), "{stderr}");
        }
        let ra = reports_in(&repo.path().join("logsa")).remove(0);
        let rb = reports_in(&repo.path().join("logsb")).remove(0);
        if ra["start_time"] != rb["start_time"] && attempt < 4 {
            continue;
        }
        let (ia, ib) = (
            ra["execution_id"].as_str().unwrap(),
            rb["execution_id"].as_str().unwrap(),
        );
        assert_ne!(ia, ib, "both runs got one run id");
        let refs = crate::support::git(
            repo.path(),
            &["for-each-ref", "--format=%(refname)", "refs/auto-etl/runs/"],
        );
        for id in [ia, ib] {
            assert!(
                refs.lines()
                    .any(|r| r == format!("refs/auto-etl/runs/{id}")),
                "{refs}"
            );
        }
        return;
    }
}

/// Pids of live (non-zombie) processes whose command line holds `needle`.
fn pids_matching(needle: &str) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).contains(needle) && group_of(pid).is_some() {
            found.push(pid);
        }
    }
    found
}

/// The process group of live process `pid` (None when gone or a zombie).
fn group_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split_whitespace();
    if f.next()? == "Z" {
        return None;
    }
    f.nth(1)?.parse().ok()
}

/// Live members of process group `pgid`, as /proc shows them.
fn group_members(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<i32>().ok())
        .filter(|&pid| group_of(pid) == Some(pgid))
        .collect()
}

#[test]
fn a_step_left_running_by_a_sigkilled_agent_is_stopped_by_the_next_run() {
    let token = format!("h3-leftover-{}", std::process::id());
    let p = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sleep 300; echo {token}\"\n{FAST}"
    ));
    let mut agent = AutoEtl::new(p.path())
        .args(["--no-cleanup", "--max-iterations", "1"])
        .command();
    agent.stdout(Stdio::null()).stderr(Stdio::null());
    let mut agent = agent.spawn().expect("spawn auto-etl");
    let start = std::time::Instant::now();
    let leader = loop {
        if let Some(&pid) = pids_matching(&token).first() {
            break pid;
        }
        assert!(start.elapsed().as_secs() < 20, "the step never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let pgid = group_of(leader).expect("the step's group");
    // The real `kill -9`, as an OOM killer or a cancelled CI job does it.
    let killed = Command::new("kill")
        .args(["-9", &agent.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    agent.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !group_members(pgid).is_empty(),
        "the step died with the agent: nothing to test"
    );

    std::fs::write(
        p.path().join("auto-etl.toml"),
        format!("[orchestrator]\ncommand = \"true\"\n{FAST}"),
    )
    .unwrap();
    let r = AutoEtl::new(p.path())
        .args(["--no-cleanup", "--max-iterations", "1"])
        .run();
    let left = group_members(pgid);
    if !left.is_empty() {
        // Do not leave the sleeper behind when the assertion fails.
        unsafe { libc::killpg(pgid, libc::SIGKILL) };
    }
    assert!(
        left.is_empty(),
        "group {pgid} still runs {left:?} after the next run"
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = p.report();
    let restart = report["recovery_actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["action_type"] == "restart")
        .unwrap_or_else(|| panic!("no restart action: {report}"));
    assert_eq!(restart["config"]["process_groups"][0], pgid, "{restart}");
    assert_eq!(restart["config"]["reason"], "leftovers of a killed run");
}

/// Spawns a run of `p` (a [`sleeper`]) for `project` under `TMPDIR=tmpdir`.
fn spawn_holder(p: &Pipeline, project: &str, tmpdir: &std::path::Path) -> std::process::Child {
    let mut cmd = AutoEtl::new(p.path())
        .args([
            "--no-cleanup",
            "--max-iterations",
            "1",
            "--project",
            project,
        ])
        .env("TMPDIR", tmpdir)
        .command();
    cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
    cmd.spawn().expect("spawn auto-etl")
}

fn wait_for_step(token: &str) {
    let start = std::time::Instant::now();
    while pids_matching(token).is_empty() {
        assert!(
            start.elapsed().as_secs() < 20,
            "the first run's step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn sleeper(token: &str) -> Pipeline {
    Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sleep 4; echo {token}\"\n{FAST}"
    ))
}

#[test]
fn two_checkouts_of_one_project_with_different_tmpdirs_do_not_both_run() {
    // Not the project name: the holder's own command line holds that.
    let token = format!("h3-step-of-tmpdirs-{}", std::process::id());
    let project = format!("h3-tmpdirs-{}", std::process::id());
    let (t1, t2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = sleeper(&token);
    let mut holder = spawn_holder(&first, &project, t1.path());
    wait_for_step(&token);
    let second = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    let r = AutoEtl::new(second.path())
        .args([
            "--no-cleanup",
            "--max-iterations",
            "1",
            "--project",
            &project,
        ])
        .env("TMPDIR", t2.path())
        .run();
    // Let the holder end on its own: it gives its locks back.
    let held = holder.wait().unwrap();
    assert!(held.success(), "the first run: {held:?}");
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains(&format!("`{project}`")), "{}", r.stderr);
    assert!(r.stderr.contains(&holder.id().to_string()), "{}", r.stderr);
}

#[test]
fn a_project_name_of_300_characters_is_still_locked() {
    let token = format!("h3-longname-{}", std::process::id());
    let project = format!("h3-{}-{}", std::process::id(), "x".repeat(300));
    let tmp = tempfile::tempdir().unwrap();
    let first = sleeper(&token);
    let mut holder = spawn_holder(&first, &project, tmp.path());
    wait_for_step(&token);
    let second = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    let r = AutoEtl::new(second.path())
        .args([
            "--no-cleanup",
            "--max-iterations",
            "1",
            "--project",
            &project,
        ])
        .run();
    // Let the holder end on its own: it gives its locks back.
    let held = holder.wait().unwrap();
    assert!(held.success(), "the first run: {held:?}");
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        !r.stderr.contains("without the Docker project lock"),
        "{}",
        r.stderr
    );
}

/// Creates the engine lock volume of `project` as a run elsewhere (another
/// container on the same engine) would hold it, with its heartbeat `since`.
fn foreign_engine_lock(project: &str, since: u64) -> String {
    use crate::support::docker::docker;
    let name = format!(
        "auto-etl-lock-{}",
        auto_etl::cycle::lock::short_hash(project)
    );
    docker(&[
        "volume",
        "create",
        "--label",
        "io.auto-etl.lock.owner=foreign-token",
        "--label",
        &format!("io.auto-etl.lock.project={project}"),
        "--label",
        "io.auto-etl.lock.holder=4242 on ci-container-7, /builds/etl",
        "--label",
        "io.auto-etl.lock.process=other-boot:pid:[4026532999]:4242:77",
        "--label",
        &format!("io.auto-etl.lock.since={since}"),
        &name,
    ]);
    name
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_run_in_another_container_on_the_same_engine_holds_the_project() {
    use crate::support::docker;
    if !docker::available() {
        return;
    }
    let project = format!("h3-engine-{}", std::process::id());
    let volume = foreign_engine_lock(&project, now_secs());
    let p = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    let r = AutoEtl::new(p.path())
        .args([
            "--no-cleanup",
            "--max-iterations",
            "1",
            "--project",
            &project,
        ])
        .run();
    let still = docker::ok(&["volume", "inspect", &volume]);
    docker::ok(&["volume", "rm", &volume]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("4242 on ci-container-7, /builds/etl"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(&format!("`{project}`")), "{}", r.stderr);
    assert!(still, "a refused run removed the holder's lock");
    assert!(p.reports().is_empty(), "a refused run wrote a report");
}

#[test]
fn a_stale_engine_lock_is_taken_over_and_given_back() {
    use crate::support::docker;
    if !docker::available() {
        return;
    }
    let project = format!("h3-stale-{}", std::process::id());
    let volume = foreign_engine_lock(&project, now_secs() - 600);
    let p = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    let r = AutoEtl::new(p.path())
        .args([
            "--no-cleanup",
            "--max-iterations",
            "1",
            "--project",
            &project,
        ])
        .run();
    let left = docker::ok(&["volume", "inspect", &volume]);
    if left {
        docker::ok(&["volume", "rm", &volume]);
    }
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("stale"), "{}", r.stderr);
    assert!(!left, "the lock volume outlived the run that took it over");
}

#[test]
fn a_forged_journal_is_told_from_a_real_one_with_the_key_and_a_cut_one_is_incomplete() {
    let key = "h3-journal-key-kept-in-ci-secrets";
    let p = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    let r = AutoEtl::new(p.path())
        .args(["--no-cleanup", "--max-iterations", "1"])
        .env("AUTO_ETL_JOURNAL_KEY", key)
        .run();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let journal = std::fs::read_dir(p.path().join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|f| f.to_string_lossy().ends_with(".journal.jsonl"))
        .expect("a journal");
    let text = std::fs::read_to_string(&journal).unwrap();
    let verify = |bytes: &str, key: Option<&str>| {
        let f = p.path().join("check.jsonl");
        std::fs::write(&f, bytes).unwrap();
        let mut cmd = AutoEtl::new(p.path()).args(["verify-journal"]).arg_path(&f);
        if let Some(k) = key {
            cmd = cmd.env("AUTO_ETL_JOURNAL_KEY", k);
        }
        cmd.run()
    };
    let real = verify(&text, Some(key));
    assert_eq!(real.code, 0, "{}", real.stdout);
    assert!(real.stdout.contains("HMAC verified"), "{}", real.stdout);

    // The forger edits the verdict and recomputes every hash, as the
    // documented format allows, but has no key.
    let mut forged = String::new();
    let mut prev = auto_etl::journal::GENESIS.to_string();
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let event = serde_json::to_string(&v["event"])
            .unwrap()
            .replace(r#""exit_code":0"#, r#""exit_code":0,"forged":true"#);
        let (l, hash) = auto_etl::journal::encode_line(i as u64 + 1, &prev, &event, None);
        forged.push_str(&l);
        prev = hash;
    }
    let without_key = verify(&forged, None);
    assert_eq!(
        without_key.code, 0,
        "the chain alone cannot tell: {}",
        without_key.stdout
    );
    assert!(
        without_key.stdout.contains("not authenticated"),
        "{}",
        without_key.stdout
    );
    let with_key = verify(&forged, Some(key));
    assert_eq!(with_key.code, 1, "{}", with_key.stdout);
    assert!(
        with_key.stdout.contains("line 1: HMAC missing or wrong"),
        "{}",
        with_key.stdout
    );

    // Cut after whole lines (the run_end line dropped): incomplete, exit 5.
    let cut: String = text
        .lines()
        .take(text.lines().count() - 1)
        .map(|l| format!("{l}\n"))
        .collect();
    let incomplete = verify(&cut, Some(key));
    assert_eq!(incomplete.code, 5, "{}", incomplete.stdout);
    assert!(
        incomplete.stdout.starts_with("incomplete: "),
        "{}",
        incomplete.stdout
    );
}
