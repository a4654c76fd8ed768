use super::*;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn disk(path: &str, used: f64) -> DiskUsage {
    DiskUsage {
        path: path.into(),
        used_percent: used,
        available_mb: 1000.0,
        total_mb: 10000.0,
    }
}

fn reading(cpu: f64, mem: f64, disks: &[f64], docker: Option<bool>) -> Reading {
    Reading {
        cpu_percent: cpu,
        memory_percent: mem,
        memory_used_mb: mem * 160.0,
        memory_total_mb: 16000.0,
        disks: disks
            .iter()
            .enumerate()
            .map(|(i, u)| disk(&format!("/d{i}"), *u))
            .collect(),
        docker_reachable: docker,
    }
}

fn sample(cpu: f64, mem: f64, disks: &[f64], docker: Option<bool>) -> HealthSample {
    HealthSample::from_reading(reading(cpu, mem, disks, docker), Instant::now())
}

#[test]
fn scores_and_overall() {
    // (reading, cpu, memory, disk, docker, overall)
    type Row = (Reading, f64, f64, Option<f64>, Option<f64>, f64);
    let table: Vec<Row> = vec![
        (
            reading(0.0, 0.0, &[0.0], Some(true)),
            100.0,
            100.0,
            Some(100.0),
            Some(100.0),
            100.0,
        ),
        (
            reading(50.0, 40.0, &[30.0, 80.0], Some(true)),
            50.0,
            60.0,
            Some(20.0),
            Some(100.0),
            // (60*.3 + 20*.3 + 100*.2) / .8
            55.0,
        ),
        (
            reading(10.0, 10.0, &[10.0], Some(false)),
            90.0,
            90.0,
            Some(90.0),
            Some(0.0),
            67.5,
        ),
        // docker and disk missing: their weights are left out
        (reading(20.0, 20.0, &[], None), 80.0, 80.0, None, None, 80.0),
        // out-of-range usage is clamped
        (
            reading(130.0, -5.0, &[], None),
            0.0,
            100.0,
            None,
            None,
            100.0,
        ),
    ];
    for (i, (r, cpu, mem, dsk, dock, overall)) in table.into_iter().enumerate() {
        let s = component_scores(&r);
        assert_eq!(s["cpu"], cpu, "row {i}");
        assert_eq!(s["memory"], mem, "row {i}");
        assert_eq!(s.get("disk").copied(), dsk, "row {i}");
        assert_eq!(s.get("docker").copied(), dock, "row {i}");
        assert!(
            (overall_score(&s) - overall).abs() < 1e-9,
            "row {i}: {}",
            overall_score(&s)
        );
    }
}

#[test]
fn alerts_at_the_thresholds() {
    // (reading, alert strings)
    let table: Vec<(Reading, Vec<&str>)> = vec![
        (reading(70.0, 10.0, &[70.0], Some(true)), vec![]),
        // a saturated CPU is the steps working, not a machine problem
        (reading(100.0, 10.0, &[], None), vec![]),
        (
            reading(10.0, 90.0, &[], None),
            vec!["warning: memory at 90.0 % used (above 70 %)"],
        ),
        (
            reading(10.0, 95.25, &[], None),
            vec!["critical: memory at 95.2 % used (above 90 %)"],
        ),
        (
            reading(10.0, 10.0, &[50.0, 91.0], Some(false)),
            vec![
                "critical: disk /d1 at 91.0 % used (above 90 %)",
                "warning: docker daemon unreachable",
            ],
        ),
    ];
    for (i, (r, want)) in table.into_iter().enumerate() {
        let got: Vec<String> = alerts(&r).iter().map(ToString::to_string).collect();
        assert_eq!(got, want, "row {i}");
    }
}

#[test]
fn sample_status_is_its_worst_alert() {
    assert_eq!(
        sample(10.0, 10.0, &[10.0], Some(true)).status,
        Level::Healthy
    );
    assert_eq!(
        sample(10.0, 10.0, &[10.0], Some(false)).status,
        Level::Warning
    );
    assert_eq!(sample(75.0, 95.0, &[10.0], None).status, Level::Critical);
}

#[test]
fn trend_table() {
    let table: &[(&[f64], &str)] = &[
        (&[], "stable"),
        (&[10.0, 90.0, 90.0], "stable"), // too few samples
        (&[80.0, 80.0, 82.0, 78.0], "stable"),
        (&[80.0, 80.0, 84.0, 85.0], "stable"), // +4.5: within tolerance
        (&[60.0, 60.0, 70.0, 70.0], "improving"),
        (&[90.0, 88.0, 86.0, 60.0, 50.0], "degrading"),
    ];
    for (scores, want) in table {
        assert_eq!(trend(scores), *want, "{scores:?}");
    }
}

