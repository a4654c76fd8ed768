//! Reliability and security promises, each shown on the real binary: lose
//! nothing (journal, atomic reports, the run lock), stop cleanly (signals,
//! no surviving processes, bounded memory), leak no secret, and bad input
//! never panics.

use crate::support::pipeline::{processes_matching, Pipeline, FAST};
use crate::support::AutoEtl;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn token() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}{:03}",
        std::process::id() % 10_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Polls `cond` until it holds; panics with `what` after `limit`.
fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn(cmd: AutoEtl) -> Child {
    let mut cmd: Command = cmd.command();
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.spawn().expect("spawn auto-etl")
}

fn signal(child: &Child, signo: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe {
        libc::kill(child.id() as i32, signo);
    }
}

/// Waits for the child with a limit; returns exit code, stdout, stderr.
fn finish(child: Child, limit: Duration) -> (i32, String, String) {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for auto-etl"),
        Err(_) => {
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("auto-etl did not exit within {limit:?}");
        }
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.to_string_lossy().ends_with(suffix));
    v.sort();
    v
}

fn journal_of(pipe: &Pipeline) -> Option<PathBuf> {
    files_in(&pipe.path().join("logs"), ".journal.jsonl").pop()
}

fn journal_text(pipe: &Pipeline) -> String {
    journal_of(pipe)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default()
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

// ---------------------------------------------------------------- lose nothing

#[test]
fn a_sigkilled_run_is_rebuilt_from_its_journal_and_its_lock_taken_over() {
    let toml = format!(
        "[orchestrator]\ncommand = \"echo 'psql: could not connect: Connection refused'; exit 1\"\n\
         [cycle]\nmax_iterations = 50\n{FAST}"
    );
    let pipe = Pipeline::new(&toml);
    let child = spawn(AutoEtl::new(pipe.path()));
    wait_for(
        "two iterations in the journal",
        Duration::from_secs(30),
        || count(&journal_text(&pipe), r#""event":"iteration_end""#) >= 2,
    );
    signal(&child, libc::SIGKILL);
    let (code, _, _) = finish(child, Duration::from_secs(10));
    assert_eq!(code, -1, "killed by a signal");
    assert!(
        pipe.reports().is_empty(),
        "a SIGKILLed run writes no report"
    );
    let journal = journal_of(&pipe).unwrap();

    let verify = AutoEtl::new(pipe.path())
        .args(["verify-journal"])
        .arg_path(&journal)
        .run();
    // Intact but without run_end: incomplete, with its own exit status.
    assert_eq!(verify.code, 5, "{}{}", verify.stdout, verify.stderr);
    assert!(
        verify.stdout.starts_with("incomplete: ") && verify.stdout.contains("events, chain intact"),
        "{}",
        verify.stdout
    );

    let rebuilt = AutoEtl::new(pipe.path())
        .args(["report", "--from-journal"])
        .arg_path(&journal)
        .run();
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    let report: serde_json::Value = serde_json::from_str(&rebuilt.stdout).expect("JSON report");
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["overall_success"], false);
    assert_eq!(report["max_iterations"], 50);
    let cycles = report["cycles"].as_array().unwrap();
    assert!(cycles.len() >= 2, "{} cycles", cycles.len());
    assert_eq!(report["iterations_executed"], cycles.len());
    assert_eq!(cycles[0]["iteration"], 1);
    assert!(cycles[0]["errors"]
        .to_string()
        .contains("connection_refused"));
    let text = AutoEtl::new(pipe.path())
        .args(["report", "--from-journal", "--format", "text"])
        .arg_path(&journal)
        .run();
    assert!(text.stdout.contains("INTERRUPTED"), "{}", text.stdout);
    // CI can still publish test results for a run that died.
    let junit = AutoEtl::new(pipe.path())
        .args(["report", "--from-journal", "--format", "junit"])
        .arg_path(&journal)
        .run();
    assert_eq!(junit.code, 0, "{}", junit.stderr);
    assert!(junit.stdout.starts_with("<?xml"), "{}", junit.stdout);
    // A run that died is an error, its failed iterations before it reruns.
    assert!(
        junit.stdout.contains("<error") && junit.stdout.contains("<rerunFailure"),
        "{}",
        junit.stdout
    );

    // The dead run's lock is no obstacle.
    let again = AutoEtl::new(pipe.path())
        .args(["--max-iterations", "1"])
        .run();
    assert_eq!(again.code, 1, "{}", again.stderr);
    assert_eq!(pipe.reports().len(), 1);
}

#[test]
fn a_journal_names_its_first_bad_line() {
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo 'Connection refused'; exit 1\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ));
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let journal = journal_of(&pipe).unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.last().unwrap().contains(r#""event":"run_end""#));
    let verify = |bytes: &[u8]| {
        let f = pipe.path().join("j.jsonl");
        std::fs::write(&f, bytes).unwrap();
        AutoEtl::new(pipe.path())
            .args(["verify-journal"])
            .arg_path(&f)
            .run()
    };
    let ok = verify(text.as_bytes());
    assert_eq!(ok.code, 0);
    assert!(
        ok.stdout
            .starts_with(&format!("ok: {} events, chain intact", lines.len())),
        "{}",
        ok.stdout
    );

    // A finished run's journal holds its report.
    let rebuilt = AutoEtl::new(pipe.path())
        .args(["report", "--from-journal"])
        .arg_path(&journal)
        .run();
    let rebuilt: serde_json::Value = serde_json::from_str(&rebuilt.stdout).unwrap();
    assert_eq!(rebuilt, pipe.report());

    let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    edited[3] = edited[3].replacen("\"iteration\":1", "\"iteration\":7", 1);
    assert_ne!(edited[3], lines[3], "line 4 carries an iteration number");
    let bad = verify((edited.join("\n") + "\n").as_bytes());
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout
            .contains("line 4: hash chain broken (edited or reordered)"),
        "{}",
        bad.stdout
    );

    let cut = &text.as_bytes()[..text.len() - 10];
    let bad = verify(cut);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stdout.contains(&format!(
            "truncated after line {}: last line incomplete",
            lines.len() - 1
        )),
        "{}",
        bad.stdout
    );

    let missing = AutoEtl::new(pipe.path())
        .args(["verify-journal", "no/such.jsonl"])
        .run();
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no/such.jsonl"),
        "{}",
        missing.stderr
    );
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_earlier_reports() {
    // SAFETY: getuid has no preconditions.
    let root = unsafe { libc::getuid() } == 0;
    let ci = std::env::var_os("CI").is_some();
    if !root {
        assert!(!ci, "CI must run this test as root (it mounts a tmpfs)");
        eprintln!("note: skipped a_full_disk_fails_clearly...: needs root to mount a small tmpfs");
        return;
    }
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"echo done\"\n[cycle]\nmax_iterations = 1\n{FAST}"
    ));
    let logs = pipe.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mount = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&logs)
        .status()
        .unwrap();
    assert!(mount.success(), "mount a 64k tmpfs on {}", logs.display());
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(logs.clone());

    let first = AutoEtl::new(pipe.path()).run();
    assert_eq!(first.code, 0, "{}", first.stderr);
    let before = std::fs::read(&files_in(&logs, ".json")[0]).unwrap();

    // Fills the disk with the iteration log, then exits 0: green, but the
    // report cannot be written, so the run must not end green.
    pipe.write(
        "auto-etl.toml",
        &format!(
            "[orchestrator]\ncommand = \"head -c 200000 /dev/zero | tr '\\\\0' x\"\n[cycle]\nmax_iterations = 1\n{FAST}"
        ),
    );
    let full = AutoEtl::new(pipe.path()).run();
    assert_ne!(full.code, 0, "a run without its report is not green");
    assert!(
        full.stderr.contains("cannot write the report") && full.stderr.contains("No space left"),
        "{}",
        full.stderr
    );
    let reports = files_in(&logs, ".json");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(std::fs::read(&reports[0]).unwrap(), before);
    assert!(
        files_in(&logs, ".tmp").is_empty(),
        "no temp file left behind"
    );
}

