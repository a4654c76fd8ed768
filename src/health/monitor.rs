//! Sampling: a tokio task that reads CPU, memory and disk (sysinfo,
//! statvfs) and asks an injected probe whether Docker answers.

use super::{summarize, AutomationHealth, DiskUsage, HealthSample, Reading};
use crate::recovery::with_timeout;
use futures_util::FutureExt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use sysinfo::System;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Answers whether the Docker daemon is reachable (e.g. a bollard ping).
pub type DockerProbe = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + Sync>;

/// Samples kept at most; the oldest go first.
const MAX_SAMPLES: usize = 4096;
/// Restarts of a dead sampling task per run; a task that keeps dying (a
/// probe that panics every time) is then left dead.
pub const MAX_RESTARTS: u32 = 3;

/// A sampling task found dead by `HealthMonitor::revive`.
#[derive(Debug, Clone, PartialEq)]
pub struct Revival {
    /// What ended the task.
    pub cause: String,
    /// Whether a new task was started (false once `MAX_RESTARTS` are spent).
    pub restarted: bool,
    /// `task_samples()` when the new task started: it produced a sample
    /// once the count is past this.
    pub mark: u64,
}

/// What to watch and how often.
#[derive(Clone)]
pub struct HealthConfig {
    /// Time between samples (halved in safe mode).
    pub interval: Duration,
    pub safe_mode: bool,
    /// Paths whose file systems are watched.
    pub disk_paths: Vec<PathBuf>,
    pub docker_probe: Option<DockerProbe>,
    /// A probe that takes longer counts as unreachable.
    pub probe_timeout: Duration,
}

impl std::fmt::Debug for HealthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthConfig")
            .field("interval", &self.interval)
            .field("safe_mode", &self.safe_mode)
            .field("disk_paths", &self.disk_paths)
            .field("docker_probe", &self.docker_probe.is_some())
            .field("probe_timeout", &self.probe_timeout)
            .finish()
    }
}

impl HealthConfig {
    /// Every 5 s; the report directory and, if it exists, `/var/lib/docker`.
    pub fn new(report_dir: &Path) -> HealthConfig {
        let mut disk_paths = vec![report_dir.to_path_buf()];
        let docker_root = Path::new("/var/lib/docker");
        if docker_root.exists() {
            disk_paths.push(docker_root.to_path_buf());
        }
        HealthConfig {
            interval: Duration::from_secs(5),
            safe_mode: false,
            disk_paths,
            docker_probe: None,
            probe_timeout: Duration::from_secs(2),
        }
    }

    /// The interval in force: safe mode samples twice as often.
    pub fn effective_interval(&self) -> Duration {
        let i = if self.safe_mode {
            self.interval / 2
        } else {
            self.interval
        };
        i.max(Duration::from_millis(50))
    }
}

struct Shared {
    /// None when sysinfo could not start on this platform: samples then
    /// carry disk and Docker figures only.
    system: Mutex<Option<System>>,
    samples: Mutex<Vec<HealthSample>>,
    cfg: HealthConfig,
    /// The last system reading that came back in time: what a sample says
    /// while a read hangs.
    last_reading: Mutex<Option<Reading>>,
    /// A system read is running (maybe hung): no second one is started
    /// beside it, so a hung statvfs holds one blocking thread, not one per
    /// sample.
    reading: AtomicBool,
    /// Samples the background task took (not `sample_now`'s): whether a
    /// restarted task works.
    task_samples: AtomicU64,
}

/// Samples health in the background for the length of a run.
pub struct HealthMonitor {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    restarts: u32,
}

