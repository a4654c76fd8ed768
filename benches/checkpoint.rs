//! `checkpoint()` (ref mode) against `git add -A && git commit` on identical
//! copies of a 10,000-file repository with 100 files changed per round.
//! Prints both means and their ratio (target: ≤ 1.0).
//!
//! `AUTO_ETL_BENCH_FILES` / `AUTO_ETL_BENCH_CHANGED` change the sizes.

use auto_etl::checkpoint::{checkpoint, CheckpointContext};
use auto_etl::config::{CheckpointMode, GitConfig};
use criterion::Criterion;
use std::cell::Cell;
use std::hint::black_box;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@localhost")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@localhost")
        .status()
        .expect("run git")
        .success();
    assert!(ok, "git {args:?} failed");
}

/// `files` files in 100 directories, committed.
fn make_repo(dir: &Path, files: usize) {
    std::fs::create_dir_all(dir).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "user.name", "bench"]);
    git(dir, &["config", "user.email", "bench@localhost"]);
    for i in 0..files {
        let sub = dir.join(format!("d{:03}", i % 100));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(
            sub.join(format!("f{i:05}.txt")),
            format!("file {i}\n{}\n", "x".repeat(200)),
        )
        .unwrap();
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "initial"]);
}

/// Rewrites `changed` files spread over the tree with content new in `round`.
fn touch(dir: &Path, files: usize, changed: usize, round: u64) {
    let step = (files / changed).max(1);
    // One file in every `step`, moving through the 100 directories.
    for i in (0..changed).map(|k| (k * step + k % 100) % files) {
        let path = dir
            .join(format!("d{:03}", i % 100))
            .join(format!("f{i:05}.txt"));
        std::fs::write(path, format!("file {i} round {round}\n")).unwrap();
    }
}

fn main() {
    let files = env_usize("AUTO_ETL_BENCH_FILES", 10_000);
    let changed = env_usize("AUTO_ETL_BENCH_CHANGED", 100);
    let tmp = tempfile::tempdir().unwrap();
    let ours = tmp.path().join("ours");
    let theirs = tmp.path().join("theirs");
    make_repo(&ours, files);
    make_repo(&theirs, files);
    let cfg = GitConfig {
        mode: CheckpointMode::Ref,
        push: false,
        push_refused: None,
        remote: "origin".into(),
        exclude: vec![],
        max_file_size: 50 << 20,
    };
    let round = Cell::new(0u64);
    let (ours_total, ours_n) = (Cell::new(Duration::ZERO), Cell::new(0u64));
    let (git_total, git_n) = (Cell::new(Duration::ZERO), Cell::new(0u64));

    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8))
        .configure_from_args();
    let mut group = c.benchmark_group(format!("checkpoint_{files}_files_{changed}_changed"));
    group.bench_function("auto_etl_checkpoint_ref_mode", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round.set(round.get() + 1);
                touch(&ours, files, changed, round.get());
                let ctx = CheckpointContext {
                    run_id: "bench".into(),
                    iteration: round.get() as u32,
                    previous: None,
                };
                let t = Instant::now();
                let rec = checkpoint(&ours, &cfg, &ours.join("logs"), &ctx);
                spent += t.elapsed();
                assert!(rec.skipped_reason.is_none(), "{rec:?}");
                black_box(rec);
            }
            ours_total.set(ours_total.get() + spent);
            ours_n.set(ours_n.get() + iters);
            spent
        })
    });
    group.bench_function("git_add_all_and_commit", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                round.set(round.get() + 1);
                touch(&theirs, files, changed, round.get());
                let t = Instant::now();
                git(&theirs, &["add", "-A"]);
                git(&theirs, &["commit", "-q", "-m", "x"]);
                spent += t.elapsed();
            }
            git_total.set(git_total.get() + spent);
            git_n.set(git_n.get() + iters);
            spent
        })
    });
    group.finish();
    c.final_summary();

    if ours_n.get() > 0 && git_n.get() > 0 {
        let ours_mean = ours_total.get().as_secs_f64() / ours_n.get() as f64;
        let git_mean = git_total.get().as_secs_f64() / git_n.get() as f64;
        println!(
            "criterion means: checkpoint(): {:.2} ms   git add -A && git commit: {:.2} ms   ratio: {:.2}",
            ours_mean * 1e3,
            git_mean * 1e3,
            ours_mean / git_mean
        );
    }
    paired(&ours, &theirs, &cfg, files, changed, &round);
}

/// Alternates the two, round by round, so a busy machine slows both alike;
/// reports the medians and their ratio.
fn paired(
    ours: &Path,
    theirs: &Path,
    cfg: &GitConfig,
    files: usize,
    changed: usize,
    round: &Cell<u64>,
) {
    let rounds = env_usize("AUTO_ETL_BENCH_ROUNDS", 15);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        round.set(round.get() + 1);
        touch(ours, files, changed, round.get());
        touch(theirs, files, changed, round.get());
        let ctx = CheckpointContext {
            run_id: "bench".into(),
            iteration: round.get() as u32,
            previous: None,
        };
        let t = Instant::now();
        black_box(checkpoint(ours, cfg, &ours.join("logs"), &ctx));
        a.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        git(theirs, &["add", "-A"]);
        git(theirs, &["commit", "-q", "-m", "x"]);
        b.push(t.elapsed().as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ma, mb) = (median(&mut a), median(&mut b));
    println!(
        "checkpoint(): {:.2} ms   git add -A && git commit: {:.2} ms   ratio: {:.2} (target <= 1.0; medians of {rounds} paired rounds, {files} files, {changed} changed)",
        ma * 1e3,
        mb * 1e3,
        ma / mb
    );
}