#[test]
fn session_status_table() {
    let table = [
        (80.0, Level::Healthy, Level::Healthy),
        (49.9, Level::Healthy, Level::Warning),
        (29.9, Level::Healthy, Level::Critical),
        (80.0, Level::Critical, Level::Critical),
        (40.0, Level::Warning, Level::Warning),
    ];
    for (score, last, want) in table {
        assert_eq!(session_status(score, last), want, "{score} {last:?}");
    }
}

#[test]
fn disk_critical_means_above_90_percent_on_any_watched_path() {
    assert!(!disk_critical(&sample(99.0, 99.0, &[90.0, 20.0], None)));
    assert!(disk_critical(&sample(0.0, 0.0, &[20.0, 90.5], None)));
    assert!(!disk_critical(&sample(0.0, 0.0, &[], None)));
}

#[test]
fn memory_pressure_names_the_peak() {
    let calm = [sample(0.0, 40.0, &[], None), sample(0.0, 69.0, &[], None)];
    assert_eq!(memory_pressure(&calm), None);
    assert_eq!(memory_pressure(&[]), None);
    let tight = [
        sample(0.0, 60.0, &[], None),
        sample(0.0, 93.5, &[], None),
        sample(0.0, 80.0, &[], None),
    ];
    assert_eq!(
        memory_pressure(&tight).as_deref(),
        Some("critical memory pressure: peak 93.5 % used (14960 of 16000 MB) during the step")
    );
    let warm = [sample(0.0, 75.0, &[], None)];
    assert!(memory_pressure(&warm)
        .unwrap()
        .starts_with("warning memory pressure: peak 75.0 %"));
}

#[test]
fn summary_of_no_samples_is_unknown() {
    let h = summarize(&[]);
    assert_eq!(h.health_status, "unknown");
    assert_eq!(h.samples, 0);
}

#[test]
fn summary_averages_counts_alerts_and_recommends() {
    let samples = vec![
        sample(10.0, 50.0, &[50.0], Some(true)),
        sample(20.0, 60.0, &[60.0], Some(true)),
        sample(95.0, 75.0, &[80.0], Some(false)),
        sample(85.0, 80.0, &[93.0], Some(false)),
    ];
    let h = summarize(&samples);
    assert_eq!(h.samples, 4);
    assert_eq!(h.component_scores["cpu"], 47.5);
    assert_eq!(h.component_scores["docker"], 50.0);
    assert_eq!(h.trending, "degrading");
    // the last sample has a critical disk
    assert_eq!(h.health_status, "critical");
    assert_eq!(
        h.alerts,
        vec![
            "critical: disk /d0 at 93.0 % used (above 90 %) (in 1 of 4 samples)",
            "warning: memory at 80.0 % used (above 70 %) (in 2 of 4 samples)",
            "warning: disk /d0 at 80.0 % used (above 70 %) (in 1 of 4 samples)",
            "warning: docker daemon unreachable (in 2 of 4 samples)",
        ]
    );
    let r = h.recommendations.join("\n");
    assert!(!r.contains("cpu"), "{r}");
    assert_eq!(
        h.notes,
        vec!["cpu busy (above 70 %) in 2 of 4 samples, peak 95 %: the steps used the cores; more cores would make them faster"]
    );
    assert!(
        r.contains("disk /d0: reached 93 % used: run `auto-etl cleanup --level deep`"),
        "{r}"
    );
    assert!(r.contains("memory: peaked at 80 %"), "{r}");
    assert!(
        r.contains("docker: the daemon was unreachable in 2 of 4 samples"),
        "{r}"
    );
    assert!(r.contains("health degraded during the run"), "{r}");
    assert_eq!(h.recommendations.len(), 4, "{r}");
}

#[test]
fn a_healthy_run_has_nothing_to_say() {
    let samples: Vec<_> = (0..6)
        .map(|_| sample(10.0, 30.0, &[40.0], Some(true)))
        .collect();
    let h = summarize(&samples);
    assert_eq!(h.health_status, "healthy");
    assert_eq!(h.trending, "stable");
    assert!(h.alerts.is_empty() && h.recommendations.is_empty(), "{h:?}");
}

#[test]
fn safe_mode_samples_twice_as_often() {
    let mut cfg = HealthConfig::new(Path::new("/tmp"));
    assert_eq!(cfg.effective_interval(), Duration::from_secs(5));
    cfg.safe_mode = true;
    assert_eq!(cfg.effective_interval(), Duration::from_millis(2500));
}

#[test]
fn disk_usage_of_a_path_not_created_yet() {
    let d = disk_usage(Path::new("/tmp/auto-etl-no-such-dir/logs")).unwrap();
    assert_eq!(d.path, "/tmp/auto-etl-no-such-dir/logs");
    assert!(
        d.total_mb > 0.0 && (0.0..=100.0).contains(&d.used_percent),
        "{d:?}"
    );
}

