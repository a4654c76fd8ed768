use super::*;
use crate::report::{CleanupRecord, CycleRecord, PlanRecord};

fn risk() -> crate::risk::RiskAssessment {
    crate::risk::RiskAssessment {
        risk_score: 0.1,
        risk_level: "low".into(),
        step_risks: Vec::new(),
        mitigations: Vec::new(),
        safe_mode: false,
        preflight_required: false,
    }
}

fn cycle(iteration: u32, success: bool) -> CycleRecord {
    CycleRecord {
        iteration,
        status: if success { "success" } else { "failed" }.into(),
        success,
        duration_seconds: 1.5,
        errors_count: usize::from(!success),
        errors: if success {
            vec![]
        } else {
            vec!["connection_refused: x (line 3)".into()]
        },
        adjustments_count: 0,
        adjustments: vec![],
        exit_code: Some(i32::from(!success)),
        log_file: format!("logs/orchestrator_iteration_{iteration}.log"),
        plan: PlanRecord {
            service_wait_seconds: 10.0,
            cleanup_level: "standard".into(),
            recreate_schema: false,
            step_timeouts_seconds: vec![600.0],
        },
        checkpoint: serde_json::Value::Null,
        cleanup: CleanupRecord::default(),
        classified_errors: vec![],
        classified_total: 0,
        validations: vec![],
        steps: vec![],
        backoff_seconds: 0.5,
        health: serde_json::Value::Null,
    }
}

fn events() -> Vec<Event> {
    vec![
        Event::RunStart {
            run_id: "20250101_000000".into(),
            start_time: "2025-01-01T00:00:00Z".into(),
            root: "/tmp/x".into(),
            max_iterations: 5,
            steps: vec!["main".into()],
            risk: risk(),
        },
        Event::IterationStart { iteration: 1 },
        Event::Adjustment {
            iteration: 1,
            text: "service wait 10s -> 20s".into(),
        },
        Event::IterationEnd {
            cycle: Box::new(cycle(1, false)),
        },
        Event::IterationStart { iteration: 2 },
        Event::IterationEnd {
            cycle: Box::new(cycle(2, false)),
        },
        Event::IterationStart { iteration: 3 },
    ]
}

fn written(events: &[Event]) -> (tempfile::TempDir, PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file_name("20250101_000000"));
    let mut j = JournalObserver::create(&path).unwrap();
    for e in events {
        j.event(e);
    }
    j.finish();
    let text = std::fs::read_to_string(&path).unwrap();
    (dir, path, text)
}

#[test]
fn an_untouched_journal_verifies() {
    let (_d, _p, text) = written(&events());
    let r = read(text.as_bytes());
    assert_eq!(r.problem, None);
    assert_eq!(r.entries.len(), 7);
    assert_eq!(r.entries[3].event["event"], "iteration_end");
    assert!(text.lines().next().unwrap().contains(GENESIS));
}

#[test]
fn an_existing_journal_is_never_overwritten() {
    let (_d, path, _) = written(&events());
    assert!(JournalObserver::create(&path).is_err());
}

#[test]
fn an_edited_line_is_named() {
    let (_d, _p, text) = written(&events());
    let edited = text.replace("service wait 10s -> 20s", "service wait 10s -> 99s");
    assert_eq!(
        read(edited.as_bytes()).problem,
        Some(Problem::Broken { line: 3 })
    );
    assert_eq!(
        Problem::Broken { line: 3 }.to_string(),
        "line 3: hash chain broken (edited or reordered)"
    );
}

#[test]
fn reordered_or_removed_lines_break_the_chain() {
    let (_d, _p, text) = written(&events());
    let lines: Vec<&str> = text.lines().collect();
    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    let swapped = swapped.join("\n") + "\n";
    assert_eq!(
        read(swapped.as_bytes()).problem,
        Some(Problem::Broken { line: 3 })
    );
    let mut removed = lines.clone();
    removed.remove(1);
    let removed = removed.join("\n") + "\n";
    assert_eq!(
        read(removed.as_bytes()).problem,
        Some(Problem::Broken { line: 2 })
    );
}

#[test]
fn a_cut_last_line_is_truncation() {
    let (_d, _p, text) = written(&events());
    let cut = &text.as_bytes()[..text.len() - 20];
    let r = read(cut);
    assert_eq!(r.problem, Some(Problem::Truncated { after: 6 }));
    assert_eq!(r.entries.len(), 6);
    assert_eq!(
        r.problem.unwrap().to_string(),
        "truncated after line 6: last line incomplete"
    );
}

#[test]
fn garbage_is_malformed_not_a_panic() {
    for bytes in [&b"{}\n"[..], b"\xff\xfe\n", b"\n", b"x\ny\n", b""] {
        let r = read(bytes);
        assert!(r.problem.is_some(), "{bytes:?}");
    }
}

