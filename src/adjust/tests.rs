use super::*;

fn plan() -> Plan {
    Plan {
        iteration: 1,
        step_names: vec!["extract".into(), "load".into()],
        step_timeouts: vec![Duration::from_secs(60), Duration::from_secs(600)],
        base_timeouts: vec![Duration::from_secs(60), Duration::from_secs(600)],
        service_wait: Duration::from_secs(10),
        cleanup_level: CleanupLevel::Standard,
        recreate_schema: false,
        keep_named_volumes: false,
    }
}

fn hit(class: FailureClass, line: u64) -> Match {
    Match {
        retryable: class.default_retryable(),
        rule_id: format!("test-{class}"),
        class,
        line,
        excerpt: "x".into(),
        subject: None,
        source: None,
    }
}

#[test]
fn each_class_changes_the_plan_as_the_table_says() {
    use FailureClass::*;
    let cases: Vec<(FailureClass, &str)> = vec![
        (
            ConnectionRefused,
            "service wait 10s -> 20s (connection_refused)",
        ),
        (DnsFailure, "service wait 10s -> 20s (dns_failure)"),
        (PortInUse, "cleanup standard -> deep (port_in_use)"),
        (AlreadyExists, "cleanup standard -> deep (already_exists)"),
        (
            DuplicateConnector,
            "cleanup standard -> deep (duplicate_connector)",
        ),
        (
            NoSuchTable,
            "recreate schema on: AUTO_ETL_RECREATE_SCHEMA=1 (no_such_table)",
        ),
        (DiskFull, "cleanup standard -> deep (disk_full)"),
        (
            OutOfMemory,
            "out_of_memory recorded for review (out_of_memory)",
        ),
        (Timeout, "step extract timeout 1m -> 1m30s (timeout)"),
        (FileNotFound, "file_not_found recorded for review (line 7)"),
    ];
    for (class, expected) in cases {
        let matches = [hit(class.clone(), 7)];
        let facts = Facts {
            matches: &matches,
            failed: vec![0],
            ..Facts::default()
        };
        let d = decide(&plan(), &facts, &[]);
        assert_eq!(d.adjustments, [expected], "{class}");
        assert_eq!(d.next.iteration, 2);
    }
}

#[test]
fn plan_values_follow_the_adjustments() {
    let matches = [
        hit(FailureClass::ConnectionRefused, 1),
        hit(FailureClass::AlreadyExists, 2),
        hit(FailureClass::NoSuchTable, 3),
    ];
    let d = decide(
        &plan(),
        &Facts {
            matches: &matches,
            ..Facts::default()
        },
        &[],
    );
    assert_eq!(d.next.service_wait, Duration::from_secs(20));
    assert_eq!(d.next.cleanup_level, CleanupLevel::Deep);
    assert!(d.next.recreate_schema);
    assert_eq!(d.stop, None);
    let env = d.next.env(1);
    assert!(env.contains(&("AUTO_ETL_RECREATE_SCHEMA".into(), "1".into())));
    assert!(env.contains(&("AUTO_ETL_SERVICE_WAIT_SECS".into(), "20".into())));
    assert!(env.contains(&("AUTO_ETL_CLEANUP_LEVEL".into(), "deep".into())));
    assert!(env.contains(&("AUTO_ETL_STEP_TIMEOUT_SECS".into(), "600".into())));
}

#[test]
fn a_short_service_wait_grows_by_at_least_five_seconds_and_is_capped() {
    let mut p = plan();
    p.service_wait = Duration::from_secs(1);
    let matches = [hit(FailureClass::ConnectionRefused, 1)];
    let facts = Facts {
        matches: &matches,
        ..Facts::default()
    };
    assert_eq!(
        decide(&p, &facts, &[]).next.service_wait,
        Duration::from_secs(6)
    );
    p.service_wait = MAX_SERVICE_WAIT;
    let d = decide(&p, &facts, &[]);
    assert_eq!(d.next.service_wait, MAX_SERVICE_WAIT);
    assert!(d.adjustments[0].contains("cap reached"));
}

#[test]
fn a_timed_out_step_gets_one_and_a_half_times_up_to_four_times_its_base() {
    let mut p = plan();
    let facts = Facts {
        timed_out: vec![1],
        failed: vec![1],
        ..Facts::default()
    };
    let mut seen = Vec::new();
    for _ in 0..6 {
        p = decide(&p, &facts, &[]).next;
        seen.push(p.step_timeouts[1].as_secs());
    }
    assert_eq!(seen, [900, 1350, 2025, 2400, 2400, 2400]);
    assert_eq!(
        p.step_timeouts[0],
        Duration::from_secs(60),
        "other steps untouched"
    );
}

#[test]
fn cleanup_escalates_one_level_at_a_time_and_stays_deep() {
    let mut p = plan();
    p.cleanup_level = CleanupLevel::Light;
    let matches = [hit(FailureClass::PortInUse, 1)];
    let facts = Facts {
        matches: &matches,
        ..Facts::default()
    };
    p = decide(&p, &facts, &[]).next;
    assert_eq!(p.cleanup_level, CleanupLevel::Standard);
    p = decide(&p, &facts, &[]).next;
    assert_eq!(p.cleanup_level, CleanupLevel::Deep);
    let d = decide(&p, &facts, &[]);
    assert_eq!(d.adjustments, ["cleanup stays deep (port_in_use)"]);
}