impl HealthMonitor {
    /// Starts sampling now (first sample right away). Needs a tokio runtime.
    pub fn start(cfg: HealthConfig) -> HealthMonitor {
        let system = match System::new() {
            Ok(mut system) => {
                // CPU usage is a difference between two refreshes: prime the first.
                system.refresh_cpu_usage();
                Some(system)
            }
            Err(e) => {
                tracing::warn!("health: cannot read cpu and memory figures here: {e}");
                None
            }
        };
        let shared = Arc::new(Shared {
            system: Mutex::new(system),
            samples: Mutex::new(Vec::new()),
            cfg,
            last_reading: Mutex::new(None),
            reading: AtomicBool::new(false),
            task_samples: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let task = spawn_sampler(shared.clone(), stopped);
        HealthMonitor {
            shared,
            stop,
            task: Some(task),
            restarts: 0,
        }
    }

    /// Restarts the sampling task if it died (a panic in a probe, say) while
    /// the run still wants samples, at most `MAX_RESTARTS` times a run; says
    /// what ended it. Sampling goes on with the samples taken so far.
    pub fn revive(&mut self) -> Option<Revival> {
        if *self.stop.borrow() || !self.task.as_ref()?.is_finished() {
            return None;
        }
        let ended = self.task.take()?.now_or_never();
        let cause = match ended {
            Some(Err(e)) if e.is_panic() => {
                let panic = e.into_panic();
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                format!("sampling task panicked: {text}")
            }
            Some(Err(e)) => format!("sampling task ended: {e}"),
            _ => "sampling task ended on its own".to_string(),
        };
        let mark = self.task_samples();
        let restarted = self.restarts < MAX_RESTARTS;
        if restarted {
            self.restarts += 1;
            self.task = Some(spawn_sampler(self.shared.clone(), self.stop.subscribe()));
        }
        Some(Revival {
            cause,
            restarted,
            mark,
        })
    }

    /// Samples the background task has taken so far.
    pub fn task_samples(&self) -> u64 {
        self.shared.task_samples.load(Ordering::Acquire)
    }

    /// The last sample taken, for the per-cycle `health` field.
    pub fn latest(&self) -> Option<HealthSample> {
        lock(&self.shared.samples).last().cloned()
    }

    /// Samples taken at or after `since` (e.g. during one step).
    pub fn samples_since(&self, since: Instant) -> Vec<HealthSample> {
        lock(&self.shared.samples)
            .iter()
            .filter(|s| s.taken_at >= since)
            .cloned()
            .collect()
    }

    /// Takes a sample now (e.g. before an iteration, to catch a full disk)
    /// and keeps it with the others.
    pub async fn sample_now(&self) -> HealthSample {
        let sample = take_sample(&self.shared).await;
        push(&self.shared, sample.clone());
        sample
    }

    /// Stops sampling and sums the run up.
    pub async fn finish(mut self) -> AutomationHealth {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if lock(&self.shared.samples).is_empty() {
            self.sample_now().await;
        }
        summarize(&lock(&self.shared.samples))
    }
}

impl Drop for HealthMonitor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The background loop: a sample every interval until told to stop.
fn spawn_sampler(s: Arc<Shared>, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(s.cfg.effective_interval());
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    let sample = take_sample(&s).await;
                    push(&s, sample);
                    s.task_samples.fetch_add(1, Ordering::AcqRel);
                }
                _ = stopped.changed() => break,
            }
        }
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn push(shared: &Shared, sample: HealthSample) {
    tracing::debug!(
        "health sample: cpu {:.0} % busy, memory {:.0} % used, score {:.0}{}",
        sample.cpu_percent,
        sample.memory_percent,
        sample.overall_score,
        if sample.alerts.is_empty() {
            String::new()
        } else {
            format!(", alerts: {}", sample.alerts.join("; "))
        }
    );
    let mut samples = lock(&shared.samples);
    if samples.len() >= MAX_SAMPLES {
        samples.remove(0);
    }
    samples.push(sample);
}

async fn take_sample(shared: &Arc<Shared>) -> HealthSample {
    let taken_at = Instant::now();
    let reading = read_system_bounded(shared).await;
    let docker_reachable = match &shared.cfg.docker_probe {
        None => None,
        // A hung daemon must not stall sampling: the probe is bounded.
        Some(probe) => Some(
            with_timeout(shared.cfg.probe_timeout, "docker ping", probe())
                .await
                .unwrap_or(false),
        ),
    };
    HealthSample::from_reading(
        Reading {
            docker_reachable,
            ..reading
        },
        taken_at,
    )
}

