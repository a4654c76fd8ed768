//! Flags + `AUTO_ETL_*` environment + `auto-etl.toml` + built-in defaults,
//! resolved once into one validated [`Config`].

pub mod duration;
mod file;
pub mod spelling;

use crate::backoff::{Backoff, Jitter};
use crate::classify::{FailureClass, Markers, Rule, RuleError, RuleSet, RuleSource};
use crate::cleanup::CleanupLevel;
use crate::cli::{CheckpointModeArg, LevelArg, OutputFormat, RunArgs};
use file::FileConfig;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use toml::Spanned;

pub use file::RuleFile;

/// The default config file name, looked up in the current directory.
pub const FILE_NAME: &str = "auto-etl.toml";

/// The origin of a flag error before it is known which of the two it was.
const FLAG_ORIGIN: &str = "command line or environment";

/// A configuration error: names the file, the line and the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no {FILE_NAME} in {dir} or its parents up to the repository root: run `auto-etl init` to write one, or `auto-etl demo` to see the agent at work")]
    Missing { dir: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        path: String,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{origin}: {key}: {message}")]
    Flag {
        origin: String,
        key: String,
        message: String,
    },
}

/// What a step is for; drives its risk score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    Validation,
    Action,
    Decision,
    Verification,
}

/// How involved a step is; drives its risk score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Complexity {
    Low,
    Medium,
    High,
}

/// One orchestrator step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub name: String,
    pub run: String,
    #[serde(with = "secs")]
    pub timeout: Duration,
    pub kind: StepKind,
    pub complexity: Complexity,
    pub external_dependencies: bool,
    pub data_sensitive: bool,
    /// Readiness targets (`tcp:HOST:PORT`, `container:NAME[:healthy]`).
    pub wait_for: Vec<String>,
    /// Line of the step in the config file, for pre-flight messages.
    #[serde(skip)]
    pub line: usize,
}

/// Loop limits and pacing.
#[derive(Debug, Clone)]
pub struct CycleConfig {
    pub max_iterations: u32,
    pub max_elapsed: Option<Duration>,
    pub service_wait: Duration,
    pub stop_grace: Duration,
    pub backoff: Backoff,
}

/// What makes an iteration green besides exit codes and failure classes.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    pub expected_files: Vec<String>,
    pub validator: Option<String>,
    pub validator_timeout: Duration,
}

/// How checkpoints are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointMode {
    Ref,
    Branch,
    Off,
}

impl CheckpointMode {
    /// The name as `[git] checkpoint` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckpointMode::Ref => "ref",
            CheckpointMode::Branch => "branch",
            CheckpointMode::Off => "off",
        }
    }
}

/// `[git]`, resolved.
#[derive(Debug, Clone)]
pub struct GitConfig {
    pub mode: CheckpointMode,
    /// Push was asked for and is allowed (in CI only by the `--push` flag).
    pub push: bool,
    /// Why a push that was asked for is not allowed, if so.
    pub push_refused: Option<String>,
    pub remote: String,
    pub exclude: Vec<String>,
    pub max_file_size: u64,
}

/// `[docker]`, resolved.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    pub project: String,
    pub labels: Vec<(String, String)>,
    pub level: CleanupLevel,
    pub stop_timeout: Duration,
    pub require: bool,
}

impl DockerConfig {
    /// The label scope cleanup owns.
    pub fn scope(&self) -> crate::docker::Scope {
        crate::docker::Scope {
            project: self.project.clone(),
            labels: self.labels.clone(),
        }
    }

    /// Whether the daemon answers a ping (connect and ping, bounded).
    pub async fn answers(&self) -> bool {
        match crate::docker::Cleaner::connect(self.scope(), self.stop_timeout).await {
            Ok(c) => c.ping().await.is_ok(),
            Err(_) => false,
        }
    }
}

/// Run-time switches from the command line.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub debug: bool,
    pub verbose: u8,
    pub dry_run: bool,
    pub no_cleanup: bool,
    /// `--allow-unchecked-cleanup`: file cleanup without a checkpoint.
    pub allow_unchecked_cleanup: bool,
    pub format: OutputFormat,
    pub log_format: OutputFormat,
    /// A progress display owns the terminal (set by the caller, not the file).
    pub progress: bool,
}

