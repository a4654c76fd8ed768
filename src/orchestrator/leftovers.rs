//! A killed agent's leftovers. Each process group a run starts is written to
//! a ledger in the report directory (pgid, the leader's start time, the boot
//! it belongs to); the steps also carry a run token in `AUTO_ETL_RUN_TOKEN`. A
//! run that ends removes its ledger; one that was SIGKILLed cannot, so the
//! next run in that report directory (holding its lock, so the writer is
//! dead) stops what survived before it begins. A process is only ever
//! stopped when it is provably the run's: the group leader with the same
//! start time (a reused pid has another), or a process whose environment
//! holds the dead run's token (its run id and 64 random bits: run ids are
//! unique per repository only, and two pipelines may share one).

use super::procs::{self, ProcInfo};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The ledger's name inside the report directory.
pub const LEDGER_FILE: &str = ".auto-etl.procs.jsonl";
/// The variable holding the run's token in every step's environment.
pub const RUN_TOKEN_ENV: &str = "AUTO_ETL_RUN_TOKEN";
/// How long survivors get between SIGTERM and SIGKILL.
const SWEEP_GRACE: Duration = Duration::from_secs(2);

/// One process group a run started.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct GroupRecord {
    pub run_id: String,
    pub token: String,
    pub pgid: i32,
    pub start_ticks: u64,
    pub boot_id: String,
}

/// A process of the machine as the sweep sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub info: ProcInfo,
    /// Its `AUTO_ETL_RUN_TOKEN`, when it has one.
    pub token: Option<String>,
}

/// What the sweep stopped for one dead run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Swept {
    pub run_id: String,
    pub groups: Vec<i32>,
    pub processes: Vec<i32>,
}

struct Ledger {
    path: PathBuf,
    run_id: String,
    token: String,
    boot_id: String,
}

static LEDGER: Mutex<Option<Ledger>> = Mutex::new(None);

/// Starts this run's ledger in `report_dir` (written on the first group).
pub fn open(report_dir: &Path, run_id: &str) {
    if let Ok(mut l) = LEDGER.lock() {
        *l = Some(Ledger {
            path: report_dir.join(LEDGER_FILE),
            run_id: run_id.to_string(),
            token: format!("{run_id}-{:016x}", fastrand::u64(..)),
            boot_id: boot_id(),
        });
    }
}

/// This run's token, for the steps' environment, once a ledger is open.
pub fn token() -> Option<String> {
    LEDGER.lock().ok()?.as_ref().map(|l| l.token.clone())
}

/// Appends the group `pgid` (its leader just started) to the ledger, synced,
/// so a SIGKILL right after still leaves it on disk.
pub fn record(pgid: i32) {
    let Ok(guard) = LEDGER.lock() else { return };
    let Some(ledger) = guard.as_ref() else { return };
    let Some(info) = procs::process(pgid) else {
        return;
    };
    let rec = GroupRecord {
        run_id: ledger.run_id.clone(),
        token: ledger.token.clone(),
        pgid,
        start_ticks: info.start_ticks,
        boot_id: ledger.boot_id.clone(),
    };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&ledger.path)
        .and_then(|mut f| {
            let line = serde_json::to_string(&rec).unwrap_or_default();
            writeln!(f, "{line}")?;
            f.sync_data()
        });
    if let Err(e) = written {
        tracing::warn!(
            "cannot record process group {pgid} in {}: {e}",
            ledger.path.display()
        );
    }
}

/// The run ended with every group it started stopped: its ledger goes.
pub fn close() {
    if let Ok(mut l) = LEDGER.lock() {
        if let Some(ledger) = l.take() {
            let _ = std::fs::remove_file(&ledger.path);
        }
    }
}

/// Which processes among `candidates` belong to a group in `records`: the
/// leader with its recorded start time, or any process whose environment
/// holds a recorded run's token. Nothing from another boot. Pure.
pub fn survivors(records: &[GroupRecord], candidates: &[Candidate], boot: &str) -> Vec<Candidate> {
    candidates
        .iter()
        .filter(|c| c.info.state != 'Z')
        .filter(|c| {
            records.iter().any(|r| {
                r.boot_id == boot
                    && ((c.info.pid == r.pgid && c.info.start_ticks == r.start_ticks)
                        || c.token.as_deref() == Some(r.token.as_str()))
            })
        })
        .cloned()
        .collect()
}