#[test]
fn a_killed_run_is_rebuilt_as_interrupted_with_its_completed_iterations() {
    let (_d, path, text) = written(&events());
    let rebuilt = rebuild(text.as_bytes(), &path, None).unwrap();
    let r = rebuilt.report;
    assert!(!rebuilt.complete);
    assert_eq!(r.status, "interrupted");
    assert!(!r.overall_success);
    assert_eq!(r.execution_id, "20250101_000000");
    assert_eq!(r.iterations_executed, 2);
    assert_eq!(r.max_iterations, 5);
    assert_eq!(r.cycles[1].iteration, 2);
    assert!(r
        .files
        .report
        .ends_with("auto_cycle_report_20250101_000000.json"));
}

#[test]
fn a_verdict_without_run_end_keeps_its_status() {
    let mut ev = events();
    ev.push(Event::IterationEnd {
        cycle: Box::new(cycle(3, true)),
    });
    ev.push(Event::Verdict {
        status: "success".into(),
        reason: "green at iteration 3".into(),
        exit_code: 0,
    });
    let (_d, path, text) = written(&ev);
    let r = rebuild(text.as_bytes(), &path, None).unwrap().report;
    assert_eq!(r.status, "success");
    assert!(r.overall_success);
    assert_eq!(r.stop_reason, "green at iteration 3");
}

#[test]
fn secrets_never_reach_the_journal() {
    let (_d, _p, text) = written(&[Event::Adjustment {
        iteration: 1,
        text: "retry postgres://etl:hunter2@db/x".into(),
    }]);
    assert!(!text.contains("hunter2"), "{text}");
    assert!(read(text.as_bytes()).problem.is_none());
}

/// `cargo test --release --lib journal_fsync_cost -- --ignored --nocapture`
#[test]
#[ignore]
fn journal_fsync_cost() {
    let dir = tempfile::tempdir_in(".").unwrap();
    let path = dir.path().join("j.jsonl");
    let mut j = JournalObserver::create(&path).unwrap();
    let ev = &events()[3];
    let n = 500;
    let t = std::time::Instant::now();
    for _ in 0..n {
        j.append(ev).unwrap();
    }
    let per = t.elapsed() / n;
    println!(
        "journal: {per:?} per line with fdatasync ({} bytes a line)",
        std::fs::metadata(&path).unwrap().len() / n as u64
    );
}

#[test]
fn hmac_sha256_matches_rfc_4231() {
    // RFC 4231 section 4.3 (test case 2) and 4.7 (test case 6: a key longer
    // than the block), https://www.rfc-editor.org/rfc/rfc4231
    assert_eq!(
        super::hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(
        super::hmac_sha256_hex(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First"
        ),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
    );
}

#[test]
fn a_rehashed_forgery_passes_the_chain_but_not_the_key() {
    let key = b"journal-secret";
    let mut text = String::new();
    let mut prev = super::GENESIS.to_string();
    for (seq, e) in [
        (1, r#"{"event":"run_start"}"#),
        (2, r#"{"event":"run_end"}"#),
    ] {
        let (line, hash) = super::encode_line(seq, &prev, e, Some(key));
        text.push_str(&line);
        prev = hash;
    }
    let good = super::read_keyed(text.as_bytes(), Some(key));
    assert_eq!((good.problem, good.macs), (None, 2));
    // The forger rewrites line 1 and recomputes the chain, without the key.
    let mut forged = String::new();
    let mut prev = super::GENESIS.to_string();
    for (seq, e) in [
        (1, r#"{"event":"run_start","forged":1}"#),
        (2, r#"{"event":"run_end"}"#),
    ] {
        let (line, hash) = super::encode_line(seq, &prev, e, None);
        forged.push_str(&line);
        prev = hash;
    }
    assert_eq!(
        super::read(forged.as_bytes()).problem,
        None,
        "the chain alone is fooled"
    );
    assert_eq!(
        super::read_keyed(forged.as_bytes(), Some(key)).problem,
        Some(super::Problem::Forged { line: 1 })
    );
    // Under another key, too.
    let other = super::read_keyed(text.as_bytes(), Some(b"another"));
    assert_eq!(other.problem, Some(super::Problem::Forged { line: 1 }));
}

#[test]
fn a_journal_cut_after_whole_lines_is_incomplete_not_intact() {
    let mut text = String::new();
    let mut prev = super::GENESIS.to_string();
    for (seq, e) in [
        (1, r#"{"event":"run_start"}"#),
        (2, r#"{"event":"iteration_start"}"#),
    ] {
        let (line, hash) = super::encode_line(seq, &prev, e, None);
        text.push_str(&line);
        prev = hash;
    }
    let (out, code) = super::verdict(&super::read(text.as_bytes()), false, "j");
    assert_eq!(code, crate::exit::INCOMPLETE, "{out}");
    assert!(out.starts_with("incomplete: 2 events"), "{out}");
    assert!(out.contains("not a rewrite"), "{out}");
}
