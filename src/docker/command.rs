//! `auto-etl cleanup`: only the Docker half of the cleanup phase, for a
//! project and its extra labels, with a dry run that lists what would go.

use super::{Cleaner, CleanupOptions, DockerCleanup, DockerError, Scope};
use crate::cleanup::CleanupLevel;
use crate::cli::{CleanupArgs, OutputFormat};
use crate::config::{self, duration};
use crate::exit;
use std::path::Path;
use std::time::Duration;

/// Some removals failed, or the engine could not be reached or answered an error.
const CLEANUP_FAILED: u8 = exit::STILL_FAILING;

/// The `[docker]` table of `./auto-etl.toml`, read leniently: the rest of the
/// file belongs to the cycle and is not this command's business.
#[derive(Debug, Default, serde::Deserialize)]
struct FileDocker {
    project: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
    level: Option<String>,
    stop_timeout: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
struct FileDockerOnly {
    #[serde(default)]
    docker: FileDocker,
}

/// What the command will do, resolved from flags, `./auto-etl.toml` and defaults.
#[derive(Debug, PartialEq, Eq)]
struct Resolved {
    scope: Scope,
    level: CleanupLevel,
    stop_timeout: Duration,
}

/// Runs `auto-etl cleanup`; returns the exit code.
pub async fn cmd_cleanup(args: &CleanupArgs) -> anyhow::Result<u8> {
    let cwd = std::env::current_dir()?;
    let resolved = match resolve(args, &cwd) {
        Ok(r) => r,
        Err(message) => {
            eprintln!("auto-etl: {message}");
            return Ok(exit::USAGE);
        }
    };
    let opts = CleanupOptions {
        dry_run: args.dry_run,
        keep_named_volumes: false,
    };
    let result = match Cleaner::connect(resolved.scope.clone(), resolved.stop_timeout).await {
        Ok(cleaner) => cleaner.cleanup(resolved.level, opts).await,
        Err(e) => Err(e),
    };
    let cleanup = match result {
        Ok(c) => c,
        Err(DockerError::Unreachable(why)) => {
            eprintln!(
                "auto-etl: cannot reach the Docker daemon ({why}); \
                 start it, or point DOCKER_HOST at it (e.g. unix:///var/run/docker.sock or tcp://HOST:2375)"
            );
            return Ok(CLEANUP_FAILED);
        }
        Err(e @ DockerError::Api(_)) => {
            eprintln!(
                "auto-etl: cleanup of project {}: {e}",
                resolved.scope.project
            );
            return Ok(CLEANUP_FAILED);
        }
    };
    match args.format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&cleanup)?),
        OutputFormat::Text => print!("{}", render_text(&resolved, &cleanup)),
    }
    for e in &cleanup.errors {
        eprintln!("auto-etl: {e}");
    }
    Ok(if cleanup.errors.is_empty() {
        exit::SUCCESS
    } else {
        CLEANUP_FAILED
    })
}

