//! Samples a step's process group through `/proc`: peak resident memory of
//! the whole tree and the CPU time it used.
//!
//! Each step runs in its own process group (pgid == the step's pid), so the
//! tree is every process whose `pgrp` is that id. CPU time is counted so that
//! processes which exit between samples are not lost and not counted twice:
//! the total is the sum over live members of `utime+stime+cutime+cstime`
//! (a reaped child's time moves into its parent's `cutime`), plus the last
//! seen total of members that vanished without a live group member to reap
//! them (the leader, reaped by us; orphans, reaped by init). What a process
//! used after the last sample before it vanished is not seen.

use super::StepMetrics;
use std::collections::{HashMap, HashSet};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The fields of `/proc/PID/stat` the sampler uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    /// utime + stime, in clock ticks.
    pub own_ticks: u64,
    /// cutime + cstime (children already waited for), in clock ticks.
    pub child_ticks: u64,
    /// Resident set size, in pages.
    pub rss_pages: u64,
}

/// Parses one `/proc/PID/stat` line. The command name sits in parentheses
/// and may itself hold spaces and parentheses, so the fields are counted
/// from the last `)`.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let pid = text[..open].trim().parse().ok()?;
    // Fields 3.. of proc(5); index 0 here is field 3 (state).
    let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let num = |i: usize| f.get(i).and_then(|s| s.parse::<i64>().ok());
    Some(ProcStat {
        pid,
        ppid: num(1)? as i32,
        pgrp: num(2)? as i32,
        own_ticks: (num(11)? + num(12)?).max(0) as u64,
        child_ticks: (num(13)? + num(14)?).max(0) as u64,
        rss_pages: num(21)?.max(0) as u64,
    })
}

/// What the samples of one group add up to. Pure: fed with the group's
/// processes at each sample.
#[derive(Debug, Default, Clone)]
pub struct TreeTotals {
    /// Live members at the last sample: pid -> (ppid, total ticks).
    live: HashMap<i32, (i32, u64)>,
    /// Ticks of members that vanished with no live member to reap them.
    lost_ticks: u64,
    max_ticks: u64,
    pub peak_rss_bytes: u64,
    seen: HashSet<i32>,
    pub samples: u32,
}

impl TreeTotals {
    /// Takes in one sample: the processes of the group now.
    pub fn observe(&mut self, procs: &[ProcStat], page_size: u64) {
        let now: HashMap<i32, (i32, u64)> = procs
            .iter()
            .map(|p| (p.pid, (p.ppid, p.own_ticks + p.child_ticks)))
            .collect();
        for (pid, (ppid, ticks)) in &self.live {
            if !now.contains_key(pid) && !now.contains_key(ppid) {
                self.lost_ticks += ticks;
            }
        }
        let live_ticks: u64 = now.values().map(|(_, t)| t).sum();
        self.max_ticks = self.max_ticks.max(live_ticks + self.lost_ticks);
        let rss: u64 = procs.iter().map(|p| p.rss_pages * page_size).sum();
        self.peak_rss_bytes = self.peak_rss_bytes.max(rss);
        self.seen.extend(now.keys());
        self.live = now;
        self.samples += 1;
    }

    /// CPU time of the tree so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        self.max_ticks
    }

    /// Distinct processes seen.
    pub fn processes(&self) -> u32 {
        self.seen.len() as u32
    }

    /// The step's metrics, given its wall time and the tick rate.
    pub fn metrics(&self, elapsed: Duration, ticks_per_sec: u64) -> StepMetrics {
        let cpu_time_ms = self.cpu_ticks() * 1000 / ticks_per_sec.max(1);
        let wall_ms = elapsed.as_millis() as u64;
        StepMetrics {
            execution_time_ms: wall_ms,
            cpu_time_ms,
            cpu_usage_percent: if wall_ms == 0 {
                0.0
            } else {
                cpu_time_ms as f64 * 100.0 / wall_ms as f64
            },
            peak_memory_mb: self.peak_rss_bytes as f64 / (1024.0 * 1024.0),
            rows: None,
            processes: self.processes(),
            samples: self.samples,
        }
    }
}

fn sysconf(name: libc::c_int, fallback: u64) -> u64 {
    // SAFETY: sysconf only reads a system constant.
    let v = unsafe { libc::sysconf(name) };
    if v > 0 {
        v as u64
    } else {
        fallback
    }
}

/// The processes of group `pgid` now. Processes that vanish while being
/// read are skipped.
fn scan_group(pgid: i32) -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|t| parse_stat(&t))
        .filter(|p| p.pgrp == pgid)
        .collect()
}

/// Samples one process group on a background thread until stopped.
#[derive(Debug)]
pub struct ProcessTreeSampler {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<StepMetrics>>,
}

impl ProcessTreeSampler {
    /// A sampling interval that catches short peaks without costing much.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

    /// Starts sampling group `pgid` every `interval`, beginning now.
    pub fn start(pgid: i32, interval: Duration) -> ProcessTreeSampler {
        let (tx, rx) = mpsc::channel::<()>();
        let interval = interval.max(Duration::from_millis(10));
        let thread = std::thread::Builder::new()
            .name(format!("sampler-{pgid}"))
            .spawn(move || sample_loop(pgid, interval, rx))
            .ok();
        ProcessTreeSampler {
            stop: Some(tx),
            thread,
        }
    }

