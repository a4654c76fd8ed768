//! Docker cleanup with bollard, scoped to the pipeline's labels: nothing
//! outside `com.docker.compose.project=<project>` (and every extra label) is
//! ever stopped or removed.
//!
//! `scope` decides what belongs to the scope (pure), `remove` removes it
//! (bulkhead, retries), `command` is the `auto-etl cleanup` subcommand.

pub mod command;
mod remove;
pub mod scope;

use crate::cleanup::CleanupLevel;
use bollard::models::{ContainerSummaryStateEnum, HealthStatusEnum};
use bollard::query_parameters::{
    ListContainersOptions, ListImagesOptions, ListNetworksOptions, ListVolumesOptions,
};
use bollard::{Docker, API_DEFAULT_VERSION};
use remove::{to_docker_error, Outcome};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use scope::{PROJECT_LABEL, SERVICE_LABEL};

/// Where the engine is when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";
/// How long the first exchange with the daemon may take: a dead socket or a
/// black-holed TCP address must not hold up the cycle.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

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
    /// Container, network or volume name; an image's tag (`<none>` when untagged).
    pub name: String,
    pub id: String,
}

/// Options of one cleanup.
#[derive(Debug, Clone, Copy, Default)]
pub struct CleanupOptions {
    /// List only.
    pub dry_run: bool,
    /// Keep named volumes at every level (safe mode, data-sensitive steps):
    /// only anonymous volumes go.
    pub keep_named_volumes: bool,
}

/// What a Docker cleanup removed (or, dry, would remove).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DockerCleanup {
    pub containers: u32,
    pub networks: u32,
    pub volumes: u32,
    /// Image references (tags, or ids of untagged images).
    pub images: u32,
    /// In removal order by kind: containers, networks, volumes, images.
    pub removed: Vec<Resource>,
    pub errors: Vec<String>,
    /// Nothing was removed; `removed` is what would have been.
    pub dry_run: bool,
    pub duration_ms: u64,
}

impl DockerCleanup {
    fn record(&mut self, r: Resource) {
        match r.kind.as_str() {
            "container" => self.containers += 1,
            "network" => self.networks += 1,
            "volume" => self.volumes += 1,
            _ => self.images += 1,
        }
        self.removed.push(r);
    }
}

/// A cleanup the engine stopped answering in the middle of: what it had
/// removed by then still counts (the report must not say 0 when 8 went).
#[derive(Debug)]
pub struct Unfinished {
    pub done: DockerCleanup,
    pub error: DockerError,
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
    /// Bounds every request after the first exchange (a force-remove kills at
    /// once, but a loaded engine can be slow to answer).
    pub stop_timeout: Duration,
    /// The engine address in use, for messages.
    pub host: String,
    docker: Docker,
}

/// What one cleanup will remove, by phase.
#[derive(Debug, Default)]
struct Plan {
    containers: Vec<Resource>,
    networks: Vec<Resource>,
    volumes: Vec<Resource>,
    images: Vec<Resource>,
}

impl Cleaner {
    /// Connects (honouring `DOCKER_HOST`) and checks the daemon answers.
    pub async fn connect(scope: Scope, stop_timeout: Duration) -> Result<Cleaner, DockerError> {
        let host = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        Cleaner::connect_to(scope, stop_timeout, &host).await
    }