/// The whole, validated configuration of a run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file, if one was read.
    pub file: Option<PathBuf>,
    /// The pipeline repository (the config file's directory).
    pub root: PathBuf,
    pub steps: Vec<Step>,
    pub cycle: CycleConfig,
    pub verify: VerifyConfig,
    pub markers: Arc<Markers>,
    pub git: GitConfig,
    /// `--rollback` / `[git] rollback`: after a red run, put the last green
    /// checkpoint's files back in the working tree. Kept beside `git`, not
    /// in it, so that `GitConfig` literals elsewhere stay valid.
    pub rollback: bool,
    pub docker: DockerConfig,
    pub cleanup_paths: Vec<String>,
    pub rules: Arc<RuleSet>,
    pub report_dir: PathBuf,
    pub junit: Option<PathBuf>,
    pub options: RunOptions,
}

/// The outside world the resolution depends on.
#[derive(Debug, Clone)]
pub struct Outside {
    pub cwd: PathBuf,
    /// `CI` (or a known CI's variable) is set.
    pub ci: bool,
    /// `AUTO_ETL_PUSH` as set in the environment.
    pub env_push: bool,
}

impl Outside {
    pub fn from_env() -> std::io::Result<Outside> {
        let var = |k: &str| std::env::var(k).map(|v| !v.is_empty() && v != "false" && v != "0");
        Ok(Outside {
            cwd: std::env::current_dir()?,
            ci: ["CI", "GITHUB_ACTIONS", "GITLAB_CI"]
                .iter()
                .any(|k| var(k).unwrap_or(false)),
            env_push: var("AUTO_ETL_PUSH").unwrap_or(false),
        })
    }
}

/// Reads the config file (or the one in `outside.cwd`) and resolves it with the flags.
pub fn load(args: &RunArgs, outside: &Outside) -> Result<Config, ConfigError> {
    let path = match &args.common.config {
        Some(p) => outside.cwd.join(p),
        None => find_config(&outside.cwd).ok_or_else(|| ConfigError::Missing {
            dir: outside.cwd.clone(),
        })?,
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let root = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| outside.cwd.clone());
    let argv: Vec<String> = std::env::args().collect();
    resolve(
        &text,
        &path.display().to_string(),
        root,
        Some(path.clone()),
        args,
        outside,
    )
    .map_err(|e| e.named_where_given(&argv))
}

impl ConfigError {
    /// A flag error names the option as the user gave it: the flag, or its
    /// environment variable when the flag is not on the command line.
    pub fn named_where_given(self, argv: &[String]) -> ConfigError {
        match self {
            ConfigError::Flag {
                origin,
                key,
                message,
            } if origin == FLAG_ORIGIN && key.starts_with("--") => {
                let (origin, key) = spelling::source_of(&key, argv);
                ConfigError::Flag {
                    origin: origin.into(),
                    key,
                    message,
                }
            }
            other => other,
        }
    }
}

/// The `auto-etl.toml` of `start` or of its nearest parent, looking no
/// higher than the repository root (the first directory with a `.git`), as
/// git, cargo and just find theirs; up to the filesystem root outside a
/// repository.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Parses a rules-only file (`classify --rules`): `[[rules]]` tables.
pub fn load_rules_file(path: &Path) -> Result<RuleSet, ConfigError> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RulesOnly {
        #[serde(default)]
        rules: Vec<RuleFile>,
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let origin = path.display().to_string();
    let parsed: RulesOnly = toml::from_str(&text).map_err(|e| toml_error(&origin, &text, &e))?;
    build_rules(
        &parsed.rules,
        &Ctx {
            origin: &origin,
            text: &text,
        },
    )
}

