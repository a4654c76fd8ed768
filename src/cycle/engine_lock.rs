//! The Docker project's lock, kept where the project lives: in its engine.
//! Runs from other checkouts, other `$TMPDIR`s or other containers sharing
//! one `docker.sock` see the same engine, where a file lock cannot reach.
//!
//! The lock is a volume named after a hash of the project. Creating a volume
//! is atomic in the engine and idempotent: a second create of the same name
//! returns the existing volume with its first labels, so whoever finds its
//! own owner token in the answer holds the lock. Volume labels cannot change,
//! so the holder's heartbeat is a small volume per beat (`..-beat-<secs>`),
//! the previous one removed. A lock whose newest beat is older than [`TTL`],
//! or whose holder is a process of this machine's pid namespace that is gone,
//! is stale and taken over (removed, created again, checked once more after
//! a pause, since two contenders may race for it).

use super::lock::LockError;
use bollard::models::VolumeCreateRequest;
use bollard::Docker;
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A lock with no heartbeat for this long is stale.
pub const TTL: Duration = Duration::from_secs(60);
/// How often the holder beats.
const BEAT: Duration = Duration::from_secs(15);
/// How long a fresh takeover waits before checking it still holds.
const SETTLE: Duration = Duration::from_millis(500);

const OWNER: &str = "io.auto-etl.lock.owner";
const PROJECT: &str = "io.auto-etl.lock.project";
const HOLDER: &str = "io.auto-etl.lock.holder";
const PROCESS: &str = "io.auto-etl.lock.process";
const SINCE: &str = "io.auto-etl.lock.since";
const BEAT_OF: &str = "io.auto-etl.lock.beat-of";
const BEAT_AT: &str = "io.auto-etl.lock.beat-at";

/// A held engine lock; [`EngineLock::release`] gives it back.
pub struct EngineLock {
    docker: Docker,
    /// The lock volume's name.
    pub name: String,
    token: String,
    beat: tokio::task::JoinHandle<()>,
}

/// Whether a lock found held is still live. Pure.
#[derive(Debug, PartialEq, Eq)]
pub enum Judgement {
    Live { age_secs: u64 },
    Stale(String),
}

/// The lock volume's name for `project`: a hash, so any name fits.
pub fn volume_name(project: &str) -> String {
    format!("auto-etl-lock-{}", super::lock::short_hash(project))
}

/// `boot:pidns:pid:start` of this process: with it a contender in the same
/// pid namespace can tell a dead holder without waiting for [`TTL`].
fn process_id() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let ns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let pid = std::process::id() as i32;
    let start = crate::orchestrator::procs::process(pid).map_or(0, |p| p.start_ticks);
    format!("{}:{ns}:{pid}:{start}", boot.trim())
}

/// `(boot:pidns, pid, start)` of a [`process_id`] (the namespace itself
/// holds a colon, so it is split from the right).
fn split_id(id: &str) -> Option<(&str, i32, u64)> {
    let mut parts = id.rsplitn(3, ':');
    let start = parts.next()?.parse().ok()?;
    let pid = parts.next()?.parse().ok()?;
    Some((parts.next()?, pid, start))
}

/// Whether the process `id` (from [`process_id`]) is known dead: same boot
/// and pid namespace as ours, and no process with that pid and start time.
fn known_dead(id: &str) -> bool {
    let mine = process_id();
    let (Some((place, pid, start)), Some((my_place, _, _))) = (split_id(id), split_id(&mine))
    else {
        return false;
    };
    if place != my_place || place.is_empty() {
        return false;
    }
    !crate::orchestrator::procs::process(pid)
        .is_some_and(|p| p.start_ticks == start && p.state != 'Z')
}

