//! Throughput of the classify scanner on a generated log of mostly ordinary
//! INFO lines (harmless failure words in them, a real failure now and then,
//! as `scripts/bench/make_log.py` writes it), with the built-in rules and
//! with 50 extra user rules. Run: `cargo bench --bench classify`.
//! `CLASSIFY_BENCH_MB` sets the log size (default 100).

use auto_etl::classify::{FailureClass, Markers, Rule, RuleSet, RuleSource, Scanner};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;

/// One of `scripts/bench/make_log.py`'s ordinary lines: template `i % 5`,
/// harmless failure words included ("(0 errors)", "retrying in 5s",
/// "ERROR_LOG="), which a scanner must not report.
fn ordinary_line(i: u64, n: u32) -> String {
    let (m, s, ms) = (i % 60, (i * 7) % 60, i % 1000);
    match i % 5 {
        0 => format!("2025-01-09 12:{m:02}:{s:02},{ms:03} INFO  airflow.task: extracted {n} rows from s3://bucket/part-{n}.csv"),
        1 => format!("2025-01-09 12:{m:02}:{s:02},{ms:03} INFO  etl.load: batch {n} committed in {ms} ms (0 errors)"),
        2 => format!("2025-01-09 12:{m:02}:{s:02},{ms:03} DEBUG dbt: Began running node model.sales.stg_orders_{n}"),
        3 => format!("[{m:02}:{s:02}] spark.scheduler: Finished task {n}.0 in stage 3.0 (TID {ms}) in {ms} ms on executor 2"),
        _ => format!("2025-01-09 12:{m:02}:{s:02},{ms:03} INFO  warehouse: retrying in 5s is disabled; ERROR_LOG=/var/log/etl/{n}.log"),
    }
}

/// `make_log.py`'s real errors, the `k`-th one.
fn error_line(k: usize) -> String {
    match k % 4 {
        0 => format!("ERROR 1146 (42S02) at line 12: Table 'etl.sales_{k}' doesn't exist"),
        1 => "psycopg2.OperationalError: connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused".into(),
        2 => format!("Code: 60. DB::Exception: Table default.events_{k} doesn't exist. (UNKNOWN_TABLE)"),
        _ => "java.lang.OutOfMemoryError: Java heap space".into(),
    }
}

/// A deterministic log of `size` bytes shaped as `make_log.py` shapes it: a
/// block of 20,000 ordinary lines repeated, one real error after the block
/// that crosses each MiB. The row numbers come from a seeded fastrand, not
/// Python's generator, so the bytes differ but not the shape. Returns the
/// log and the number of real errors in it.
fn generate_log(size: usize) -> (Vec<u8>, usize) {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut block = String::new();
    for i in 0..20_000 {
        block.push_str(&ordinary_line(i, rng.u32(1..=99_999)));
        block.push('\n');
    }
    const ERR_EVERY: usize = 1 << 20;
    let mut out = Vec::with_capacity(size);
    let mut errors = 0;
    while out.len() < size {
        let mut chunk = block.clone().into_bytes();
        if out.len() / ERR_EVERY != (out.len() + chunk.len()) / ERR_EVERY {
            chunk.extend_from_slice(error_line(errors).as_bytes());
            chunk.push(b'\n');
            errors += 1;
        }
        chunk.truncate(size - out.len());
        out.extend_from_slice(&chunk);
    }
    (out, errors)
}

/// 50 realistic extra rules, each with a literal the prefilter can use.
fn user_rules() -> Vec<Rule> {
    let mut rules = Vec::new();
    for i in 0..50 {
        let pattern = match i % 5 {
            0 => format!(r"Code: {}\. DB::Exception: Custom failure \S+", 1000 + i),
            1 => format!(r"(?i)vendor_err_{i:03}: .* aborted"),
            2 => format!(r"ORA-{:05}: ", 1000 + i),
            3 => format!(r"\bpipeline step \w+ exited abnormally \(reason {i}\)"),
            _ => format!(r"(?i)job-{i} (?:failed|crashed) with status \d+"),
        };
        rules.push(Rule {
            id: format!("user-{i}"),
            class: FailureClass::Custom(format!("custom_{i}")),
            pattern,
            retryable: true,
            source: RuleSource::Config,
        });
    }
    rules
}

fn scan(rules: &Arc<RuleSet>, markers: &Arc<Markers>, log: &[u8]) -> u64 {
    let mut s = Scanner::new(rules.clone(), markers.clone());
    for chunk in log.chunks(256 * 1024) {
        s.feed(chunk);
    }
    s.finish().total_matches
}

fn bench(c: &mut Criterion) {
    let mb: usize = std::env::var("CLASSIFY_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let (log, errors) = generate_log(mb << 20);
    let builtin = Arc::new(RuleSet::builtin());
    // The harmless words must not count: only the real errors match (the
    // last one may be cut off by the size).
    let found = scan(&builtin, &Arc::new(Markers::default()), &log) as usize;
    assert!(
        found == errors || found + 1 == errors,
        "{found} matches for {errors} real errors"
    );
    let extended = Arc::new(RuleSet::with_user_rules(user_rules()).expect("bench rules compile"));
    let none = Arc::new(Markers::default());
    let markers = Arc::new(Markers {
        success: vec!["✅".into(), "SUCCESS".into(), "COMPLETADA".into()],
        error: vec!["❌".into(), "FAILED".into(), "ERROR".into()],
    });

    let mut g = c.benchmark_group("classify");
    g.throughput(Throughput::Bytes(log.len() as u64));
    g.sample_size(10);
    g.bench_function("builtin", |b| {
        b.iter(|| black_box(scan(&builtin, &none, &log)))
    });
    g.bench_function("builtin+50_user_rules", |b| {
        b.iter(|| black_box(scan(&extended, &none, &log)))
    });
    g.bench_function("builtin+markers", |b| {
        b.iter(|| black_box(scan(&builtin, &markers, &log)))
    });
    g.bench_function("builtin+50_user_rules+markers", |b| {
        b.iter(|| black_box(scan(&extended, &markers, &log)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
