//! Throughput of the classify scanner on a generated log of mostly ordinary
//! INFO lines (with a failure now and then), with the built-in rules and with
//! 50 extra user rules. Run: `cargo bench --bench classify`.
//! `CLASSIFY_BENCH_MB` sets the log size (default 100).

use auto_etl::classify::{FailureClass, Markers, Rule, RuleSet, RuleSource, Scanner};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;

/// A deterministic log of `size` bytes.
fn generate_log(size: usize) -> Vec<u8> {
    let steps = ["extract", "transform", "load", "validate", "publish"];
    let tables = [
        "staging.sales",
        "staging.orders",
        "dim.customer",
        "fact.events",
    ];
    let failures = [
        "ERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist",
        "psycopg2.OperationalError: connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused",
        "Code: 241. DB::Exception: Memory limit (total) exceeded: would use 3.50 GiB",
        "2025-01-09 12:00:00 DEBUG pool: connection refused, retrying in 5s",
    ];
    let mut out = Vec::with_capacity(size + 256);
    let mut i: u64 = 0;
    while out.len() < size {
        let line = if i % 5000 == 4999 {
            failures[(i / 5000) as usize % failures.len()].to_string()
        } else {
            format!(
                "2025-01-09 12:{:02}:{:02},{:03} INFO [etl.{}] loaded {} rows into {} in {}.{:02}s (batch {}, worker-{})",
                (i / 60) % 60,
                i % 60,
                i % 1000,
                steps[(i % 5) as usize],
                (i * 7919) % 100_000,
                tables[(i % 4) as usize],
                i % 9,
                i % 100,
                i,
                i % 8
            )
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
        i += 1;
    }
    out
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
    let log = generate_log(mb << 20);
    let builtin = Arc::new(RuleSet::builtin());
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