#[tokio::test]
async fn monitor_samples_in_the_background_and_asks_the_probe() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let probe: DockerProbe = Arc::new(move || {
        c.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { false })
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = HealthConfig::new(dir.path());
    cfg.interval = Duration::from_millis(100);
    cfg.docker_probe = Some(probe);
    let since = Instant::now();
    let monitor = HealthMonitor::start(cfg);
    let now = monitor.sample_now().await;
    assert_eq!(now.docker_reachable, Some(false));
    assert!(now
        .disks
        .iter()
        .any(|d| d.path == dir.path().display().to_string()));
    tokio::time::sleep(Duration::from_millis(350)).await;
    let latest = monitor.latest().expect("a sample");
    assert!((0.0..=100.0).contains(&latest.memory_percent), "{latest:?}");
    assert!(latest.memory_total_mb > 0.0);
    assert!(monitor.samples_since(since).len() >= 3);
    let h = monitor.finish().await;
    assert!(h.samples >= 3, "{h:?}");
    assert_eq!(h.component_scores["docker"], 0.0);
    assert!(
        h.alerts
            .iter()
            .any(|a| a.contains("docker daemon unreachable")),
        "{h:?}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), h.samples);
    // the per-cycle field is plain JSON
    let v = serde_json::to_value(&latest).unwrap();
    assert!(v["component_scores"]["cpu"].is_number());
}

#[tokio::test]
async fn a_hanging_probe_counts_as_unreachable() {
    let probe: DockerProbe = Arc::new(|| {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            true
        })
    });
    let mut cfg = HealthConfig::new(Path::new("/tmp"));
    cfg.interval = Duration::from_secs(60);
    cfg.docker_probe = Some(probe);
    cfg.probe_timeout = Duration::from_millis(50);
    let monitor = HealthMonitor::start(cfg);
    let s = monitor.sample_now().await;
    assert_eq!(s.docker_reachable, Some(false));
    monitor.finish().await;
}

#[tokio::test]
async fn a_sampler_task_that_dies_is_restarted_and_says_why() {
    let calls = Arc::new(AtomicU32::new(0));
    let c = calls.clone();
    let probe: DockerProbe = Arc::new(move || {
        if c.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("probe exploded");
        }
        Box::pin(async { true })
    });
    let mut cfg = HealthConfig::new(Path::new("/tmp"));
    cfg.interval = Duration::from_millis(50);
    cfg.docker_probe = Some(probe);
    let mut monitor = HealthMonitor::start(cfg);
    let deadline = Instant::now() + Duration::from_secs(5);
    let cause = loop {
        if let Some(r) = monitor.revive() {
            assert!(r.restarted);
            break r.cause;
        }
        assert!(Instant::now() < deadline, "the sampler never died");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(cause, "sampling task panicked: probe exploded");
    assert!(
        monitor.latest().is_none(),
        "the first sample died with the task"
    );
    // The new task samples again; a live task is left alone.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(monitor.revive(), None);
    let latest = monitor.latest().expect("samples after the restart");
    assert_eq!(latest.docker_reachable, Some(true));
    let h = monitor.finish().await;
    assert!(h.samples >= 2, "{h:?}");
}

#[tokio::test]
async fn a_sampler_that_dies_every_time_is_restarted_three_times_then_left() {
    let probe: DockerProbe = Arc::new(|| panic!("probe always explodes"));
    let mut cfg = HealthConfig::new(Path::new("/tmp"));
    cfg.interval = Duration::from_millis(50);
    cfg.docker_probe = Some(probe);
    let mut monitor = HealthMonitor::start(cfg);
    let mut revivals = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while revivals.len() < crate::health::MAX_RESTARTS as usize + 1 {
        if let Some(r) = monitor.revive() {
            revivals.push(r);
        }
        assert!(Instant::now() < deadline, "{revivals:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let restarted: Vec<bool> = revivals.iter().map(|r| r.restarted).collect();
    assert_eq!(restarted, [true, true, true, false]);
    // No restarted task ever produced a sample.
    assert_eq!(monitor.task_samples(), 0);
    assert!(revivals.iter().all(|r| r.mark == 0));
    // Left dead: nothing more to revive.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(monitor.revive(), None);
    // finish() would sample once more through the same probe.
    drop(monitor);
}

/// A green run on a 2-core runner kept the CPU at 100 % and its report
/// read "health 75 (critical)".
#[test]
fn a_busy_cpu_does_not_make_a_run_critical() {
    let samples: Vec<HealthSample> = (0..6)
        .map(|_| sample(100.0, 40.0, &[50.0], Some(true)))
        .collect();
    let h = summarize(&samples);
    assert_eq!(h.health_status, "healthy");
    assert!(h.alerts.is_empty(), "{:?}", h.alerts);
    let idle: Vec<HealthSample> = (0..6)
        .map(|_| sample(5.0, 40.0, &[50.0], Some(true)))
        .collect();
    assert_eq!(h.overall_score, summarize(&idle).overall_score);
    assert_eq!(h.component_scores["cpu"], 0.0);
    assert_eq!(h.notes.len(), 1);
}