    /// Takes a last sample, stops and returns what the group used. Returns
    /// within one `/proc` scan, so it is fine to call from async code.
    pub fn stop(mut self) -> StepMetrics {
        drop(self.stop.take());
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ProcessTreeSampler {
    fn drop(&mut self) {
        // Dropping the sender ends the thread; it is not waited for.
        self.stop.take();
    }
}

fn sample_loop(pgid: i32, interval: Duration, stop: mpsc::Receiver<()>) -> StepMetrics {
    let start = Instant::now();
    let page = sysconf(libc::_SC_PAGESIZE, 4096);
    let ticks = sysconf(libc::_SC_CLK_TCK, 100);
    let mut totals = TreeTotals::default();
    loop {
        totals.observe(&scan_group(pgid), page);
        match stop.recv_timeout(interval) {
            Err(mpsc::RecvTimeoutError::Timeout) => continue,
            _ => break,
        }
    }
    totals.observe(&scan_group(pgid), page);
    totals.metrics(start.elapsed(), ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "4242 (my (odd) cmd) S 4241 4242 4242 0 -1 4194560 100 0 0 0 \
                    150 50 7 3 20 0 1 0 12345 1000000 2560 18446744073709551615";
        let p = parse_stat(line).unwrap();
        assert_eq!(
            p,
            ProcStat {
                pid: 4242,
                ppid: 4241,
                pgrp: 4242,
                own_ticks: 200,
                child_ticks: 10,
                rss_pages: 2560,
            }
        );
        assert_eq!(parse_stat("12 (truncated) S 1 2"), None);
        assert_eq!(parse_stat("garbage"), None);
    }

    fn p(pid: i32, ppid: i32, own: u64, child: u64, rss: u64) -> ProcStat {
        ProcStat {
            pid,
            ppid,
            pgrp: 10,
            own_ticks: own,
            child_ticks: child,
            rss_pages: rss,
        }
    }

    /// (samples, want cpu ticks, want peak rss pages, want processes)
    #[test]
    fn totals_follow_processes_coming_and_going() {
        let table: Vec<(Vec<Vec<ProcStat>>, u64, u64, u32)> = vec![
            // one process growing
            (
                vec![vec![p(10, 1, 5, 0, 100)], vec![p(10, 1, 20, 0, 300)]],
                20,
                300,
                1,
            ),
            // a child reaped by the leader: its time moves to cutime, once
            (
                vec![
                    vec![p(10, 1, 5, 0, 100), p(11, 10, 30, 0, 500)],
                    vec![p(10, 1, 6, 32, 100)],
                ],
                38,
                600,
                2,
            ),
            // the leader reaped by us (parent outside the group): kept
            (vec![vec![p(10, 1, 40, 2, 100)], vec![]], 42, 100, 1),
            // an orphan reparented and reaped by init: kept
            (
                vec![
                    vec![p(10, 1, 1, 0, 10), p(12, 10, 9, 0, 10)],
                    vec![p(10, 1, 2, 0, 10), p(12, 1, 15, 0, 10)],
                    vec![p(10, 1, 3, 0, 10)],
                ],
                18,
                20,
                2,
            ),
            // nothing ever seen
            (vec![vec![], vec![]], 0, 0, 0),
        ];
        for (i, (samples, ticks, rss, procs)) in table.into_iter().enumerate() {
            let mut t = TreeTotals::default();
            for s in &samples {
                t.observe(s, 1);
            }
            assert_eq!(t.cpu_ticks(), ticks, "row {i}: ticks");
            assert_eq!(t.peak_rss_bytes, rss, "row {i}: rss");
            assert_eq!(t.processes(), procs, "row {i}: processes");
        }
    }

    #[test]
    fn metrics_convert_ticks_and_bytes() {
        let mut t = TreeTotals::default();
        t.observe(&[p(10, 1, 150, 0, 256)], 4096);
        let m = t.metrics(Duration::from_secs(3), 100);
        assert_eq!(m.cpu_time_ms, 1500);
        assert_eq!(m.execution_time_ms, 3000);
        assert!((m.cpu_usage_percent - 50.0).abs() < 1e-9);
        assert!((m.peak_memory_mb - 1.0).abs() < 1e-9);
    }

    #[test]
    fn samples_the_peak_memory_of_a_real_process_group() {
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "b=bytearray(300*1024*1024); import time; time.sleep(1.5)",
            ])
            .process_group(0)
            .spawn()
            .expect("python3 on PATH");
        let pgid = child.id() as i32;
        let sampler = ProcessTreeSampler::start(pgid, Duration::from_millis(50));
        let status = child.wait().unwrap();
        let m = sampler.stop();
        assert!(status.success());
        assert!(
            m.peak_memory_mb >= 250.0,
            "peak {} MB: {m:?}",
            m.peak_memory_mb
        );
        assert!(m.cpu_time_ms > 0, "{m:?}");
        assert!(m.samples >= 10, "{m:?}");
        // `python3` may be a shim (pyenv) that runs helpers first.
        assert!(m.processes >= 1, "{m:?}");
    }

    #[test]
    fn sums_memory_across_the_group_and_ignores_other_groups() {
        use std::os::unix::process::CommandExt;
        // Two children of a shell, each holding 120 MB, at the same time.
        let script = "python3 -c 'b=bytearray(120*1024*1024); import time; time.sleep(1.2)' & \
                      python3 -c 'b=bytearray(120*1024*1024); import time; time.sleep(1.2)' & wait";
        let mut child = std::process::Command::new("sh")
            .args(["-c", script])
            .process_group(0)
            .spawn()
            .unwrap();
        let sampler = ProcessTreeSampler::start(child.id() as i32, Duration::from_millis(50));
        child.wait().unwrap();
        let m = sampler.stop();
        assert!(m.peak_memory_mb >= 200.0, "{m:?}");
        assert!(m.processes >= 3, "{m:?}");
        // The sampler's own process is not in the group.
        let unrelated = ProcessTreeSampler::start(i32::MAX - 1, Duration::from_millis(10)).stop();
        assert_eq!(unrelated.processes, 0);
        assert_eq!(unrelated.peak_memory_mb, 0.0);
    }
}
