//! Process-group control: terminate a step's whole tree, and reap what
//! escaped it (daemons that called `setsid` are re-parented to us because the
//! agent is a child subreaper).

use std::time::{Duration, Instant};

/// Makes this process a child subreaper, so orphans of the steps' processes
/// (e.g. daemons started with `setsid`) are re-parented to us rather than to
/// init and can be found and killed when the iteration ends.
pub fn become_subreaper() -> bool {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes plain integers.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
}

/// Sends `signal` to process group `pgid`. Returns false if the group is gone.
pub fn signal_group(pgid: i32, signal: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg with a positive group id and a valid signal number.
    unsafe { libc::killpg(pgid, signal) == 0 }
}

/// Whether any process is left in group `pgid`.
pub fn group_alive(pgid: i32) -> bool {
    // Signal 0 checks existence. Zombies still count until reaped, so also
    // look at /proc for a live (non-zombie) member.
    if !signal_group(pgid, 0) {
        return false;
    }
    list_processes()
        .iter()
        .any(|p| p.pgid == pgid && p.state != 'Z')
}

/// SIGTERM to the group, up to `grace` for it to go, then SIGKILL.
pub async fn terminate_group(pgid: i32, grace: Duration) {
    if !signal_group(pgid, libc::SIGTERM) {
        return;
    }
    // A stopped process cannot act on SIGTERM.
    signal_group(pgid, libc::SIGCONT);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !group_alive(pgid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    signal_group(pgid, libc::SIGKILL);
}

/// A process as /proc shows it.
#[derive(Debug, Clone, Copy)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub pgid: i32,
    pub state: char,
    /// Clock ticks after boot when the process started: with the pid, it
    /// names one process for the life of the machine (pids are reused).
    pub start_ticks: u64,
}

/// Every process visible in /proc.
pub fn list_processes() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .collect()
}

fn read_stat(pid: i32) -> Option<ProcInfo> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgid = fields.next()?.parse().ok()?;
    // `starttime` is field 22 of stat(5); `pgrp` (just read) is field 5.
    let start_ticks = fields.nth(16)?.parse().ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        pgid,
        state,
        start_ticks,
    })
}

/// One process's stat, when it exists.
pub fn process(pid: i32) -> Option<ProcInfo> {
    read_stat(pid)
}

fn orphans() -> Vec<ProcInfo> {
    let me = std::process::id() as i32;
    list_processes()
        .into_iter()
        .filter(|p| p.ppid == me)
        .collect()
}

/// SIGKILLs every process re-parented to us, at once, without reaping (the
/// agent is about to exit: a second Ctrl-C).
pub fn kill_orphans_now() {
    for p in orphans() {
        // SAFETY: plain kill/killpg on pids we just read.
        unsafe {
            if p.pgid == p.pid {
                libc::killpg(p.pgid, libc::SIGKILL);
            }
            libc::kill(p.pid, libc::SIGKILL);
        }
    }
}

/// Kills every process re-parented to us (the steps' own children have all
/// been waited for by now), with their groups, and reaps them. Returns how
/// many were killed. Loops because killing a daemon re-parents its children
/// to us.
pub async fn reap_orphans() -> usize {
    let mut killed = 0;
    for _ in 0..20 {
        let orphans = orphans();
        if orphans.is_empty() {
            break;
        }
        for p in &orphans {
            if p.state != 'Z' {
                killed += 1;
                // SAFETY: plain kill/killpg on pids we just read.
                unsafe {
                    if p.pgid == p.pid {
                        libc::killpg(p.pgid, libc::SIGKILL);
                    }
                    libc::kill(p.pid, libc::SIGKILL);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        for p in &orphans {
            // SAFETY: waitpid on a specific pid that is not one tokio tracks
            // (it is an orphan re-parented to us), so no status is stolen.
            unsafe {
                let mut status = 0;
                libc::waitpid(p.pid, &mut status, libc::WNOHANG);
            }
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_stat() {
        let me = std::process::id() as i32;
        let info = read_stat(me).unwrap();
        assert_eq!(info.pid, me);
        assert!(info.ppid > 0);
        // A child started after us has a later (or equal) start time.
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let later = read_stat(child.id() as i32).unwrap();
        assert!(later.start_ticks >= info.start_ticks && info.start_ticks > 0);
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