/// Flags > `./auto-etl.toml` `[docker]` > compose's name for `cwd`.
fn resolve(args: &CleanupArgs, cwd: &Path) -> Result<Resolved, String> {
    let path = cwd.join(config::FILE_NAME);
    let file = match std::fs::read_to_string(&path) {
        Ok(text) => {
            toml::from_str::<FileDockerOnly>(&text)
                .map_err(|e| format!("{}: {}", path.display(), e.message().trim()))?
                .docker
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileDocker::default(),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let in_file = |key: &str, m: String| format!("{}: docker.{key}: {m}", path.display());
    let labels = if args.labels.is_empty() {
        file.labels
            .iter()
            .map(|l| config::parse_label(l).map_err(|m| in_file("labels", m)))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        args.labels
            .iter()
            .map(|l| config::parse_label(l).map_err(|m| format!("--label: {m}")))
            .collect::<Result<Vec<_>, _>>()?
    };
    let project = args
        .project
        .clone()
        .or(file.project)
        .unwrap_or_else(|| config::compose_project_name(cwd));
    if project.trim().is_empty() {
        return Err("--project: the project name is empty".into());
    }
    let level = match (args.level, &file.level) {
        (Some(l), _) => config::level_from_arg(l),
        (None, Some(l)) => CleanupLevel::parse(l).ok_or_else(|| {
            in_file(
                "level",
                format!("`{l}` is not one of light, standard, deep"),
            )
        })?,
        (None, None) => CleanupLevel::Standard,
    };
    let stop_timeout = match &file.stop_timeout {
        Some(t) => duration::parse(t).map_err(|m| in_file("stop_timeout", m))?,
        None => Duration::from_secs(10),
    };
    Ok(Resolved {
        scope: Scope::new(project, labels),
        level,
        stop_timeout,
    })
}

fn plural(n: u32, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// One line per resource, then the counts.
fn render_text(resolved: &Resolved, c: &DockerCleanup) -> String {
    let verb = if c.dry_run { "would remove" } else { "removed" };
    let mut out = String::new();
    for r in &c.removed {
        if r.id == r.name {
            out.push_str(&format!("{verb} {} {}\n", r.kind, r.name));
        } else {
            out.push_str(&format!(
                "{verb} {} {} ({})\n",
                r.kind,
                r.name,
                super::remove::short(&r.id)
            ));
        }
    }
    let mut head = format!("project {}", resolved.scope.project);
    for (k, v) in &resolved.scope.labels {
        head.push_str(&format!(" [{k}={v}]"));
    }
    head.push_str(&format!(", level {}", resolved.level));
    if c.dry_run {
        head.push_str(" (dry run)");
    }
    if c.removed.is_empty() && c.errors.is_empty() {
        out.push_str(&format!("{head}: nothing to remove\n"));
        return out;
    }
    out.push_str(&format!(
        "{head}: {verb} {}, {}, {}, {}",
        plural(c.containers, "container"),
        plural(c.networks, "network"),
        plural(c.volumes, "volume"),
        plural(c.images, "image"),
    ));
    if !c.dry_run {
        out.push_str(&format!(" in {} ms", c.duration_ms));
    }
    if !c.errors.is_empty() {
        out.push_str(&format!("; {} failed", c.errors.len()));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::LevelArg;

    fn args(project: Option<&str>, labels: &[&str], level: Option<LevelArg>) -> CleanupArgs {
        CleanupArgs {
            project: project.map(String::from),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            level,
            dry_run: false,
            format: OutputFormat::Text,
        }
    }

    #[test]
    fn project_defaults_to_the_directory_then_the_file_then_the_flag() {
        let dir = tempfile::Builder::new()
            .prefix("My.Pipeline")
            .tempdir()
            .unwrap();
        let r = resolve(&args(None, &[], None), dir.path()).unwrap();
        assert!(
            r.scope.project.starts_with("mypipeline"),
            "{}",
            r.scope.project
        );
        assert_eq!(r.level, CleanupLevel::Standard);

        std::fs::write(
            dir.path().join(config::FILE_NAME),
            "[orchestrator]\ncommand = \"true\"\n[docker]\nproject = \"etl\"\nlabels = [\"tier=a\"]\nlevel = \"deep\"\n",
        )
        .unwrap();
        let r = resolve(&args(None, &[], None), dir.path()).unwrap();
        assert_eq!(
            r.scope,
            Scope::new("etl", vec![("tier".into(), "a".into())])
        );
        assert_eq!(r.level, CleanupLevel::Deep);

        let r = resolve(
            &args(Some("other"), &["k=v"], Some(LevelArg::Light)),
            dir.path(),
        )
        .unwrap();
        assert_eq!(r.scope, Scope::new("other", vec![("k".into(), "v".into())]));
        assert_eq!(r.level, CleanupLevel::Light);
    }

    #[test]
    fn bad_labels_and_levels_name_where_they_come_from() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(&args(Some("p"), &["novalue"], None), dir.path()).unwrap_err();
        assert!(err.contains("--label") && err.contains("novalue"), "{err}");
        std::fs::write(
            dir.path().join(config::FILE_NAME),
            "[docker]\nlevel = \"deeper\"\n",
        )
        .unwrap();
        let err = resolve(&args(Some("p"), &[], None), dir.path()).unwrap_err();
        assert!(
            err.contains("docker.level") && err.contains("auto-etl.toml"),
            "{err}"
        );
    }

    #[test]
    fn text_lists_each_resource_then_the_counts() {
        let resolved = Resolved {
            scope: Scope::new("etl", vec![]),
            level: CleanupLevel::Standard,
            stop_timeout: Duration::from_secs(1),
        };
        let mut c = DockerCleanup {
            dry_run: true,
            ..Default::default()
        };
        c.record(super::super::Resource {
            kind: "container".into(),
            name: "etl_db_1".into(),
            id: "0123456789abcdef".into(),
        });
        let text = render_text(&resolved, &c);
        assert_eq!(
            text,
            "would remove container etl_db_1 (0123456789ab)\n\
             project etl, level standard (dry run): would remove 1 container, 0 networks, 0 volumes, 0 images\n"
        );
        let empty = render_text(&resolved, &DockerCleanup::default());
        assert_eq!(empty, "project etl, level standard: nothing to remove\n");
    }
}
