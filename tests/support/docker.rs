//! Docker fixtures for the integration tests: a uniquely named compose
//! project whose resources are made with the `docker` CLI and removed again
//! by a Drop guard, whatever the test did.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The local test image (`scripts/test-image.sh` builds it; no registry needed).
pub const IMAGE: &str = "auto-etl-test/busybox:latest";
/// The label compose puts on a project's resources.
pub const PROJECT_LABEL: &str = "com.docker.compose.project";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ci() -> bool {
    ["CI", "GITHUB_ACTIONS", "GITLAB_CI"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.is_empty() && v != "false" && v != "0"))
}

/// Whether an engine answers and the test image is there (built on first use).
/// Without an engine: under CI the test fails; elsewhere it is skipped with a
/// note on stderr.
pub fn available() -> bool {
    static STATE: OnceLock<Result<(), String>> = OnceLock::new();
    let state = STATE.get_or_init(|| {
        if !ok(&["version", "--format", "{{.Server.Version}}"]) {
            return Err("no Docker engine answers (see scripts/ensure-docker.sh)".into());
        }
        if !ok(&["image", "inspect", IMAGE]) {
            let script = repo_root().join("scripts/test-image.sh");
            let status = Command::new(&script).stdout(Stdio::null()).status();
            if !status.is_ok_and(|s| s.success()) || !ok(&["image", "inspect", IMAGE]) {
                return Err(format!("cannot build {IMAGE} with {}", script.display()));
            }
        }
        Ok(())
    });
    match state {
        Ok(()) => true,
        Err(why) if ci() => panic!("CI is set and Docker is required: {why}"),
        Err(why) => {
            eprintln!("note: skipping a Docker test: {why}");
            false
        }
    }
}

/// Whether `docker-compose` (v1) runs; same CI rule as [`available`].
pub fn compose_available() -> bool {
    let found = Command::new("docker-compose")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found && ci() {
        panic!("CI is set and docker-compose is required");
    }
    if !found {
        eprintln!("note: skipping a compose test: docker-compose is not installed");
    }
    found
}

/// Runs `docker ARGS`; whether it succeeded.
pub fn ok(args: &[&str]) -> bool {
    Command::new("docker")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `docker ARGS` and returns its trimmed stdout; panics with stderr on failure.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run docker");
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn lines(text: String) -> Vec<String> {
    text.lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// A resource kind as the docker CLI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Container,
    Network,
    Volume,
    Image,
}

impl Kind {
    fn cli(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Network => "network",
            Kind::Volume => "volume",
            Kind::Image => "image",
        }
    }
}

/// Whether a resource exists.
pub fn exists(kind: Kind, name: &str) -> bool {
    ok(&[kind.cli(), "inspect", name])
}

/// The state a test container is left in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Running,
    Exited,
    Created,
    Paused,
    /// `--restart always` on a command that fails at once.
    Restarting,
}

/// A compose project with a unique name; everything it made (and every name
/// it was told to track) is removed when it is dropped.
pub struct Project {
    pub name: String,
    tracked: Vec<(Kind, String)>,
}

impl Project {
    /// `aetl-test-<what>-<random>`.
    pub fn new(what: &str) -> Project {
        Project {
            name: format!("aetl-test-{what}-{:08x}", fastrand::u32(..)),
            tracked: Vec::new(),
        }
    }

    /// `--label com.docker.compose.project=<name>`.
    pub fn label(&self) -> String {
        format!("{PROJECT_LABEL}={}", self.name)
    }

    /// Also removes `name` on drop (bystanders made outside the project).
    pub fn track(&mut self, kind: Kind, name: &str) {
        self.tracked.push((kind, name.to_string()));
    }

    /// A `sleep 3600` container named `<project>_<suffix>` with the project
    /// label (unless `labelled` is false) and `extra` docker-run arguments.
    pub fn container(&self, suffix: &str, state: State, labelled: bool, extra: &[&str]) -> String {
        let name = format!("{}_{suffix}", self.name);
        let label = self.label();
        let mut args: Vec<&str> = vec!["--name", &name];
        if labelled {
            args.extend(["--label", &label]);
        }
        args.extend(extra);
        let run = |head: &[&str], tail: &[&str]| {
            let all: Vec<&str> = head
                .iter()
                .chain(&args)
                .chain([&IMAGE])
                .chain(tail)
                .copied()
                .collect();
            docker(&all)
        };
        match state {
            State::Running | State::Paused => {
                run(&["run", "-d"], &["sleep", "3600"]);
                if state == State::Paused {
                    docker(&["pause", &name]);
                }
            }
            State::Exited => {
                run(&["run"], &["true"]);
            }
            State::Created => {
                run(&["create"], &["sleep", "3600"]);
            }
            State::Restarting => {
                run(&["run", "-d", "--restart", "always"], &["false"]);
            }
        }
        name
    }