struct Ctx<'a> {
    origin: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err<T>(&self, span: &Spanned<T>, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            path: self.origin.to_string(),
            line: line_of(self.text, span.span().start),
            key: key.to_string(),
            message: message.into(),
        }
    }

    fn duration(&self, v: &Spanned<String>, key: &str) -> Result<Duration, ConfigError> {
        duration::parse(v.get_ref()).map_err(|m| self.err(v, key, m))
    }

    fn opt_duration(
        &self,
        v: &Option<Spanned<String>>,
        key: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        v.as_ref().map(|v| self.duration(v, key)).transpose()
    }

    /// A timeout: zero would end the thing before it starts, so it is an
    /// error rather than a run that can only fail.
    fn opt_timeout(
        &self,
        v: &Option<Spanned<String>>,
        key: &str,
    ) -> Result<Option<Duration>, ConfigError> {
        let Some(v) = v else { return Ok(None) };
        match self.duration(v, key)? {
            d if d.is_zero() => Err(self.err(v, key, "a timeout must be above zero")),
            d => Ok(Some(d)),
        }
    }

    /// A command: a NUL byte cannot reach `sh -c` (exec takes C strings), so
    /// it is refused here with its line rather than failing every iteration.
    fn command(&self, v: &Spanned<String>, key: &str) -> Result<(), ConfigError> {
        if v.get_ref().trim().is_empty() {
            return Err(self.err(v, key, "the command is empty"));
        }
        if v.get_ref().contains('\0') {
            return Err(self.err(v, key, "the command holds a NUL byte"));
        }
        Ok(())
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> ConfigError {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
    let message = e.message().trim().to_string();
    let key = message
        .split('`')
        .nth(1)
        .filter(|_| message.starts_with("unknown field"))
        .map(
            |field| match e.span().and_then(|sp| table_at(text, sp.start)) {
                Some(table) => format!("{table}.{field}"),
                None => field.to_string(),
            },
        )
        .or_else(|| e.span().and_then(|sp| key_on_line(text, sp.start)))
        .unwrap_or_else(|| "toml".into());
    ConfigError::Invalid {
        path: origin.to_string(),
        line,
        key,
        message,
    }
}

/// The table a position of the file is in, as a key path: `cycle`,
/// `cycle.backoff`, `steps[1]` for the second `[[steps]]`; None at the top.
fn table_at(text: &str, offset: usize) -> Option<String> {
    let before = &text[..offset.min(text.len())];
    let header = before
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with('['))?;
    let header = header.split('#').next().unwrap_or(header).trim();
    if let Some(name) = header.strip_prefix("[[").and_then(|h| h.strip_suffix("]]")) {
        let name = name.trim();
        let index = before
            .lines()
            .filter(|l| {
                let l = l.trim();
                l.strip_prefix("[[")
                    .and_then(|h| h.split("]]").next())
                    .is_some_and(|h| h.trim() == name)
            })
            .count();
        return Some(format!("{name}[{}]", index.saturating_sub(1)));
    }
    let name = header.strip_prefix('[')?.strip_suffix(']')?.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// The `key` of a `key = value` line holding `offset`, for errors the
/// parser reports without naming it (e.g. a number out of range).
fn key_on_line(text: &str, offset: usize) -> Option<String> {
    let start = text[..offset.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[') && !key.contains(char::is_whitespace))
        .then(|| key.to_string())
}

fn flag_duration(text: &Option<String>, key: &str) -> Result<Option<Duration>, ConfigError> {
    text.as_ref()
        .map(|t| {
            duration::parse(t).map_err(|message| ConfigError::Flag {
                origin: FLAG_ORIGIN.into(),
                key: key.into(),
                message,
            })
        })
        .transpose()
}

/// A timeout flag: as [`flag_duration`], and above zero.
fn flag_timeout(text: &Option<String>, key: &str) -> Result<Option<Duration>, ConfigError> {
    match flag_duration(text, key)? {
        Some(d) if d.is_zero() => Err(ConfigError::Flag {
            origin: "command line or environment".into(),
            key: key.into(),
            message: "a timeout must be above zero".into(),
        }),
        d => Ok(d),
    }
}

/// Resolves a config text with the flags. `origin` names the file in errors.
pub fn resolve(
    text: &str,
    origin: &str,
    root: PathBuf,
    file: Option<PathBuf>,
    args: &RunArgs,
    outside: &Outside,
) -> Result<Config, ConfigError> {
    let cx = Ctx { origin, text };
    let f: FileConfig = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;

    let flag_timeout = flag_timeout(&args.cycle.timeout, "--timeout")?;
    let steps = build_steps(&f, &cx, flag_timeout)?;
    let cycle = build_cycle(&f, &cx, args)?;
    let (verify, markers) = build_verify(&f, &cx)?;
    let git = build_git(&f, &cx, args, outside)?;
    let docker = build_docker(&f, &cx, args, &root)?;
    let cleanup_paths = f
        .cleanup
        .paths
        .iter()
        .map(|p| inside_repo(p, &cx, "cleanup.paths"))
        .collect::<Result<Vec<_>, _>>()?;
    let rules = build_rules(&f.rules, &cx)?;
    let report_dir = args
        .output
        .report_dir
        .clone()
        .map(|d| outside.cwd.join(d))
        .or_else(|| f.report.dir.as_ref().map(|d| root.join(d)))
        .unwrap_or_else(|| root.join("logs"));
    let junit = args
        .output
        .junit
        .clone()
        .map(|p| outside.cwd.join(p))
        .or_else(|| f.report.junit.as_ref().map(|p| root.join(p)));
    let options = RunOptions {
        debug: args.common.debug,
        verbose: args.common.verbose,
        dry_run: args.phases.dry_run,
        no_cleanup: args.phases.no_cleanup,
        allow_unchecked_cleanup: args.phases.allow_unchecked_cleanup,
        format: args.output.format.unwrap_or(OutputFormat::Text),
        log_format: args.output.log_format.unwrap_or(OutputFormat::Text),
        progress: false,
    };
    Ok(Config {
        file,
        root,
        steps,
        cycle,
        verify,
        markers: Arc::new(markers),
        git,
        // flag > AUTO_ETL_ROLLBACK (both through clap) > file > off
        rollback: args.phases.rollback.or(f.git.rollback).unwrap_or(false),
        docker,
        cleanup_paths,
        rules: Arc::new(rules),
        report_dir,
        junit,
        options,
    })
}

const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(600);

fn build_steps(
    f: &FileConfig,
    cx: &Ctx,
    flag_timeout: Option<Duration>,
) -> Result<Vec<Step>, ConfigError> {
    let mut steps = Vec::new();
    if let Some(o) = &f.orchestrator {
        if !f.steps.is_empty() {
            return Err(cx.err(
                &o.command,
                "orchestrator",
                "use either [orchestrator] or [[steps]], not both",
            ));
        }
        cx.command(&o.command, "orchestrator.command")?;
        steps.push(Step {
            name: "orchestrator".into(),
            run: o.command.get_ref().clone(),
            timeout: flag_timeout
                .or(cx.opt_timeout(&o.timeout, "orchestrator.timeout")?)
                .unwrap_or(DEFAULT_STEP_TIMEOUT),
            kind: StepKind::Action,
            complexity: Complexity::Medium,
            external_dependencies: false,
            data_sensitive: false,
            wait_for: wait_targets(&o.wait_for, cx, "orchestrator.wait_for")?,
            line: line_of(cx.text, o.command.span().start),
        });
    }
    for (i, s) in f.steps.iter().enumerate() {
        let key = |k: &str| format!("steps[{i}].{k}");
        let name = s.name.get_ref().trim();
        if name.is_empty() {
            return Err(cx.err(&s.name, &key("name"), "the name is empty"));
        }
        if steps.iter().any(|p: &Step| p.name == name) {
            return Err(cx.err(
                &s.name,
                &key("name"),
                format!("step `{name}` is defined twice"),
            ));
        }
        cx.command(&s.run, &key("run"))?;
        let kind = match s.kind.as_ref() {
            None => StepKind::Action,
            Some(k) => match k.get_ref().as_str() {
                "validation" => StepKind::Validation,
                "action" => StepKind::Action,
                "decision" => StepKind::Decision,
                "verification" => StepKind::Verification,
                other => {
                    return Err(cx.err(
                        k,
                        &key("kind"),
                        format!(
                            "`{other}` is not one of validation, action, decision, verification"
                        ),
                    ))
                }
            },
        };
        let complexity = match s.complexity.as_ref() {
            None => Complexity::Medium,
            Some(c) => match c.get_ref().as_str() {
                "low" => Complexity::Low,
                "medium" => Complexity::Medium,
                "high" => Complexity::High,
                other => {
                    return Err(cx.err(
                        c,
                        &key("complexity"),
                        format!("`{other}` is not one of low, medium, high"),
                    ))
                }
            },
        };
        steps.push(Step {
            name: name.to_string(),
            run: s.run.get_ref().clone(),
            timeout: flag_timeout
                .or(cx.opt_timeout(&s.timeout, &key("timeout"))?)
                .unwrap_or(DEFAULT_STEP_TIMEOUT),
            kind,
            complexity,
            external_dependencies: s.external_dependencies,
            data_sensitive: s.data_sensitive,
            wait_for: wait_targets(&s.wait_for, cx, &key("wait_for"))?,
            line: line_of(cx.text, s.name.span().start),
        });
    }
    if steps.is_empty() {
        return Err(ConfigError::Invalid {
            path: cx.origin.to_string(),
            line: 1,
            key: "orchestrator".into(),
            message: "nothing to run: add [orchestrator] command = \"...\" or [[steps]] tables"
                .into(),
        });
    }
    if steps.iter().any(|s| s.timeout.is_zero()) {
        return Err(ConfigError::Flag {
            origin: cx.origin.to_string(),
            key: "timeout".into(),
            message: "a step timeout must be above zero".into(),
        });
    }
    Ok(steps)
}

fn wait_targets(
    items: &[Spanned<String>],
    cx: &Ctx,
    key: &str,
) -> Result<Vec<String>, ConfigError> {
    items
        .iter()
        .map(|t| {
            crate::readiness::Target::parse(t.get_ref())
                .map(|_| t.get_ref().clone())
                .map_err(|m| cx.err(t, key, m))
        })
        .collect()
}

fn build_cycle(f: &FileConfig, cx: &Ctx, args: &RunArgs) -> Result<CycleConfig, ConfigError> {
    let max_iterations = match (args.cycle.max_iterations, &f.cycle.max_iterations) {
        (Some(n), _) => i64::from(n),
        (None, Some(v)) => *v.get_ref(),
        (None, None) => 5,
    };
    if !(1..=1000).contains(&max_iterations) {
        let message = format!("{max_iterations} is out of range (1 to 1000)");
        return Err(
            match (&args.cycle.max_iterations, &f.cycle.max_iterations) {
                (None, Some(v)) => cx.err(v, "cycle.max_iterations", message),
                _ => ConfigError::Flag {
                    origin: FLAG_ORIGIN.into(),
                    key: "--max-iterations".into(),
                    message,
                },
            },
        );
    }
    let max_elapsed = match flag_duration(&args.cycle.max_elapsed, "--max-elapsed")? {
        Some(d) => Some(d),
        None => cx.opt_duration(&f.cycle.max_elapsed, "cycle.max_elapsed")?,
    };
    let service_wait = match flag_duration(&args.cycle.service_wait, "--service-wait")? {
        Some(d) => d,
        None => cx
            .opt_duration(&f.cycle.service_wait, "cycle.service_wait")?
            .unwrap_or(Duration::from_secs(10)),
    };
    let stop_grace = cx
        .opt_duration(&f.cycle.stop_grace, "cycle.stop_grace")?
        .unwrap_or(Duration::from_secs(5));
    let b = &f.cycle.backoff;
    let mut backoff = Backoff::default();
    if let Some(d) = cx.opt_duration(&b.initial, "cycle.backoff.initial")? {
        backoff.initial = d;
    }
    if let Some(d) = cx.opt_duration(&b.max, "cycle.backoff.max")? {
        backoff.max = d;
    }
    if let Some(m) = &b.multiplier {
        let v = *m.get_ref();
        if !(1.0..=10.0).contains(&v) {
            return Err(cx.err(
                m,
                "cycle.backoff.multiplier",
                format!("{v} is out of range (1.0 to 10.0)"),
            ));
        }
        backoff.multiplier = v;
    }
    if let Some(j) = &b.jitter {
        backoff.jitter = match j.get_ref().as_str() {
            "none" => Jitter::None,
            "full" => Jitter::Full,
            "equal" => Jitter::Equal,
            other => {
                return Err(cx.err(
                    j,
                    "cycle.backoff.jitter",
                    format!("`{other}` is not one of none, full, equal"),
                ))
            }
        };
    }
    Ok(CycleConfig {
        max_iterations: max_iterations as u32,
        max_elapsed,
        service_wait,
        stop_grace,
        backoff,
    })
}

fn build_verify(f: &FileConfig, cx: &Ctx) -> Result<(VerifyConfig, Markers), ConfigError> {
    let v = &f.verify;
    if let Some(c) = v
        .validator
        .as_ref()
        .filter(|c| !c.get_ref().trim().is_empty())
    {
        cx.command(c, "verify.validator")?;
    }
    for g in &v.expected_files {
        inside_repo(g, cx, "verify.expected_files")?;
        glob::Pattern::new(g.get_ref())
            .map_err(|e| cx.err(g, "verify.expected_files", e.to_string()))?;
    }
    let markers = Markers {
        success: v
            .success_patterns
            .clone()
            .unwrap_or_else(|| vec!["✅".into(), "SUCCESS".into(), "COMPLETADA".into()]),
        error: v
            .error_patterns
            .clone()
            .unwrap_or_else(|| vec!["❌".into(), "FAILED".into(), "ERROR".into()]),
    };
    let verify = VerifyConfig {
        expected_files: v
            .expected_files
            .iter()
            .map(|g| g.get_ref().clone())
            .collect(),
        validator: v
            .validator
            .as_ref()
            .map(|c| c.get_ref().clone())
            .filter(|c| !c.trim().is_empty()),
        validator_timeout: cx
            .opt_timeout(&v.validator_timeout, "verify.validator_timeout")?
            .unwrap_or(Duration::from_secs(300)),
    };
    Ok((verify, markers))
}

fn build_git(
    f: &FileConfig,
    cx: &Ctx,
    args: &RunArgs,
    outside: &Outside,
) -> Result<GitConfig, ConfigError> {
    let mode = if args.phases.no_commit {
        CheckpointMode::Off
    } else if let Some(m) = args.phases.checkpoint {
        match m {
            CheckpointModeArg::Ref => CheckpointMode::Ref,
            CheckpointModeArg::Branch => CheckpointMode::Branch,
            CheckpointModeArg::Off => CheckpointMode::Off,
        }
    } else {
        match f.git.checkpoint.as_ref() {
            None => CheckpointMode::Ref,
            Some(m) => match m.get_ref().as_str() {
                "ref" => CheckpointMode::Ref,
                "branch" => CheckpointMode::Branch,
                "off" => CheckpointMode::Off,
                other => {
                    return Err(cx.err(
                        m,
                        "git.checkpoint",
                        format!("`{other}` is not one of ref, branch, off"),
                    ))
                }
            },
        }
    };
    let asked = args.phases.push || outside.env_push || f.git.push.unwrap_or(false);
    // In CI a push needs the flag itself: a config or environment left over
    // from a laptop must never publish from a build machine.
    let (push, push_refused) = if outside.ci && asked && !args.phases.push {
        (
            false,
            Some(
                "push refused: CI is set and --push was not given on the command line".to_string(),
            ),
        )
    } else {
        (asked, None)
    };
    let max_file_size = match &f.git.max_file_size {
        None => 50 * 1024 * 1024,
        Some(s) => parse_size(s.get_ref()).map_err(|m| cx.err(s, "git.max_file_size", m))?,
    };
    Ok(GitConfig {
        mode,
        push,
        push_refused,
        remote: f.git.remote.clone().unwrap_or_else(|| "origin".into()),
        exclude: f.git.exclude.clone(),
        max_file_size,
    })
}

/// Parses `50MB`, `10 MiB`, `512k`, `1000`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("`{text}` is not a size (e.g. 50MB)"))?;
    let mult = match t[split..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("`{text}` has an unknown unit `{other}`")),
    };
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{text}` is too large"))
}

fn build_docker(
    f: &FileConfig,
    cx: &Ctx,
    args: &RunArgs,
    root: &Path,
) -> Result<DockerConfig, ConfigError> {
    let project = args
        .phases
        .project
        .clone()
        .or_else(|| f.docker.project.as_ref().map(|p| p.get_ref().clone()))
        .unwrap_or_else(|| compose_project_name(root));
    let labels = f
        .docker
        .labels
        .iter()
        .map(|l| parse_label(l.get_ref()).map_err(|m| cx.err(l, "docker.labels", m)))
        .collect::<Result<Vec<_>, _>>()?;
    let level = match args.phases.level {
        Some(l) => level_from_arg(l),
        None => match f.docker.level.as_ref() {
            None => CleanupLevel::Standard,
            Some(l) => CleanupLevel::parse(l.get_ref()).ok_or_else(|| {
                cx.err(
                    l,
                    "docker.level",
                    format!("`{}` is not one of light, standard, deep", l.get_ref()),
                )
            })?,
        },
    };
    Ok(DockerConfig {
        project,
        labels,
        level,
        stop_timeout: cx
            .opt_duration(&f.docker.stop_timeout, "docker.stop_timeout")?
            .unwrap_or(Duration::from_secs(10)),
        require: args.phases.require_docker || f.docker.require.unwrap_or(false),
    })
}

/// Maps the CLI's level to the cleanup level.
pub fn level_from_arg(l: LevelArg) -> CleanupLevel {
    match l {
        LevelArg::Light => CleanupLevel::Light,
        LevelArg::Standard => CleanupLevel::Standard,
        LevelArg::Deep => CleanupLevel::Deep,
    }
}

/// Parses a `K=V` label filter.
pub fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("`{text}` is not a K=V label")),
    }
}

/// The project name docker-compose derives from a directory: lowercase,
/// only [a-z0-9_-], leading non-alphanumerics dropped.
pub fn compose_project_name(dir: &Path) -> String {
    let base = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let trimmed = cleaned.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "default".into()
    } else {
        trimmed.to_string()
    }
}

fn inside_repo(p: &Spanned<String>, cx: &Ctx, key: &str) -> Result<String, ConfigError> {
    let path = Path::new(p.get_ref());
    let escapes = path.is_absolute()
        || path.components().any(|c| {
            matches!(
                c,
                Component::ParentDir | Component::RootDir | Component::Prefix(_)
            )
        });
    if escapes || p.get_ref().trim().is_empty() {
        return Err(cx.err(
            p,
            key,
            format!("`{}` is not a path inside the repository", p.get_ref()),
        ));
    }
    Ok(p.get_ref().clone())
}

fn build_rules(rules: &[RuleFile], cx: &Ctx) -> Result<RuleSet, ConfigError> {
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let key = |k: &str| format!("rules[{i}].{k}");
        if r.id.get_ref().trim().is_empty() {
            return Err(cx.err(&r.id, &key("id"), "the id is empty"));
        }
        if r.class.get_ref().trim().is_empty() {
            return Err(cx.err(&r.class, &key("class"), "the class is empty"));
        }
        let class = FailureClass::parse(r.class.get_ref());
        let rule = Rule {
            id: r.id.get_ref().clone(),
            retryable: r.retryable.unwrap_or(class.default_retryable()),
            class,
            pattern: r.pattern.get_ref().clone(),
            source: RuleSource::Config,
        };
        out.push(rule);
    }
    // The rule set compiles every pattern; an error names the rule by id,
    // and points at the last rule of that id (a duplicate's second entry).
    RuleSet::with_user_rules(out).map_err(|e| {
        let (id, field) = match &e {
            RuleError::InvalidPattern { id, .. } => (id, "pattern"),
            RuleError::DuplicateId { id } => (id, "id"),
        };
        match rules.iter().rposition(|r| r.id.get_ref() == id) {
            Some(i) => {
                let r = &rules[i];
                let span = if field == "pattern" {
                    &r.pattern
                } else {
                    &r.id
                };
                cx.err(span, &format!("rules[{i}].{field}"), e.to_string())
            }
            None => ConfigError::Invalid {
                path: cx.origin.to_string(),
                line: 1,
                key: "rules".into(),
                message: e.to_string(),
            },
        }
    })
}

mod secs {
    use std::time::Duration;
    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests;
