//! Removing resources: a bounded number in flight (the recovery bulkhead),
//! "already gone" counted as done, conflicts retried briefly with backoff.

use super::scope::UNTAGGED;
use super::{DockerError, Resource};
use crate::backoff::{Backoff, Jitter};
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{RemoveContainerOptions, RemoveImageOptions, RemoveVolumeOptions};
use bollard::Docker;
use futures_util::stream::{self, StreamExt};
use std::time::Duration;

/// Removals in flight at once. The engine serialises much of a removal
/// internally; past a handful in parallel it only queues them.
pub const BULKHEAD: usize = 8;
/// Retries of a 409 (removal in progress, endpoints still attached, in use).
const CONFLICT_RETRIES: u32 = 5;
/// Waits after a conflict: 50ms doubling to 800ms (~1.5s in all), no jitter
/// (the removals in flight are ours; nothing else is thundering).
const CONFLICT_BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(50),
    multiplier: 2.0,
    max: Duration::from_millis(800),
    jitter: Jitter::None,
};

/// What an engine error means for a removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 404: the resource is already gone.
    Gone,
    /// 409: something else holds it for now.
    Conflict(String),
    /// The daemon did not answer.
    Unreachable(String),
    /// Any other error the daemon returned.
    Api(String),
}

/// Sorts a bollard error into what it means for us.
pub fn classify(e: &BollardError) -> Failure {
    match e {
        BollardError::DockerResponseServerError {
            status_code: 404, ..
        } => Failure::Gone,
        BollardError::DockerResponseServerError {
            status_code: 409,
            message,
        } => Failure::Conflict(message.clone()),
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => Failure::Api(format!("status {status_code}: {message}")),
        BollardError::RequestTimeoutError
        | BollardError::IOError { .. }
        | BollardError::HyperResponseError { .. }
        | BollardError::HyperLegacyError { .. }
        | BollardError::SocketNotFoundError(_) => Failure::Unreachable(e.to_string()),
        other => Failure::Api(other.to_string()),
    }
}

/// Turns a bollard error into the module's error.
pub fn to_docker_error(e: &BollardError) -> DockerError {
    match classify(e) {
        Failure::Unreachable(m) => DockerError::Unreachable(m),
        Failure::Gone => DockerError::Api(format!("not found: {e}")),
        Failure::Conflict(m) | Failure::Api(m) => DockerError::Api(m),
    }
}

/// How one removal ended.
#[derive(Debug)]
pub enum Outcome {
    Removed(Resource),
    Failed(String),
    Unreachable(String),
}

/// Removes `resources`, at most [`BULKHEAD`] at once, in no particular order.
/// The bulkhead is the stream's own bound: a removal starts only when one in
/// flight finishes, so a scope of thousands is never queued at the engine.
pub async fn remove_all(docker: &Docker, resources: Vec<Resource>) -> Vec<Outcome> {
    in_bulkhead(resources, |r| remove_one(docker, r)).await
}

/// Runs `op` on every item, never more than [`BULKHEAD`] at once; results in
/// completion order.
async fn in_bulkhead<T, F, Fut>(items: Vec<T>, op: F) -> Vec<Fut::Output>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future,
{
    stream::iter(items)
        .map(op)
        .buffer_unordered(BULKHEAD)
        .collect()
        .await
}

async fn remove_one(docker: &Docker, resource: Resource) -> Outcome {
    let mut attempt = 0;
    loop {
        let Err(e) = request(docker, &resource).await else {
            return Outcome::Removed(resource);
        };
        match classify(&e) {
            Failure::Gone => return Outcome::Removed(resource),
            Failure::Unreachable(m) => return Outcome::Unreachable(m),
            Failure::Conflict(m) if attempt < CONFLICT_RETRIES => {
                // Engines that refuse to force-remove a paused container
                // want it unpaused first; the next attempt then kills it.
                if resource.kind == "container" && m.contains("paused") {
                    let _ = docker.unpause_container(&resource.id).await;
                }
                tracing::debug!(kind = %resource.kind, name = %resource.name, "conflict, retrying: {m}");
                tokio::time::sleep(CONFLICT_BACKOFF.delay(attempt, 0.0)).await;
                attempt += 1;
            }
            Failure::Conflict(m) | Failure::Api(m) => {
                let why = format!(
                    "cannot remove {} {} ({}): {m}",
                    resource.kind,
                    resource.name,
                    short(&resource.id)
                );
                return Outcome::Failed(why);
            }
        }
    }
}

/// One removal request. Containers are force-removed: the engine kills them
/// (SIGKILL) and removes them in one call, with no graceful stop — the
/// pipeline is being reset, nothing in it is worth a shutdown grace period.
async fn request(docker: &Docker, r: &Resource) -> Result<(), BollardError> {
    match r.kind.as_str() {
        "container" => {
            let opts = RemoveContainerOptions {
                force: true,
                v: false,
                link: false,
            };
            docker.remove_container(&r.id, Some(opts)).await
        }
        "network" => docker.remove_network(&r.id).await,
        "volume" => {
            docker
                .remove_volume(&r.name, Some(RemoveVolumeOptions { force: false }))
                .await
        }
        "image" => {
            // A tag is removed by name so only that reference goes; an image
            // left with no tag is removed by id. Never forced: an image still
            // used by a container outside the scope must stay.
            let target = if r.name == UNTAGGED { &r.id } else { &r.name };
            let opts = RemoveImageOptions {
                force: false,
                noprune: false,
                platforms: None,
            };
            docker
                .remove_image(target, Some(opts), None)
                .await
                .map(|_| ())
        }
        other => Err(BollardError::UnsupportedURISchemeError {
            uri: format!("unknown resource kind {other}"),
        }),
    }
}

/// The first 12 characters of an id, as the docker CLI shows it.
pub fn short(id: &str) -> &str {
    let id = id.trim_start_matches("sha256:");
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(status_code: u16, message: &str) -> BollardError {
        BollardError::DockerResponseServerError {
            status_code,
            message: message.into(),
        }
    }

    #[test]
    fn errors_sort_into_what_they_mean() {
        assert_eq!(classify(&server(404, "no such container")), Failure::Gone);
        assert_eq!(
            classify(&server(409, "removal in progress")),
            Failure::Conflict("removal in progress".into())
        );
        assert!(matches!(classify(&server(500, "boom")), Failure::Api(_)));
        assert!(matches!(
            classify(&BollardError::RequestTimeoutError),
            Failure::Unreachable(_)
        ));
        assert!(matches!(
            classify(&BollardError::SocketNotFoundError("/x.sock".into())),
            Failure::Unreachable(_)
        ));
        assert!(matches!(
            to_docker_error(&BollardError::RequestTimeoutError),
            DockerError::Unreachable(_)
        ));
    }

    #[tokio::test]
    async fn the_bulkhead_bounds_removals_in_flight_and_drops_none() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let mut done = in_bulkhead((0..100).collect(), |n: u32| {
            let (now, peak) = (&now, &peak);
            async move {
                let inside = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(inside, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                n * 2
            }
        })
        .await;
        done.sort_unstable();
        assert_eq!(done, (0..100).map(|n| n * 2).collect::<Vec<u32>>());
        assert_eq!(peak.load(Ordering::SeqCst), BULKHEAD);
    }

    #[test]
    fn short_ids() {
        assert_eq!(short("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(short("abc"), "abc");
    }
}