/// Judges a held lock from its newest beat (unix seconds) and whether its
/// holder is known dead. Pure.
pub fn judge(latest_beat: u64, now: u64, holder_dead: bool) -> Judgement {
    let age = now.saturating_sub(latest_beat);
    if holder_dead {
        Judgement::Stale("its holder is no longer running".into())
    } else if age > TTL.as_secs() {
        Judgement::Stale(format!("no heartbeat for {age}s"))
    } else {
        Judgement::Live { age_secs: age }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A client for the engine at `DOCKER_HOST` (or the default socket), or
/// None when none answers within a few seconds.
pub async fn connect() -> Option<Docker> {
    let host = std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into());
    let docker = if host.starts_with("unix://") {
        Docker::connect_with_unix(&host, 10, bollard::API_DEFAULT_VERSION).ok()?
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        Docker::connect_with_http(&host, 10, bollard::API_DEFAULT_VERSION).ok()?
    } else {
        return None;
    };
    let docker = tokio::time::timeout(Duration::from_secs(3), docker.negotiate_version())
        .await
        .ok()?
        .ok()?;
    tokio::time::timeout(Duration::from_secs(3), docker.ping())
        .await
        .ok()?
        .ok()?;
    Some(docker)
}

fn engine_err(name: &str, e: bollard::errors::Error) -> LockError {
    LockError::Engine(format!("lock volume {name}: {e}"))
}

/// Takes the engine lock of `project`; `holder` says who we are in the
/// message another run gets (exit 4).
pub async fn acquire(docker: Docker, project: &str, holder: &str) -> Result<EngineLock, LockError> {
    let name = volume_name(project);
    let token = format!("{}-{}", std::process::id(), fastrand::u64(..));
    let labels: HashMap<String, String> = [
        (OWNER, token.as_str()),
        (PROJECT, project),
        (HOLDER, holder),
        (PROCESS, &process_id()),
        (SINCE, &now_secs().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for attempt in 0..3 {
        let v = docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(labels.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| engine_err(&name, e))?;
        let owner = v.labels.get(OWNER).cloned().unwrap_or_default();
        if owner == token {
            if attempt > 0 {
                // Another contender may have judged the same lock stale.
                tokio::time::sleep(SETTLE).await;
                let now = docker
                    .inspect_volume(&name)
                    .await
                    .map_err(|e| engine_err(&name, e))?;
                if now.labels.get(OWNER) != Some(&token) {
                    return Err(held(project, &now.labels, 0));
                }
            }
            prune_dead(&docker, &name).await;
            let beat = tokio::spawn(heartbeat(docker.clone(), name.clone(), token.clone()));
            return Ok(EngineLock {
                docker,
                name,
                token,
                beat,
            });
        }
        let latest = latest_beat(&docker, &v.labels).await;
        let dead = v.labels.get(PROCESS).is_some_and(|p| known_dead(p));
        match judge(latest, now_secs(), dead) {
            Judgement::Live { age_secs } => return Err(held(project, &v.labels, age_secs)),
            Judgement::Stale(why) => {
                // Before the agent log exists: straight to stderr.
                eprintln!("auto-etl: warning: taking over the stale lock of the Docker project `{project}` ({why})");
                remove_if_owned(&docker, &name, &owner).await;
                remove_beats(&docker, &owner).await;
            }
        }
    }
    Err(LockError::Engine(format!(
        "lock volume {name}: still contended after 3 attempts"
    )))
}

fn held(project: &str, labels: &HashMap<String, String>, age: u64) -> LockError {
    LockError::Held {
        pid: labels
            .get(HOLDER)
            .cloned()
            .unwrap_or_else(|| "unknown".into()),
        path: std::path::PathBuf::from(format!("docker volume {}", volume_name(project))),
        what: format!("the Docker project `{project}` (last heartbeat {age}s ago)"),
    }
}

/// The newest beat of the lock with `labels` (its own start when none).
async fn latest_beat(docker: &Docker, labels: &HashMap<String, String>) -> u64 {
    let since = labels.get(SINCE).and_then(|s| s.parse().ok()).unwrap_or(0);
    let Some(owner) = labels.get(OWNER) else {
        return since;
    };
    beats(docker, owner)
        .await
        .into_iter()
        .map(|(_, at)| at)
        .chain([since])
        .max()
        .unwrap_or(since)
}

/// The beat volumes of `owner`: (name, unix seconds).
async fn beats(docker: &Docker, owner: &str) -> Vec<(String, u64)> {
    let filters = HashMap::from([("label".to_string(), vec![format!("{BEAT_OF}={owner}")])]);
    let opts = bollard::query_parameters::ListVolumesOptions {
        filters: Some(filters),
    };
    let Ok(list) = docker.list_volumes(Some(opts)).await else {
        return Vec::new();
    };
    list.volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| {
            let at = v
                .labels
                .get(BEAT_AT)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            (v.name, at)
        })
        .collect()
}

async fn remove_beats(docker: &Docker, owner: &str) {
    for (name, _) in beats(docker, owner).await {
        let _ = docker
            .remove_volume(
                &name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await;
    }
}

/// Removes the lock volume only while `owner` still holds it.
async fn remove_if_owned(docker: &Docker, name: &str, owner: &str) {
    let still = docker
        .inspect_volume(name)
        .await
        .is_ok_and(|v| v.labels.get(OWNER).map(String::as_str) == Some(owner));
    if still {
        let _ = docker
            .remove_volume(name, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await;
    }
}

/// Removes other projects' locks whose holder is known dead (a run of this
/// machine killed with SIGKILL cannot give its lock back), so they do not
/// pile up in the engine. Anyone could take them over; nobody loses a lock.
async fn prune_dead(docker: &Docker, ours: &str) {
    let filters = HashMap::from([("label".to_string(), vec![OWNER.to_string()])]);
    let opts = bollard::query_parameters::ListVolumesOptions {
        filters: Some(filters),
    };
    let Ok(list) = docker.list_volumes(Some(opts)).await else {
        return;
    };
    for v in list.volumes.unwrap_or_default() {
        let dead = v.labels.get(PROCESS).is_some_and(|p| known_dead(p));
        if v.name != ours && dead {
            if let Some(owner) = v.labels.get(OWNER) {
                remove_if_owned(docker, &v.name, owner).await;
                remove_beats(docker, owner).await;
            }
        }
    }
}

/// Beats every [`BEAT`]: a new beat volume, then the previous one removed,
/// so there is always one to read.
async fn heartbeat(docker: Docker, lock: String, token: String) {
    let mut previous: Option<String> = None;
    loop {
        tokio::time::sleep(BEAT).await;
        let at = now_secs();
        let name = format!("{lock}-beat-{at}");
        let labels = HashMap::from([
            (BEAT_OF.to_string(), token.clone()),
            (BEAT_AT.to_string(), at.to_string()),
        ]);
        let made = docker
            .create_volume(VolumeCreateRequest {
                name: Some(name.clone()),
                labels: Some(labels),
                ..Default::default()
            })
            .await;
        match made {
            Ok(_) => {
                if let Some(p) = previous.replace(name) {
                    let _ = docker
                        .remove_volume(&p, None::<bollard::query_parameters::RemoveVolumeOptions>)
                        .await;
                }
            }
            Err(e) => tracing::warn!("cannot renew the Docker project lock {lock}: {e}"),
        }
    }
}

impl EngineLock {
    /// Stops the heartbeat and removes the lock (if still ours) and beats.
    pub async fn release(self) {
        self.beat.abort();
        remove_if_owned(&self.docker, &self.name, &self.token).await;
        remove_beats(&self.docker, &self.token).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_stale_only_without_a_beat_for_the_ttl_or_with_a_dead_holder() {
        let cases = [
            (1000, 1000, false, Judgement::Live { age_secs: 0 }),
            (1000, 1060, false, Judgement::Live { age_secs: 60 }),
            (
                1000,
                1061,
                false,
                Judgement::Stale("no heartbeat for 61s".into()),
            ),
            (
                1000,
                1001,
                true,
                Judgement::Stale("its holder is no longer running".into()),
            ),
            // A clock behind the beat is not a reason to take over.
            (2000, 1000, false, Judgement::Live { age_secs: 0 }),
        ];
        for (beat, now, dead, want) in cases {
            assert_eq!(judge(beat, now, dead), want, "beat {beat} now {now}");
        }
    }

    #[test]
    fn our_own_process_is_not_dead_and_a_gone_pid_is() {
        let me = process_id();
        assert!(!known_dead(&me), "{me}");
        let (place, _) = me.rsplit_once(':').unwrap();
        let (place, _) = place.rsplit_once(':').unwrap();
        assert!(known_dead(&format!("{place}:{}:{}", i32::MAX - 1, 1)));
        // Another pid namespace or boot: unknown, so never judged dead.
        assert!(!known_dead(&format!("other-boot:ns:{}:1", i32::MAX - 1)));
    }
}