/// Stops what a dead run of this report directory left running, removes its
/// ledger, and says what was stopped (empty: nothing was left). The caller
/// holds the report directory's lock, so the ledger's writer is gone.
pub async fn sweep(report_dir: &Path) -> Vec<Swept> {
    let path = report_dir.join(LEDGER_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    // A line cut by the kill is skipped; the ones before it still count.
    let records: Vec<GroupRecord> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let me = std::process::id() as i32;
    let candidates: Vec<Candidate> = procs::list_processes()
        .into_iter()
        .filter(|p| p.pid != me)
        .map(|info| Candidate {
            token: env_token(info.pid),
            info,
        })
        .collect();
    let found = survivors(&records, &candidates, &boot_id());
    stop(&found).await;
    let _ = std::fs::remove_file(&path);
    let mut swept: Vec<Swept> = Vec::new();
    for c in &found {
        let run_id = records
            .iter()
            .find(|r| c.token.as_deref() == Some(r.token.as_str()) || r.pgid == c.info.pid)
            .map(|r| r.run_id.clone())
            .unwrap_or_default();
        let entry = match swept.iter_mut().find(|s| s.run_id == run_id) {
            Some(s) => s,
            None => {
                swept.push(Swept {
                    run_id,
                    groups: Vec::new(),
                    processes: Vec::new(),
                });
                swept.last_mut().expect("just pushed")
            }
        };
        if !entry.groups.contains(&c.info.pgid) {
            entry.groups.push(c.info.pgid);
        }
        entry.processes.push(c.info.pid);
    }
    swept
}

/// SIGTERM to each survivor (its group when it leads one), a grace, SIGKILL
/// to what is left. Only the processes found are signalled, one by one, so
/// a stranger that joined a reused group id is never hit.
async fn stop(found: &[Candidate]) {
    let send = |signal: i32| {
        for c in found {
            let same =
                procs::process(c.info.pid).is_some_and(|p| p.start_ticks == c.info.start_ticks);
            if same {
                // SAFETY: kill(2) on a pid whose start time we just checked.
                unsafe { libc::kill(c.info.pid, signal) };
            }
        }
    };
    if found.is_empty() {
        return;
    }
    send(libc::SIGTERM);
    send(libc::SIGCONT);
    let deadline = Instant::now() + SWEEP_GRACE;
    let alive = || {
        found.iter().any(|c| {
            procs::process(c.info.pid)
                .is_some_and(|p| p.start_ticks == c.info.start_ticks && p.state != 'Z')
        })
    };
    while Instant::now() < deadline && alive() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(libc::SIGKILL);
}

/// The `AUTO_ETL_RUN_TOKEN` in process `pid`'s environment (readable for
/// our own user's processes only, which is all a run starts).
fn env_token(pid: i32) -> Option<String> {
    let env = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let prefix = format!("{RUN_TOKEN_ENV}=");
    env.split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(prefix.as_bytes()))
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// This boot's id: start times restart at zero on a reboot.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(pid: i32, pgid: i32, start: u64, run: Option<&str>) -> Candidate {
        Candidate {
            info: ProcInfo {
                pid,
                ppid: 1,
                pgid,
                state: 'S',
                start_ticks: start,
            },
            token: run.map(str::to_string),
        }
    }

    #[test]
    fn only_provably_owned_processes_survive_the_filter() {
        let rec = GroupRecord {
            run_id: "20250109_123456".into(),
            token: "20250109_123456-00ff".into(),
            pgid: 100,
            start_ticks: 5000,
            boot_id: "b1".into(),
        };
        let cases = [
            (
                "the leader, same start",
                cand(100, 100, 5000, None),
                "b1",
                true,
            ),
            (
                "a reused pid (other start)",
                cand(100, 100, 9000, None),
                "b1",
                false,
            ),
            (
                "a member naming the run",
                cand(101, 100, 5100, Some("20250109_123456-00ff")),
                "b1",
                true,
            ),
            (
                "a setsid child naming the run",
                cand(200, 200, 5200, Some("20250109_123456-00ff")),
                "b1",
                true,
            ),
            (
                "a stranger in a reused group",
                cand(102, 100, 9100, None),
                "b1",
                false,
            ),
            (
                "another run's step",
                cand(103, 103, 5000, Some("20250109_999999")),
                "b1",
                false,
            ),
            (
                "the leader after a reboot",
                cand(100, 100, 5000, None),
                "b2",
                false,
            ),
        ];
        for (what, c, boot, want) in cases {
            let got = !survivors(std::slice::from_ref(&rec), &[c], boot).is_empty();
            assert_eq!(got, want, "{what}");
        }
        let mut zombie = cand(100, 100, 5000, None);
        zombie.info.state = 'Z';
        assert!(survivors(&[rec], &[zombie], "b1").is_empty());
    }
}
