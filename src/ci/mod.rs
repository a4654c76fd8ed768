//! CI detection and the observers that turn the loop's events into what
//! CI systems and people read: GitHub workflow commands and step summary,
//! GitLab collapsible sections, the progress display, JUnit XML, a
//! Prometheus textfile, a Pushgateway push and a webhook notification.

mod files;
mod github;
mod gitlab;
pub mod http;
pub mod prometheus;
pub mod pushgateway;
mod replay;
#[cfg(test)]
pub(crate) mod sample;
#[cfg(test)]
pub(crate) mod tests_support;

pub use files::{JunitWriter, MetricsWriter};
pub use github::{escape_data, escape_property, GithubObserver};
pub use gitlab::GitlabObserver;
pub use replay::{exit_code, replay};

use crate::cli::ProgressMode;
use crate::cycle::events::Observer;
use std::io::IsTerminal;
use std::path::PathBuf;

/// What the environment says about where the agent runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiEnv {
    /// Any CI (`CI`, `GITHUB_ACTIONS` or `GITLAB_CI` set and not false).
    pub ci: bool,
    pub github: bool,
    pub gitlab: bool,
    /// `GITHUB_STEP_SUMMARY`: the file GitHub renders as the step summary.
    pub step_summary: Option<PathBuf>,
    /// `GITHUB_OUTPUT`: the step's outputs file (`summary_written=true` lets
    /// a later step skip its fallback summary).
    pub output_file: Option<PathBuf>,
    /// The checkout annotations are relative to (`GITHUB_WORKSPACE`, or
    /// `CI_PROJECT_DIR` under GitLab).
    pub workspace: Option<PathBuf>,
    /// `FORCE_COLOR` (or `CLICOLOR_FORCE`) set and not 0.
    pub force_color: bool,
    /// `NO_COLOR` set to anything non-empty.
    pub no_color: bool,
    /// Whether stderr is a terminal; false from [`CiEnv::from_vars`].
    pub stderr_terminal: bool,
}

impl CiEnv {
    /// Reads the process environment and whether stderr is a terminal.
    pub fn from_env() -> CiEnv {
        let mut env = CiEnv::from_vars(|k| std::env::var(k).ok());
        env.stderr_terminal = std::io::stderr().is_terminal();
        env
    }

    /// Detection over any variable source (pure, for tests).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> CiEnv {
        let on = |k: &str| {
            get(k).is_some_and(|v| {
                let v = v.trim();
                !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false")
            })
        };
        let path = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let github = on("GITHUB_ACTIONS");
        let gitlab = on("GITLAB_CI");
        CiEnv {
            ci: on("CI") || github || gitlab,
            github,
            gitlab,
            step_summary: if github {
                path("GITHUB_STEP_SUMMARY")
            } else {
                None
            },
            output_file: if github { path("GITHUB_OUTPUT") } else { None },
            workspace: if github {
                path("GITHUB_WORKSPACE")
            } else if gitlab {
                path("CI_PROJECT_DIR")
            } else {
                None
            },
            force_color: on("FORCE_COLOR") || on("CLICOLOR_FORCE"),
            no_color: get("NO_COLOR").is_some_and(|v| !v.is_empty()),
            stderr_terminal: false,
        }
    }

    /// Whether coloured output is wanted: forced, else a terminal outside CI.
    pub fn colour(&self) -> bool {
        if self.force_color {
            return true;
        }
        !self.no_color && !self.ci && self.stderr_terminal
    }

    /// Whether the progress display should be drawn.
    pub fn progress(&self, mode: ProgressMode) -> bool {
        match mode {
            ProgressMode::Always => true,
            ProgressMode::Never => false,
            ProgressMode::Auto => self.stderr_terminal && !self.ci,
        }
    }
}

/// What the observers need to know beyond the environment.
#[derive(Debug, Clone, Default)]
pub struct ObserverOptions {
    /// The resolved JUnit path (`Config::junit`).
    pub junit: Option<PathBuf>,
    /// `--metrics-file`, resolved against the working directory.
    pub metrics_file: Option<PathBuf>,
    /// `--notify URL`.
    pub notify: Option<String>,
    /// `--pushgateway URL`.
    pub pushgateway: Option<String>,
    /// The pipeline's name in the Pushgateway's grouping key (the Docker
    /// project name, which is stable for a checkout).
    pub pipeline: String,
    pub progress: ProgressMode,
    pub report_dir: PathBuf,
    /// The pipeline's root: iteration log paths in events are relative to it.
    pub root: PathBuf,
}

