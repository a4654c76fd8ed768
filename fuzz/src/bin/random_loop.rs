//! The fuzz targets on stable Rust: a bounded loop of random inputs (seed
//! files from `fuzz/seeds/<target>/`, mutated, and plain random bytes),
//! each run under `catch_unwind`. Not coverage-guided like libFuzzer, so
//! weaker, but it runs anywhere. A panicking input is saved under
//! `fuzz/artifacts/<target>/` and the exit code is 1.
//!
//! `random-loop [SECONDS_PER_TARGET] [TARGET...]`

use std::path::Path;
use std::time::{Duration, Instant};

/// xorshift64*: enough randomness for mutation, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\n",
    b"\"",
    b"'",
    b"=",
    b"[",
    b"]",
    b"{",
    b"}",
    b"\\",
    b"\xff",
    b"\xc3",
    b"\x00",
    b"99999999999999999999",
    b"-1",
    b"1e309",
    b"NaN",
    b"(((",
    b"*",
    b"{1000}",
    b"://",
    b"password=",
    b"Bearer ",
    b"eyJ",
    b"AKIA",
    b"\"hash\":\"",
    b"\"seq\":",
    b"\"event\":",
    b"iteration_end",
    b"run_start",
    b"[[steps]]",
    b"[[rules]]",
    b"timeout = ",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 if !v.is_empty() => {
                let end = (at + rng.below(64)).min(v.len());
                v.drain(at.min(end)..end);
            }
            2 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                v.splice(at..at, piece.iter().copied());
            }
            3 if !v.is_empty() => {
                // duplicate a slice elsewhere
                let from = rng.below(v.len());
                let len = rng.below(256).min(v.len() - from);
                let piece: Vec<u8> = v[from..from + len].to_vec();
                v.splice(at..at, piece);
            }
            4 => v.truncate(at),
            _ => {
                let n = rng.below(32);
                let piece: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, piece);
            }
        }
    }
    v.truncate(1 << 16);
    v
}

fn seeds(dir: &Path) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read(e.path()).ok())
                .collect()
        })
        .unwrap_or_default();
    out.push(Vec::new());
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(30);
    let wanted: Vec<&str> = args.iter().skip(1).map(String::as_str).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    std::panic::set_hook(Box::new(|_| {}));
    let mut failed = false;
    for (name, target) in auto_etl_fuzz::TARGETS {
        if !wanted.is_empty() && !wanted.contains(name) {
            continue;
        }
        let corpus = seeds(&root.join("seeds").join(name));
        let deadline = Instant::now() + Duration::from_secs(secs);
        let (mut runs, mut crashes) = (0u64, 0u32);
        while Instant::now() < deadline {
            let seed = &corpus[rng.below(corpus.len())];
            let input = if rng.below(10) == 0 {
                (0..rng.below(512)).map(|_| rng.next() as u8).collect()
            } else {
                mutate(&mut rng, seed)
            };
            runs += 1;
            if std::panic::catch_unwind(|| target(&input)).is_err() {
                crashes += 1;
                let dir = root.join("artifacts").join(name);
                let _ = std::fs::create_dir_all(&dir);
                let path = dir.join(format!("crash-{runs}"));
                let _ = std::fs::write(&path, &input);
                eprintln!("{name}: PANIC on input saved to {}", path.display());
                if crashes >= 5 {
                    break;
                }
            }
        }
        println!("{name}: {runs} inputs in {secs}s, {crashes} panic(s)");
        failed |= crashes > 0;
    }
    std::process::exit(i32::from(failed));
}