#[test]
fn a_second_concurrent_run_exits_4_and_sigterm_stops_the_first() {
    let t = token();
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sleep 30.{t}\"\n[cycle]\nmax_iterations = 1\n{FAST}"
    ));
    let first = spawn(AutoEtl::new(pipe.path()));
    wait_for("the step to start", Duration::from_secs(20), || {
        !processes_matching(&format!("30.{t}")).is_empty()
    });
    let second = AutoEtl::new(pipe.path()).run();
    assert_eq!(second.code, 4, "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {}", first.id())),
        "{}",
        second.stderr
    );

    let started = Instant::now();
    signal(&first, libc::SIGTERM);
    let (code, _, stderr) = finish(first, Duration::from_secs(20));
    assert_eq!(code, 143, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(pipe.report()["status"], "interrupted");
    assert!(processes_matching(&format!("30.{t}")).is_empty());
}

#[test]
fn two_checkouts_of_one_docker_project_do_not_run_at_once() {
    // Two clones of one pipeline (two CI jobs on one runner) share the
    // Docker project, so the second would clean up the first's containers.
    let t = token();
    let config = format!(
        "[orchestrator]\ncommand = \"sleep 30.{t}\"\n[docker]\nproject = \"lock-{t}\"\n[cycle]\nmax_iterations = 1\n{FAST}"
    );
    let (a, b) = (Pipeline::new(&config), Pipeline::new(&config));
    let first = spawn(AutoEtl::new(a.path()));
    wait_for("the step to start", Duration::from_secs(20), || {
        !processes_matching(&format!("30.{t}")).is_empty()
    });
    let second = AutoEtl::new(b.path()).run();
    assert_eq!(second.code, 4, "{}", second.stderr);
    assert!(
        second.stderr.contains(&format!("pid {}", first.id()))
            && second
                .stderr
                .contains(&format!("the Docker project `lock-{t}`")),
        "{}",
        second.stderr
    );
    assert!(b.reports().is_empty(), "the refused run wrote no report");
    signal(&first, libc::SIGTERM);
    let (code, _, stderr) = finish(first, Duration::from_secs(20));
    assert_eq!(code, 143, "{stderr}");
}