#[test]
fn non_retryable_classes_stop_at_once() {
    use FailureClass::*;
    for class in [SyntaxError, ImageNotFound, AuthFailed] {
        let matches = [hit(ConnectionRefused, 1), hit(class.clone(), 9)];
        let d = decide(
            &plan(),
            &Facts {
                matches: &matches,
                ..Facts::default()
            },
            &[],
        );
        let stop = d.stop.expect("must stop");
        assert!(
            stop.starts_with(class.as_str()) && stop.contains("line 9"),
            "{stop}"
        );
    }
    for class in [
        ConnectionRefused,
        Timeout,
        AlreadyExists,
        NoSuchTable,
        DiskFull,
        OutOfMemory,
    ] {
        let matches = [hit(class.clone(), 1)];
        let d = decide(
            &plan(),
            &Facts {
                matches: &matches,
                ..Facts::default()
            },
            &[vec![class.clone()]],
        );
        assert_eq!(d.stop, None, "{class}");
    }
}

#[test]
fn file_and_permission_problems_stop_on_the_second_in_a_row() {
    use FailureClass::*;
    for class in [FileNotFound, PermissionDenied] {
        let matches = [hit(class.clone(), 1)];
        let facts = Facts {
            matches: &matches,
            ..Facts::default()
        };
        assert_eq!(decide(&plan(), &facts, &[]).stop, None);
        assert_eq!(
            decide(&plan(), &facts, &[vec![class.clone()], vec![]]).stop,
            None
        );
        let stop = decide(&plan(), &facts, &[vec![], vec![class.clone()]])
            .stop
            .unwrap();
        assert!(stop.contains("2 iterations in a row"), "{stop}");
    }
}

#[test]
fn a_user_rule_can_make_a_class_retryable_or_not() {
    let mut m = hit(FailureClass::Custom("kafka_rebalance".into()), 4);
    m.retryable = false;
    let d = decide(
        &plan(),
        &Facts {
            matches: std::slice::from_ref(&m),
            ..Facts::default()
        },
        &[],
    );
    assert!(d
        .stop
        .unwrap()
        .starts_with("kafka_rebalance is not retryable"));
    let mut m = hit(FailureClass::SyntaxError, 4);
    m.retryable = true;
    let d = decide(
        &plan(),
        &Facts {
            matches: &[m],
            ..Facts::default()
        },
        &[],
    );
    assert_eq!(d.stop, None);
}

#[test]
fn a_critical_disk_forces_a_deep_cleanup_of_that_iteration() {
    let mut p = plan();
    assert_eq!(
        on_critical_disk(&mut p).as_deref(),
        Some("cleanup standard -> deep (critical disk alert before the iteration)")
    );
    assert_eq!(p.cleanup_level, CleanupLevel::Deep);
    assert_eq!(
        on_critical_disk(&mut p),
        None,
        "already deep: nothing to say"
    );
}

#[test]
fn memory_pressure_is_named_in_the_out_of_memory_adjustment() {
    let matches = [hit(FailureClass::OutOfMemory, 1)];
    let facts = Facts {
        matches: &matches,
        memory_pressure: Some("memory at 93 % during step load".into()),
        ..Facts::default()
    };
    let d = decide(&plan(), &facts, &[]);
    assert!(d.adjustments[0].contains("memory at 93 % during step load"));
}

#[test]
fn escalations_to_deep_keep_named_volumes_kept() {
    // Issue 14, reproduction 6: an escalation to deep dropped the promise.
    let kept = Plan {
        keep_named_volumes: true,
        ..plan()
    };
    for class in [
        FailureClass::PortInUse,
        FailureClass::AlreadyExists,
        FailureClass::DiskFull,
    ] {
        let mut next = kept.clone();
        for _ in 0..2 {
            let facts = Facts {
                matches: &[hit(class.clone(), 1)],
                ..Facts::default()
            };
            next = decide(&next, &facts, &[]).next;
        }
        assert_eq!(next.cleanup_level, CleanupLevel::Deep, "{class}");
        assert!(next.keep_named_volumes, "{class}");
    }
    let mut disk = kept.clone();
    on_critical_disk(&mut disk);
    assert!(disk.cleanup_level == CleanupLevel::Deep && disk.keep_named_volumes);
}

#[test]
fn review_names_the_subject_and_source_not_the_log_line() {
    let mut m = hit(FailureClass::FileNotFound, 8);
    m.subject = Some("data/sales.csv".into());
    m.source = Some("etl/load.py:8".into());
    let matches = [m];
    let facts = Facts {
        matches: &matches,
        failed: vec![0],
        ..Facts::default()
    };
    let d = decide(&plan(), &facts, &[]);
    assert_eq!(
        d.adjustments,
        ["file_not_found recorded for review: data/sales.csv (etl/load.py:8)"]
    );
}

#[test]
fn second_round_classes_have_their_decisions() {
    use FailureClass::*;
    // lock_conflict waits longer, like a service still starting.
    let matches = [hit(LockConflict, 3)];
    let facts = Facts {
        matches: &matches,
        failed: vec![0],
        ..Facts::default()
    };
    let d = decide(&plan(), &facts, &[]);
    assert!(d.next.service_wait > plan().service_wait, "{d:?}");
    assert_eq!(d.stop, None);
    // The others stop at once and are recorded for review.
    for class in [DataTestFailed, DataError, ConfigError, SchemaMismatch] {
        let mut m = hit(class.clone(), 4);
        m.subject = Some("raw_customers".into());
        let matches = [m];
        let facts = Facts {
            matches: &matches,
            failed: vec![0],
            ..Facts::default()
        };
        let d = decide(&plan(), &facts, &[]);
        assert_eq!(
            d.adjustments,
            [format!("{class} recorded for review: raw_customers")]
        );
        let stop = d.stop.expect("not retryable");
        assert!(
            stop.starts_with(&format!("{class} is not retryable (raw_customers, rule")),
            "{stop}"
        );
    }
}
