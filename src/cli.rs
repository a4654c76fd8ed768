//! Command-line definition (clap derive only; resolution lives in `config`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Drives an ETL pipeline's validation cycle until it runs clean.
#[derive(Debug, Parser)]
#[command(
    name = "auto-etl",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `auto-etl [OPTIONS]` is `auto-etl run [OPTIONS]`.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the validation cycle (the default).
    Run(RunArgs),
    /// Copy the bundled demo pipeline into a fresh temp git repo and run the loop there.
    Demo(DemoArgs),
    /// Run the failure rules over a log (a file or `-` for stdin).
    Classify(ClassifyArgs),
    /// Run only the cleanup step.
    Cleanup(CleanupArgs),
    /// Render a stored JSON report, or rebuild one from a journal.
    Report(ReportArgs),
    /// List the rules in force (built-in and the config's).
    Rules(RulesArgs),
    /// List a run's git checkpoints.
    Checkpoints(CheckpointsArgs),
    /// Bring a checkpoint back as a branch.
    Restore(RestoreArgs),
    /// Check a run journal's hash chain.
    VerifyJournal(VerifyJournalArgs),
    /// Write a commented auto-etl.toml for the current repository.
    Init(InitArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `auto-etl man | man -l -`.
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckpointModeArg {
    Ref,
    Branch,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    Light,
    Standard,
    Deep,
}

/// Options of a cycle run.
#[derive(Debug, Clone, Default, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(flatten)]
    pub cycle: CycleArgs,
    #[command(flatten)]
    pub phases: PhaseArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Where the configuration comes from and how chatty the agent is.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Configuration")]
pub struct CommonArgs {
    /// The config file [default: auto-etl.toml here or in the nearest parent, up to the repository root]
    #[arg(long, env = "AUTO_ETL_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Debug logging, and each step's output echoed to the console.
    #[arg(long, env = "AUTO_ETL_DEBUG")]
    pub debug: bool,
    /// More log detail (-v, -vv).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// How long and how often to try.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cycle")]
pub struct CycleArgs {
    /// Iterations at most [default: 5]
    #[arg(long, env = "AUTO_ETL_MAX_ITERATIONS")]
    pub max_iterations: Option<u32>,
    /// Wall-clock budget for the whole run, e.g. 30m.
    #[arg(long, env = "AUTO_ETL_MAX_ELAPSED")]
    pub max_elapsed: Option<String>,
    /// Timeout of each step, e.g. 10m (overrides the config's).
    #[arg(long, env = "AUTO_ETL_TIMEOUT")]
    pub timeout: Option<String>,
    /// Initial wait for services, e.g. 10s.
    #[arg(long, env = "AUTO_ETL_SERVICE_WAIT")]
    pub service_wait: Option<String>,
}

/// Which phases run, and how.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Phases")]
pub struct PhaseArgs {
    /// Plan only: print what would run, touch nothing.
    #[arg(long, env = "AUTO_ETL_DRY_RUN")]
    pub dry_run: bool,
    /// No git checkpoints (same as --checkpoint off).
    #[arg(long, env = "AUTO_ETL_NO_COMMIT")]
    pub no_commit: bool,
    /// Checkpoint mode.
    #[arg(long, value_enum, env = "AUTO_ETL_CHECKPOINT")]
    pub checkpoint: Option<CheckpointModeArg>,
    /// Push checkpoints (also in CI, where only this flag allows it).
    #[arg(long)]
    pub push: bool,
    /// After a red run, put the last green checkpoint's files back in the
    /// working tree (HEAD and branches untouched; the failing state stays in
    /// this run's checkpoint). `--rollback=false` turns a config's `true` off.
    #[arg(
        long,
        env = "AUTO_ETL_ROLLBACK",
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub rollback: Option<bool>,
    /// Skip the cleanup phase.
    #[arg(long, env = "AUTO_ETL_NO_CLEANUP")]
    pub no_cleanup: bool,
    /// Let `[cleanup] paths` delete files even when no git checkpoint can
    /// bring them back (no repository, checkpoints off, a failed checkpoint).
    #[arg(
        long,
        env = "AUTO_ETL_ALLOW_UNCHECKED_CLEANUP",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub allow_unchecked_cleanup: bool,
    /// First cleanup level.
    #[arg(long, value_enum, env = "AUTO_ETL_LEVEL")]
    pub level: Option<LevelArg>,
    /// Docker compose project whose resources are cleaned.
    #[arg(long, env = "AUTO_ETL_PROJECT")]
    pub project: Option<String>,
    /// Fail instead of skipping cleanup when Docker is unreachable.
    #[arg(long, env = "AUTO_ETL_REQUIRE_DOCKER")]
    pub require_docker: bool,
}

/// Where results go.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Report directory [default: logs]
    #[arg(long, env = "AUTO_ETL_REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    /// Also write a JUnit XML file.
    #[arg(long, env = "AUTO_ETL_JUNIT")]
    pub junit: Option<PathBuf>,
    /// What goes to stdout at the end.
    #[arg(long, value_enum, env = "AUTO_ETL_FORMAT")]
    pub format: Option<OutputFormat>,
    /// Format of the agent's own log.
    #[arg(long, value_enum, env = "AUTO_ETL_LOG_FORMAT")]
    pub log_format: Option<OutputFormat>,
    /// Also write the run's figures in the Prometheus text format (for a
    /// node_exporter textfile collector).
    #[arg(long, env = "AUTO_ETL_METRICS_FILE")]
    pub metrics_file: Option<PathBuf>,
    /// POST the final verdict as JSON (Slack-compatible `text`) to this
    /// http:// or https:// URL (system roots, or `SSL_CERT_FILE`).
    #[arg(long, env = "AUTO_ETL_NOTIFY")]
    pub notify: Option<String>,
    /// Push the run's metrics to this Prometheus Pushgateway at the end of
    /// the run (interrupted runs too), grouped by job="auto-etl" and
    /// pipeline=<project>.
    #[arg(long, value_name = "URL", env = "AUTO_ETL_PUSHGATEWAY")]
    pub pushgateway: Option<String>,
    /// Progress display on stderr [default: auto: a terminal outside CI]
    #[arg(long, value_enum, env = "AUTO_ETL_PROGRESS")]
    pub progress: Option<ProgressMode>,
}

/// When to draw the progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ProgressMode {
    /// Only when stderr is a terminal and not in CI.
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Directory to create the demo repository in [default: a fresh temp dir]
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the demo repository afterwards.
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    /// Log file, or `-` for stdin [default: -]
    pub file: Option<PathBuf>,
    /// Extra rules file (TOML with [[rules]] tables).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Explain the verdict: which rule won, why the others lost, the
    /// subject and source it found (reads the whole log into memory).
    #[arg(long)]
    pub explain: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CleanupArgs {
    #[arg(long)]
    pub project: Option<String>,
    /// Extra K=V label filter (repeatable, ANDed).
    #[arg(long = "label")]
    pub labels: Vec<String>,
    #[arg(long, value_enum)]
    pub level: Option<LevelArg>,
    /// List what would be removed; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    Junit,
    Html,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// A JSON report (or a journal with --from-journal).
    pub file: PathBuf,
    /// [default: text; json with --from-journal]
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,
    /// Rebuild the report from a run journal.
    #[arg(long)]
    pub from_journal: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct CheckpointsArgs {
    /// Run id (execution_id) to list [default: all runs]
    #[arg(long)]
    pub run: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    /// `RUN:ITER` or `last-green`.
    pub target: String,
    /// Name of the branch to create [default: auto-etl/restore-RUN-ITER]
    #[arg(long)]
    pub to_branch: Option<String>,
    /// Check the checkpoint out into a fresh worktree at this path.
    #[arg(long)]
    pub worktree: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct VerifyJournalArgs {
    pub file: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Overwrite an existing auto-etl.toml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// `man` worked but `--help` did not list it.
    #[test]
    fn the_help_lists_every_command() {
        let help = Cli::command().term_width(100).render_help().to_string();
        assert!(help.contains("  man "), "{help}");
        insta::assert_snapshot!(help);
    }

    #[test]
    fn bare_options_mean_run() {
        let cli = Cli::try_parse_from(["auto-etl", "--max-iterations", "10", "--debug"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.run.cycle.max_iterations, Some(10));
        assert!(cli.run.common.debug);
    }
}