// ---------------------------------------------------------------- stop cleanly

#[test]
fn sigint_during_a_step_stops_its_group_and_writes_the_report() {
    let t = token();
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sleep 31.{t} & sleep 32.{t}; echo never\"\n[cycle]\nmax_iterations = 3\n{FAST}"
    ));
    let child = spawn(AutoEtl::new(pipe.path()));
    wait_for("the step to start", Duration::from_secs(20), || {
        processes_matching(&format!(".{t}")).len() >= 2
    });
    signal(&child, libc::SIGINT);
    let (code, stdout, stderr) = finish(child, Duration::from_secs(20));
    assert_eq!(code, 130, "{stderr}");
    assert!(stdout.contains("INTERRUPTED"), "{stdout}");
    let report = pipe.report();
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["overall_success"], false);
    assert_eq!(report["iterations_executed"], 1);
    let left = processes_matching(&format!(".{t}"));
    assert!(left.is_empty(), "survivors: {left:?}");
}

#[test]
fn sigterm_during_the_backoff_sleep_ends_at_once() {
    let pipe = Pipeline::new(
        "[orchestrator]\ncommand = \"echo 'Connection refused'; exit 1\"\n[cycle]\nmax_iterations = 5\n\
         [cycle.backoff]\ninitial = \"60s\"\nmax = \"60s\"\njitter = \"none\"\n[git]\ncheckpoint = \"off\"\n",
    );
    let child = spawn(AutoEtl::new(pipe.path()));
    wait_for("the backoff", Duration::from_secs(20), || {
        journal_text(&pipe).contains(r#""phase":"backoff""#)
    });
    let started = Instant::now();
    signal(&child, libc::SIGTERM);
    let (code, _, stderr) = finish(child, Duration::from_secs(20));
    assert_eq!(code, 143, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let report = pipe.report();
    assert_eq!(report["status"], "interrupted");
    assert_eq!(report["iterations_executed"], 1);
}

#[test]
fn a_second_sigint_kills_at_once() {
    let t = token();
    // The step ignores SIGTERM, so the first Ctrl-C waits out the grace.
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"trap '' TERM INT; sleep 33.{t}\"\n\
         [cycle]\nmax_iterations = 1\nstop_grace = \"30s\"\n{FAST}"
    ));
    let child = spawn(AutoEtl::new(pipe.path()));
    wait_for("the step to start", Duration::from_secs(20), || {
        !processes_matching(&format!("33.{t}")).is_empty()
    });
    signal(&child, libc::SIGINT);
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    signal(&child, libc::SIGINT);
    let (code, _, stderr) = finish(child, Duration::from_secs(10));
    assert_eq!(code, 130, "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(stderr.contains("second signal"), "{stderr}");
    wait_for("the step to die", Duration::from_secs(3), || {
        processes_matching(&format!("33.{t}")).is_empty()
    });
}

#[test]
fn a_double_forked_setsid_daemon_does_not_outlive_its_iteration() {
    let t = token();
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"python3 daemon.py\"\n[cycle]\nmax_iterations = 1\n{FAST}"
    ));
    pipe.write(
        "daemon.py",
        &format!(
            r#"import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.chdir("/")
        fd = os.open(os.devnull, os.O_RDWR)
        for i in range(3):
            os.dup2(fd, i)
        os.execvp("sleep", ["sleep", "34.{t}"])
    os._exit(0)
os.wait()
print("daemon started")
"#
        ),
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    let left = processes_matching(&format!("34.{t}"));
    assert!(left.is_empty(), "the daemon survived: {left:?}");
}