    /// A network `<project>_<suffix>` with the project label and `labels`.
    pub fn network(&self, suffix: &str, labels: &[&str]) -> String {
        let name = format!("{}_{suffix}", self.name);
        let label = self.label();
        let mut args = vec!["network", "create", "--label", &label];
        for l in labels {
            args.extend(["--label", l]);
        }
        args.push(&name);
        docker(&args);
        name
    }

    /// A volume `<project>_<suffix>` with the project label and `labels`.
    pub fn volume(&self, suffix: &str, labels: &[&str]) -> String {
        let name = format!("{}_{suffix}", self.name);
        let label = self.label();
        let mut args = vec!["volume", "create", "--label", &label];
        for l in labels {
            args.extend(["--label", l]);
        }
        args.push(&name);
        docker(&args);
        name
    }

    /// Anonymous volumes mounted by `container`.
    pub fn anonymous_volumes(&self, container: &str) -> Vec<String> {
        lines(docker(&[
            "inspect",
            "-f",
            "{{range .Mounts}}{{if eq .Type \"volume\"}}{{.Name}}\n{{end}}{{end}}",
            container,
        ]))
        .into_iter()
        .filter(|n| n.len() == 64)
        .collect()
    }

    /// An image carrying the project label (imported from an empty rootfs,
    /// so no registry or build is needed), tagged `<reference>`.
    pub fn labelled_image(&self, reference: &str) -> String {
        let script = format!(
            "d=$(mktemp -d) && tar -C \"$d\" -cf - . | docker import -c 'LABEL {}' - {reference}; rc=$?; rmdir \"$d\"; exit $rc",
            self.label()
        );
        let out = Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        reference.to_string()
    }

    /// The project's resources of `kind` still present (by label).
    pub fn left(&self, kind: Kind) -> Vec<String> {
        let filter = format!("label={}", self.label());
        match kind {
            Kind::Container => lines(docker(&[
                "ps",
                "-a",
                "--filter",
                &filter,
                "--format",
                "{{.Names}}",
            ])),
            Kind::Network => lines(docker(&[
                "network",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}}",
            ])),
            Kind::Volume => lines(docker(&[
                "volume",
                "ls",
                "--filter",
                &filter,
                "--format",
                "{{.Name}}",
            ])),
            Kind::Image => lines(docker(&[
                "images", "--filter", &filter, "--format", "{{.ID}}",
            ])),
        }
    }

    /// The auto-etl scope of this project with `labels`.
    pub fn scope(&self, labels: &[(&str, &str)]) -> auto_etl::docker::Scope {
        auto_etl::docker::Scope::new(
            self.name.clone(),
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let filter = format!("label={}", self.label());
        let prefixed = |all: String| -> Vec<String> {
            lines(all)
                .into_iter()
                .filter(|n| {
                    n.starts_with(&format!("{}_", self.name))
                        || n.starts_with(&format!("{}-", self.name))
                })
                .collect()
        };
        let quiet = |args: &[&str]| {
            let _ = Command::new("docker")
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        let list = |args: &[&str]| -> String {
            Command::new("docker")
                .args(args)
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
        };
        let mut containers = lines(list(&["ps", "-aq", "--filter", &filter]));
        containers.extend(prefixed(list(&["ps", "-a", "--format", "{{.Names}}"])));
        containers.extend(
            self.tracked
                .iter()
                .filter(|t| t.0 == Kind::Container)
                .map(|t| t.1.clone()),
        );
        for c in &containers {
            quiet(&["rm", "-f", "-v", c]);
        }
        for kind in [Kind::Network, Kind::Volume, Kind::Image] {
            let mut names = match kind {
                Kind::Network => lines(list(&["network", "ls", "-q", "--filter", &filter])),
                Kind::Volume => lines(list(&["volume", "ls", "-q", "--filter", &filter])),
                _ => {
                    let mut v = lines(list(&["images", "-q", "--filter", &filter]));
                    v.extend(prefixed(list(&[
                        "images",
                        "--format",
                        "{{.Repository}}:{{.Tag}}",
                    ])));
                    v
                }
            };
            names.extend(
                self.tracked
                    .iter()
                    .filter(|t| t.0 == kind)
                    .map(|t| t.1.clone()),
            );
            for n in &names {
                quiet(&[kind.cli(), "rm", "-f", n]);
            }
        }
    }
}
