//! Docker cleanup with bollard, scoped to the pipeline's labels.
//! (Skeleton: the real implementation lands with the Docker cleanup issue.)

use crate::cleanup::CleanupLevel;
use serde::Serialize;
use std::time::Duration;

/// The label scope: `com.docker.compose.project=<project>` AND every extra label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub project: String,
    pub labels: Vec<(String, String)>,
}

/// A Docker resource in the scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    /// container | network | volume | image
    pub kind: String,
    pub name: String,
    pub id: String,
}

/// Options of one cleanup.
#[derive(Debug, Clone, Copy, Default)]
pub struct CleanupOptions {
    /// List only.
    pub dry_run: bool,
    /// Safe mode: keep named volumes unless the level is deep.
    pub keep_named_volumes: bool,
}

/// What a Docker cleanup removed (or, dry, would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DockerCleanup {
    pub containers: u32,
    pub networks: u32,
    pub volumes: u32,
    pub images: u32,
    pub removed: Vec<Resource>,
    pub errors: Vec<String>,
}

/// Docker failures, split by what they mean for the run.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    /// The daemon cannot be reached: counts for the circuit breaker.
    #[error("docker daemon unreachable: {0}")]
    Unreachable(String),
    /// The daemon answered with an error.
    #[error("docker API error: {0}")]
    Api(String),
}

/// A label-scoped Docker client.
pub struct Cleaner {
    pub scope: Scope,
    pub stop_timeout: Duration,
}

impl Cleaner {
    /// Connects (honouring `DOCKER_HOST`) and checks the daemon answers.
    pub async fn connect(scope: Scope, stop_timeout: Duration) -> Result<Cleaner, DockerError> {
        let _ = (scope, stop_timeout);
        Err(DockerError::Unreachable(
            "docker cleanup is not built yet".into(),
        ))
    }

    /// Pings the daemon.
    pub async fn ping(&self) -> Result<(), DockerError> {
        Err(DockerError::Unreachable(
            "docker cleanup is not built yet".into(),
        ))
    }

    /// Removes (or lists) the scope's resources at `level`.
    pub async fn cleanup(
        &self,
        level: CleanupLevel,
        opts: CleanupOptions,
    ) -> Result<DockerCleanup, DockerError> {
        let _ = (level, opts);
        Err(DockerError::Unreachable(
            "docker cleanup is not built yet".into(),
        ))
    }

    /// Whether the project's container `name` is running (and healthy, if asked).
    pub async fn container_ready(&self, name: &str, healthy: bool) -> Result<bool, DockerError> {
        let _ = (name, healthy);
        Ok(false)
    }
}