impl ObserverOptions {
    /// The options of a resolved run: `cfg` for the paths, `output` for the
    /// flags `Config` does not carry.
    pub fn new(cfg: &crate::config::Config, output: &crate::cli::OutputArgs) -> ObserverOptions {
        let cwd = std::env::current_dir().unwrap_or_else(|_| cfg.root.clone());
        ObserverOptions {
            junit: cfg.junit.clone(),
            metrics_file: output.metrics_file.as_ref().map(|p| cwd.join(p)),
            notify: output.notify.clone().filter(|u| !u.trim().is_empty()),
            pushgateway: output.pushgateway.clone().filter(|u| !u.trim().is_empty()),
            pipeline: cfg.docker.project.clone(),
            progress: output.progress.unwrap_or_default(),
            report_dir: cfg.report_dir.clone(),
            root: cfg.root.clone(),
        }
    }
}

/// The observers this environment and these options call for.
pub fn observers(env: &CiEnv, opts: &ObserverOptions) -> Vec<Box<dyn Observer>> {
    let mut list: Vec<Box<dyn Observer>> = Vec::new();
    if env.github {
        list.push(Box::new(
            GithubObserver::new(
                Box::new(std::io::stderr()),
                opts.root.clone(),
                env.workspace.clone(),
                env.step_summary.clone(),
            )
            .with_output_file(env.output_file.clone()),
        ));
    }
    if env.gitlab {
        list.push(Box::new(GitlabObserver::new(Box::new(std::io::stderr()))));
    }
    if env.progress(opts.progress) {
        list.push(Box::new(crate::progress::ProgressObserver::stderr()));
    }
    if let Some(path) = &opts.junit {
        list.push(Box::new(JunitWriter::new(path.clone())));
    }
    if let Some(path) = &opts.metrics_file {
        list.push(Box::new(MetricsWriter::new(path.clone())));
    }
    if let Some(url) = &opts.pushgateway {
        match pushgateway::Pushgateway::new(url, &opts.pipeline) {
            Ok(p) => list.push(Box::new(p)),
            Err(e) => {
                tracing::warn!("--pushgateway: {e}");
                eprintln!("auto-etl: --pushgateway: {e}; no metrics will be pushed");
            }
        }
    }
    if let Some(url) = &opts.notify {
        match crate::notify::Notifier::new(url) {
            Ok(n) => list.push(Box::new(n)),
            Err(e) => {
                tracing::warn!("--notify: {e}");
                eprintln!("auto-etl: --notify: {e}; no notification will be sent");
            }
        }
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> CiEnv {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        CiEnv::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn detects_the_ci_systems() {
        let gh = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", "/tmp/summary.md"),
            ("GITHUB_WORKSPACE", "/w"),
        ]);
        assert!(gh.ci && gh.github && !gh.gitlab);
        assert_eq!(gh.step_summary, Some(PathBuf::from("/tmp/summary.md")));
        assert_eq!(gh.workspace, Some(PathBuf::from("/w")));
        let gl = env(&[
            ("GITLAB_CI", "true"),
            ("CI", "true"),
            ("CI_PROJECT_DIR", "/b"),
        ]);
        assert!(gl.ci && gl.gitlab && !gl.github);
        assert_eq!(gl.workspace, Some(PathBuf::from("/b")));
        assert_eq!(gl.step_summary, None);
        assert!(env(&[("CI", "1")]).ci);
        assert!(!env(&[("CI", "false")]).ci);
        assert!(!env(&[("CI", "")]).ci);
        // A summary path outside GitHub Actions is ignored.
        assert_eq!(env(&[("GITHUB_STEP_SUMMARY", "/x")]).step_summary, None);
    }

    #[test]
    fn colour_and_progress_follow_terminal_ci_and_force() {
        let mut local = env(&[]);
        local.stderr_terminal = true;
        assert!(local.colour() && local.progress(ProgressMode::Auto));
        let mut ci = env(&[("CI", "true")]);
        ci.stderr_terminal = true;
        assert!(!ci.colour() && !ci.progress(ProgressMode::Auto));
        assert!(ci.progress(ProgressMode::Always));
        let forced = env(&[("CI", "true"), ("FORCE_COLOR", "1")]);
        assert!(forced.colour());
        let mut no = env(&[("NO_COLOR", "1")]);
        no.stderr_terminal = true;
        assert!(!no.colour() && !no.progress(ProgressMode::Never));
        assert!(!env(&[]).colour(), "not a terminal");
    }

    #[test]
    fn observers_match_the_environment() {
        let opts = ObserverOptions {
            junit: Some("/tmp/j.xml".into()),
            ..Default::default()
        };
        assert_eq!(observers(&env(&[]), &opts).len(), 1);
        let gh = env(&[("GITHUB_ACTIONS", "true")]);
        assert_eq!(observers(&gh, &ObserverOptions::default()).len(), 1);
        let https = ObserverOptions {
            notify: Some("https://hooks.example.com/x".into()),
            ..Default::default()
        };
        assert_eq!(observers(&env(&[]), &https).len(), 1);
        let bad = ObserverOptions {
            notify: Some("http://é/x".into()),
            ..Default::default()
        };
        assert_eq!(observers(&env(&[]), &bad).len(), 0);
    }
}