/// Peak resident memory (VmHWM) of `pid` in kB, if it still runs.
fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn two_gigabytes_of_output_keep_the_agent_small_and_the_error_found() {
    // 2 GiB takes ~14 s through a release build but ~13 min through a debug
    // one (regex and the byte loops at opt-level 0), so a debug build floods
    // 360 MiB: still the 300 MB line without a newline, which is what would
    // fill memory. `cargo test --release` (or AUTO_ETL_TEST_FLOOD_MIB) runs
    // the full size.
    let mib: u64 = std::env::var("AUTO_ETL_TEST_FLOOD_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if cfg!(debug_assertions) { 360 } else { 2048 })
        .max(310);
    let total: u64 = mib << 20;
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"python3 flood.py\"\ntimeout = \"5m\"\n[cycle]\nmax_iterations = 3\n{FAST}"
    ));
    // 300 MB on one line, 1 MB of random bytes, log lines up to 2 GiB, then
    // the error; all in big writes so the generator is not the bottleneck.
    pipe.write(
        "flood.py",
        &format!(
            r#"import os, sys
out = sys.stdout.buffer
block = b"x" * (1 << 20)
for _ in range(300):
    out.write(block)
out.write(os.urandom(1 << 20) + b"\xff\xfe\xc3\x28\n")
line = b"2025-01-09 12:34:56 INFO loaded batch into staging_sales: 1000 rows, no problem here\n"
lines = line * ((1 << 20) // len(line))
err = b'ERROR:  syntax error at or near "x"\n'
left = {total} - 301 * (1 << 20) - 5 - len(err)
while left > len(lines):
    out.write(lines)
    left -= len(lines)
out.write(b"." * (left - 1) + b"\n")
out.write(err)
out.flush()
sys.exit(1)
"#
        ),
    );
    let started = Instant::now();
    let mut child = spawn(AutoEtl::new(pipe.path()));
    let pid = child.id();
    let mut peak = 0;
    // stdout/stderr are small; read them only at the end.
    let code = loop {
        if let Some(kb) = peak_rss_kb(pid) {
            peak = peak.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status.code().unwrap_or(-1);
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the flood did not finish in 4 minutes"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    eprintln!(
        "{mib} MiB flood: agent peak RSS {:.1} MB, {:.1}s",
        peak as f64 / 1024.0,
        elapsed.as_secs_f64()
    );
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(code, 3, "{stderr}");
    assert!(peak > 0, "VmHWM was read");
    assert!(peak < 64 * 1024, "agent peak RSS {} kB is over 64 MB", peak);
    let report = pipe.report();
    assert_eq!(report["status"], "non_retryable");
    assert_eq!(
        report["cycles"][0]["classified_errors"][0]["class"],
        "syntax_error"
    );
    let log = pipe
        .path()
        .join(report["cycles"][0]["log_file"].as_str().unwrap());
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(
        size >= total && size < total + 64 * 1024,
        "the iteration log holds {size} bytes of {total}"
    );
    std::fs::remove_file(&log).unwrap();
}

// ---------------------------------------------------------------- leak no secret

#[test]
fn secrets_reach_no_log_report_journal_or_console() {
    let secrets = [
        "hunter2-from-env",
        "url-pass-4321",
        "bearer-tok-abcdef123456",
        "AKIAIOSFODNN7EXAMPLE",
        "literal-pw-9876",
        "dotenv-token-789",
    ];
    let pipe = Pipeline::new(&format!(
        "[orchestrator]\ncommand = \"sh leak.sh literal-pw-9876\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ));
    pipe.write(".env", "API_TOKEN=dotenv-token-789\n");
    pipe.write(
        "leak.sh",
        r#"echo "connecting with $DB_PASSWORD"
echo "DATABASE_URL=postgres://etl:url-pass-4321@db:5432/etl"
echo "curl -H 'Authorization: Bearer bearer-tok-abcdef123456'"
echo "aws key AKIAIOSFODNN7EXAMPLE"
. ./.env; echo "token is $API_TOKEN" >&2
echo "psql: connection refused (password=$1)" >&2
exit 1
"#,
    );
    let run = AutoEtl::new(pipe.path())
        .env("DB_PASSWORD", "hunter2-from-env")
        .args(["--debug", "--format", "json"])
        .run();
    assert_eq!(run.code, 1, "{}", run.stderr);
    let logs = pipe.path().join("logs");
    let mut places: Vec<(String, String)> = vec![
        ("stdout".into(), run.stdout.clone()),
        ("stderr".into(), run.stderr.clone()),
    ];
    for f in files_in(&logs, "") {
        places.push((
            f.display().to_string(),
            String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned(),
        ));
    }
    assert!(
        places.len() >= 6,
        "report, agent log, journal, 2 iteration logs"
    );
    for (place, text) in &places {
        for s in secrets {
            assert!(!text.contains(s), "{place} leaks {s}:\n{text}");
        }
    }
    // What is left still says what happened.
    let report = pipe.report();
    assert!(report["cycles"][0]["errors"]
        .to_string()
        .contains("connection_refused"));
    let log = std::fs::read_to_string(
        pipe.path()
            .join(report["cycles"][0]["log_file"].as_str().unwrap()),
    )
    .unwrap();
    assert!(
        log.contains("postgres://etl:***@db:5432/etl") && log.contains("AKIA***"),
        "{log}"
    );
    // The agent log is redacted too, and it did see the command line.
    let agent = std::fs::read_to_string(
        files_in(&logs, ".log")
            .into_iter()
            .find(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("auto_cycle_")
            })
            .unwrap(),
    )
    .unwrap();
    assert!(!agent.is_empty());
}

// ---------------------------------------------------------------- bad input

#[test]
fn bad_configs_exit_2_with_a_message_and_never_panic() {
    let cases: &[(&str, &[u8], &str)] = &[
        ("malformed toml", b"[orchestrator\ncommand = \"true\"\n", "auto-etl.toml"),
        (
            "unknown key",
            b"[orchestrator]\ncommand = \"true\"\ncolour = 1\n",
            "colour",
        ),
        (
            "invalid regex",
            b"[orchestrator]\ncommand = \"true\"\n[[rules]]\nid = \"r\"\nclass = \"timeout\"\npattern = \"(((\"\n",
            "r",
        ),
        (
            "absurd number",
            b"[orchestrator]\ncommand = \"true\"\n[cycle]\nmax_iterations = 99999999999999999999\n",
            // toml reports the line but not the key of an out-of-range integer.
            "auto-etl.toml:4",
        ),
        (
            "negative number",
            b"[orchestrator]\ncommand = \"true\"\n[cycle]\nmax_iterations = -1\n",
            "max_iterations",
        ),
        (
            "absurd duration",
            b"[orchestrator]\ncommand = \"true\"\ntimeout = \"99999999999999999999h\"\n",
            "timeout",
        ),
        ("binary garbage", b"\xff\xfe\x00\x01[[[\n", "auto-etl.toml"),
        (
            "missing program",
            b"[orchestrator]\ncommand = \"no-such-program-aetl --x\"\n",
            "no-such-program-aetl",
        ),
    ];
    for (what, config, named) in cases {
        let pipe = Pipeline::new("");
        std::fs::write(pipe.path().join("auto-etl.toml"), config).unwrap();
        let run = AutoEtl::new(pipe.path()).run();
        assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
        assert_eq!(run.code, 2, "{what}: {}", run.stderr);
        assert!(run.stderr.contains(named), "{what}: {}", run.stderr);
    }
}

#[test]
fn a_report_dir_that_cannot_be_created_exits_2_naming_it() {
    let pipe = Pipeline::new(&format!("[orchestrator]\ncommand = \"true\"\n{FAST}"));
    pipe.write("some_file", "not a directory\n");
    let run = AutoEtl::new(pipe.path())
        .args(["--report-dir", "some_file/logs"])
        .run();
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("some_file/logs"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"));
}

#[test]
fn a_corrupted_earlier_report_is_a_warning_and_the_run_goes_on() {
    let pipe = Pipeline::new(&format!("[orchestrator]\ncommand = \"echo ok\"\n{FAST}"));
    pipe.write(
        "logs/auto_cycle_report_20200101_000000.json",
        "{\"schema_version\": 1, \"cycles\": [tru",
    );
    pipe.write(
        "logs/auto_cycle_report_20200101_000001.json",
        "\u{0}\u{1}binary",
    );
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("auto_cycle_report_20200101_000000.json"),
        "the warning names the file: {}",
        run.stderr
    );
    let fresh = reports_in_skipping_bad(&pipe.path().join("logs"));
    assert_eq!(fresh, 1);
}

fn reports_in_skipping_bad(dir: &Path) -> usize {
    files_in(dir, ".json")
        .iter()
        .filter(|p| serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap()).is_ok())
        .count()
}
