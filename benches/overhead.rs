//! The agent's in-process work per iteration, outside the steps: judging the
//! iteration, deciding the next plan, and serialising its report record.
//! (Whole-process overhead, with spawning, git and files, is measured by
//! `scripts/bench/overhead.sh`.)

use auto_etl::adjust::{decide, Facts, Plan};
use auto_etl::classify::{FailureClass, MarkerHit, Match, ScanReport};
use auto_etl::cleanup::CleanupLevel;
use auto_etl::cycle::verify::{judge, Evidence, ExpectedFile};
use auto_etl::metrics::StepMetrics;
use auto_etl::orchestrator::{StepOutcome, StepStatus};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

fn scan() -> ScanReport {
    let matches: Vec<Match> = (0..40)
        .map(|i| Match {
            class: if i % 2 == 0 {
                FailureClass::ConnectionRefused
            } else {
                FailureClass::AlreadyExists
            },
            rule_id: "pg-connection-refused".into(),
            retryable: true,
            line: 100 + i,
            excerpt: "psycopg2.OperationalError: connection to server failed: Connection refused"
                .into(),
            subject: None,
            source: None,
        })
        .collect();
    ScanReport {
        total_matches: matches.len() as u64,
        matches,
        success_markers: vec![MarkerHit {
            marker: "✅".into(),
            line: 3,
            excerpt: "✅ ok".into(),
        }],
        ..ScanReport::default()
    }
}

fn bench(c: &mut Criterion) {
    let steps: Vec<StepOutcome> = (0..8)
        .map(|i| StepOutcome {
            name: format!("step{i}"),
            status: if i == 7 {
                StepStatus::Failed
            } else {
                StepStatus::Success
            },
            exit_code: Some(if i == 7 { 1 } else { 0 }),
            duration: Duration::from_millis(120),
            waited: Duration::ZERO,
            metrics: StepMetrics::default(),
        })
        .collect();
    let scan = scan();
    let markers = vec!["✅".to_string()];
    let files = vec![ExpectedFile {
        pattern: "output/*.csv".into(),
        fresh: vec!["output/a.csv".into()],
        stale: vec![],
    }];
    let plan = Plan {
        iteration: 1,
        step_names: steps.iter().map(|s| s.name.clone()).collect(),
        step_timeouts: vec![Duration::from_secs(600); 8],
        base_timeouts: vec![Duration::from_secs(600); 8],
        service_wait: Duration::from_secs(10),
        cleanup_level: CleanupLevel::Standard,
        recreate_schema: false,
    };
    c.bench_function("judge + decide + serialise one iteration", |b| {
        b.iter(|| {
            let verdict = judge(&Evidence {
                steps: black_box(&steps),
                scan: black_box(&scan),
                success_markers: &markers,
                expected_files: &files,
                validator: None,
                interrupted: false,
                agent_errors: &[],
            });
            let facts = Facts {
                matches: &scan.matches,
                failed: vec![7],
                ..Facts::default()
            };
            let decision = decide(black_box(&plan), &facts, &[]);
            let json =
                serde_json::to_vec(&(verdict.errors, decision.adjustments, &scan.matches)).unwrap();
            black_box(json.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