/// A system reading, bounded by the probe timeout: sysinfo and statvfs
/// block (a stale network mount can hang statvfs), and a hung read must not
/// stall `check_disk`, `finish()` or Ctrl-C. While a read is late or still
/// hung, the last reading that came back stands in (none yet: an empty one,
/// with no disk figures, so nothing is judged critical on a guess).
async fn read_system_bounded(shared: &Arc<Shared>) -> Reading {
    let fallback = || lock(&shared.last_reading).clone().unwrap_or_default();
    if shared.reading.swap(true, Ordering::AcqRel) {
        tracing::debug!("health: the previous system reading has not returned; using the last one");
        return fallback();
    }
    let s = shared.clone();
    let read = tokio::task::spawn_blocking(move || {
        let r = read_system(&s);
        *lock(&s.last_reading) = Some(r.clone());
        s.reading.store(false, Ordering::Release);
        r
    });
    match with_timeout(shared.cfg.probe_timeout, "system reading", read).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => {
            // The read panicked: the flag was not cleared by it.
            shared.reading.store(false, Ordering::Release);
            fallback()
        }
        Err(e) => {
            tracing::warn!("health: {e}; using the last reading");
            fallback()
        }
    }
}

fn read_system(shared: &Shared) -> Reading {
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    let disks = shared
        .cfg
        .disk_paths
        .iter()
        .filter_map(|p| disk_usage(p).ok())
        .collect();
    let mut guard = lock(&shared.system);
    let Some(sys) = guard.as_mut() else {
        return Reading {
            disks,
            ..Reading::default()
        };
    };
    sys.refresh_cpu_usage();
    sys.refresh_memory();
    let (total, used) = match sys.cgroup_limits() {
        // Inside a container with a memory limit, the limit is what counts.
        Some(cg) if cg.total_memory > 0 && cg.total_memory < sys.total_memory() => {
            (cg.total_memory, cg.rss)
        }
        _ => (sys.total_memory(), sys.used_memory()),
    };
    Reading {
        cpu_percent: f64::from(sys.global_cpu_usage()),
        memory_percent: if total > 0 {
            used as f64 * 100.0 / total as f64
        } else {
            0.0
        },
        memory_used_mb: mb(used),
        memory_total_mb: mb(total),
        disks,
        docker_reachable: None,
    }
}

/// Usage of the file system holding `path` (or its nearest existing
/// ancestor, so a report directory not created yet still counts), as `df`
/// computes it: used / (used + available to unprivileged users).
///
/// statvfs on the path itself rather than matching sysinfo's mount list:
/// it is exact for bind mounts and overlays, where prefix matching is not.
pub fn disk_usage(path: &Path) -> std::io::Result<DiskUsage> {
    let existing = path
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let c = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: statvfs writes into a zeroed struct we own; the path is a
    // valid NUL-terminated string for the duration of the call.
    let st = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        st
    };
    let frsize = st.f_frsize as u64;
    let total = st.f_blocks as u64 * frsize;
    let free = st.f_bfree as u64 * frsize;
    let avail = st.f_bavail as u64 * frsize;
    let used = total.saturating_sub(free);
    let denom = used + avail;
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    Ok(DiskUsage {
        path: path.display().to_string(),
        used_percent: if denom > 0 {
            used as f64 * 100.0 / denom as f64
        } else {
            0.0
        },
        available_mb: mb(avail),
        total_mb: mb(total),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hung_system_read_does_not_stall_a_sample() {
        let mut cfg = HealthConfig::new(Path::new("."));
        cfg.interval = Duration::from_secs(3600);
        cfg.probe_timeout = Duration::from_millis(200);
        let monitor = HealthMonitor::start(cfg);
        let good = monitor.sample_now().await;
        // A read that hangs: the system stays locked for a while.
        let shared = monitor.shared.clone();
        let (held, is_held) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _sys = lock(&shared.system);
            held.send(()).unwrap();
            std::thread::sleep(Duration::from_secs(3));
        });
        is_held.recv().unwrap();
        for _ in 0..3 {
            let started = Instant::now();
            let stale = tokio::time::timeout(Duration::from_secs(2), monitor.sample_now())
                .await
                .expect("a sample waited on a hung read");
            assert!(started.elapsed() < Duration::from_secs(1));
            // The last reading stands in, not an empty one.
            assert_eq!(stale.disks.len(), good.disks.len());
            assert!(!stale.disks.is_empty());
        }
        let health = tokio::time::timeout(Duration::from_secs(2), monitor.finish())
            .await
            .expect("finish waited on a hung read");
        assert!(health.overall_score > 0.0);
        holder.join().unwrap();
    }
}