    /// Connects to `host` (`unix://PATH` or `tcp://HOST:PORT`), negotiates the
    /// API version down to the engine's, within [`CONNECT_TIMEOUT`].
    pub async fn connect_to(
        scope: Scope,
        stop_timeout: Duration,
        host: &str,
    ) -> Result<Cleaner, DockerError> {
        let unreachable = |why: String| DockerError::Unreachable(format!("{host}: {why}"));
        let request_timeout = (stop_timeout + Duration::from_secs(30)).as_secs();
        let docker = if host.starts_with("unix://") {
            Docker::connect_with_unix(host, request_timeout, API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") {
            Docker::connect_with_http(host, request_timeout, API_DEFAULT_VERSION)
        } else {
            return Err(unreachable(
                "unsupported address (use unix:// or tcp://)".into(),
            ));
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let docker = match tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version()).await {
            Err(_) => {
                return Err(unreachable(format!(
                    "no answer within {}s",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                return Err(match to_docker_error(&e) {
                    DockerError::Unreachable(m) => unreachable(m),
                    api => api,
                })
            }
            Ok(Ok(d)) => d,
        };
        Ok(Cleaner {
            scope,
            stop_timeout,
            host: host.to_string(),
            docker,
        })
    }

    /// Pings the daemon.
    pub async fn ping(&self) -> Result<(), DockerError> {
        let what = format!("docker ping of {}", self.host);
        match crate::recovery::with_timeout(CONNECT_TIMEOUT, &what, self.docker.ping()).await {
            Err(timed_out) => Err(DockerError::Unreachable(timed_out.to_string())),
            Ok(r) => r.map(|_| ()).map_err(|e| to_docker_error(&e)),
        }
    }

    /// Lists what [`Cleaner::cleanup`] would remove at `level`, in removal order.
    pub async fn list(
        &self,
        level: CleanupLevel,
        opts: CleanupOptions,
    ) -> Result<Vec<Resource>, DockerError> {
        let plan = self.plan(level, opts).await?;
        Ok([plan.containers, plan.networks, plan.volumes, plan.images].concat())
    }

    /// Removes (or lists) the scope's resources at `level`: containers, then
    /// networks, then volumes, then images, each phase in parallel behind the
    /// bulkhead. Removal failures land in `errors`; an engine that stops
    /// answering is an `Err`.
    pub async fn cleanup(
        &self,
        level: CleanupLevel,
        opts: CleanupOptions,
    ) -> Result<DockerCleanup, DockerError> {
        self.cleanup_counted(level, opts).await.map_err(|u| u.error)
    }

    /// As [`Cleaner::cleanup`], but an engine lost halfway still reports
    /// what it removed before.
    pub async fn cleanup_counted(
        &self,
        level: CleanupLevel,
        opts: CleanupOptions,
    ) -> Result<DockerCleanup, Box<Unfinished>> {
        let start = Instant::now();
        let plan = self.plan(level, opts).await.map_err(|error| {
            Box::new(Unfinished {
                done: DockerCleanup::default(),
                error,
            })
        })?;
        let mut out = DockerCleanup {
            dry_run: opts.dry_run,
            ..DockerCleanup::default()
        };
        for phase in [plan.containers, plan.networks, plan.volumes, plan.images] {
            if opts.dry_run {
                phase.into_iter().for_each(|r| out.record(r));
                continue;
            }
            let mut removed = Vec::new();
            let mut lost = None;
            for outcome in remove::remove_all(&self.docker, phase).await {
                match outcome {
                    Outcome::Removed(r) => removed.push(r),
                    Outcome::Failed(why) => out.errors.push(why),
                    Outcome::Unreachable(m) => lost = Some(m),
                }
            }
            removed.sort_by(|a, b| a.name.cmp(&b.name));
            removed.into_iter().for_each(|r| out.record(r));
            if let Some(m) = lost {
                out.duration_ms = start.elapsed().as_millis() as u64;
                let error = DockerError::Unreachable(format!("{}: {m}", self.host));
                return Err(Box::new(Unfinished { done: out, error }));
            }
        }
        out.duration_ms = start.elapsed().as_millis() as u64;
        Ok(out)
    }

    /// Whether the project's container `name` (compose service name or
    /// container name) is running, and if `healthy`, reports healthy. A
    /// container without a health check is never healthy.
    pub async fn container_ready(&self, name: &str, healthy: bool) -> Result<bool, DockerError> {
        let running = self
            .list_containers(Some(self.scope.filters()), false)
            .await?;
        let found = running.iter().find(|c| {
            let labels = c.labels.as_ref();
            let service = labels
                .and_then(|l| l.get(SERVICE_LABEL))
                .map(String::as_str);
            let names = c.names.iter().flatten().map(|n| n.trim_start_matches('/'));
            labels.is_some_and(|l| self.scope.matches(l))
                && c.state == Some(ContainerSummaryStateEnum::RUNNING)
                && (service == Some(name) || names.into_iter().any(|n| n == name))
        });
        let Some(container) = found else {
            return Ok(false);
        };
        if !healthy {
            return Ok(true);
        }
        let id = container.id.as_deref().unwrap_or(name);
        let inspect = match self
            .docker
            .inspect_container(
                id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        {
            Ok(i) => i,
            Err(e) if remove::classify(&e) == remove::Failure::Gone => return Ok(false),
            Err(e) => return Err(to_docker_error(&e)),
        };
        let status = inspect.state.and_then(|s| s.health).and_then(|h| h.status);
        Ok(status == Some(HealthStatusEnum::HEALTHY))
    }

    async fn plan(&self, level: CleanupLevel, opts: CleanupOptions) -> Result<Plan, DockerError> {
        let filters = self.scope.filters();
        let deep = level == CleanupLevel::Deep;
        let scoped = self.list_containers(Some(filters.clone()), true).await?;
        // At deep the whole listing is needed: for the prefixed containers that
        // lost their labels, and for the mounts of everything to be removed.
        let all = if deep {
            self.list_containers(None, true).await?
        } else {
            Vec::new()
        };
        let mut plan = Plan {
            containers: scope::select_containers(&self.scope, level, &scoped, &all),
            ..Plan::default()
        };
        if deep {
            plan.volumes = scope::anonymous_volumes(&all, &plan.containers);
        }
        if level >= CleanupLevel::Standard {
            let networks = self
                .docker
                .list_networks(Some(ListNetworksOptions {
                    filters: Some(filters.clone()),
                }))
                .await
                .map_err(|e| to_docker_error(&e))?;
            plan.networks = scope::select_networks(&self.scope, &networks);
            let volumes = self
                .docker
                .list_volumes(Some(ListVolumesOptions {
                    filters: Some(filters.clone()),
                }))
                .await
                .map_err(|e| to_docker_error(&e))?
                .volumes
                .unwrap_or_default();
            for v in scope::select_volumes(&self.scope, &volumes, opts.keep_named_volumes) {
                if !plan.volumes.iter().any(|p| p.name == v.name) {
                    plan.volumes.push(v);
                }
            }
        }
        if deep {
            let images = self
                .docker
                .list_images(Some(ListImagesOptions::default()))
                .await
                .map_err(|e| to_docker_error(&e))?;
            plan.images = scope::select_images(&self.scope, &images);
        }
        for phase in [
            &mut plan.containers,
            &mut plan.networks,
            &mut plan.volumes,
            &mut plan.images,
        ] {
            phase.sort_by(|a, b| a.name.cmp(&b.name));
        }
        Ok(plan)
    }

    async fn list_containers(
        &self,
        filters: Option<HashMap<String, Vec<String>>>,
        all: bool,
    ) -> Result<Vec<bollard::models::ContainerSummary>, DockerError> {
        let opts = ListContainersOptions {
            all,
            filters,
            ..ListContainersOptions::default()
        };
        self.docker
            .list_containers(Some(opts))
            .await
            .map_err(|e| to_docker_error(&e))
    }
}
