//! Subcommand dispatch: each command turns its arguments into work and an
//! exit code.

use crate::cli::{Cli, Command, CompletionsArgs, ReportArgs, ReportFormat};
use crate::exit;
use anyhow::Context;
use std::path::PathBuf;

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> u8 {
    let result = match cli.command {
        None => crate::cycle::run_command(cli.run).await,
        Some(Command::Run(args)) => crate::cycle::run_command(args).await,
        Some(Command::Demo(args)) => crate::demo::run(args).await,
        Some(Command::Cleanup(a)) => crate::docker::command::cmd_cleanup(&a).await,
        Some(Command::VerifyJournal(args)) => crate::journal::cmd_verify_journal(args),
        Some(Command::Report(args)) => report(args),
        Some(Command::Init(args)) => crate::init::run(args),
        Some(Command::Completions(args)) => completions(args),
        Some(Command::Man) => man(),
        Some(Command::Checkpoints(a)) => std::env::current_dir()
            .map_err(anyhow::Error::from)
            .and_then(|root| {
                let json = a.format == crate::cli::OutputFormat::Json;
                crate::checkpoint::cmd_checkpoints(
                    &root,
                    a.run.as_deref(),
                    json,
                    &mut std::io::stdout().lock(),
                )
            }),
        Some(Command::Restore(a)) => std::env::current_dir()
            .map_err(anyhow::Error::from)
            .and_then(|root| {
                let to_branch = a.to_branch.as_deref();
                crate::checkpoint::cmd_restore(
                    &root,
                    &a.target,
                    to_branch,
                    a.worktree.as_deref(),
                    &mut std::io::stdout().lock(),
                )
            }),
        Some(Command::Classify(a)) => classify(a),
        Some(Command::Rules(a)) => rules_in_force(None).and_then(|rules| {
            let json = a.format == crate::cli::OutputFormat::Json;
            crate::classify::run_rules(&rules, json, &mut std::io::stdout().lock())
        }),
    };
    match result {
        Ok(code) => code,
        // The reader of our stdout left (`| head`): it has what it wanted.
        Err(e) if exit::is_broken_pipe(&e) => exit::SUCCESS,
        Err(e) => {
            eprintln!("auto-etl: {e:#}");
            exit::USAGE
        }
    }
}

/// The rules in force: the built-ins plus a `--rules` file, else plus the
/// current directory's `auto-etl.toml` rules when there is one.
fn rules_in_force(
    rules_file: Option<&std::path::Path>,
) -> anyhow::Result<std::sync::Arc<crate::classify::RuleSet>> {
    if let Some(path) = rules_file {
        return Ok(std::sync::Arc::new(crate::config::load_rules_file(path)?));
    }
    let cwd = std::env::current_dir()?;
    if cwd.join(crate::config::FILE_NAME).exists() {
        let outside = crate::config::Outside::from_env()?;
        let cfg = crate::config::load(&crate::cli::RunArgs::default(), &outside)?;
        return Ok(cfg.rules);
    }
    Ok(std::sync::Arc::new(crate::classify::RuleSet::builtin()))
}

/// `auto-etl classify [FILE|-]`: 0 when the log holds no failure, 1 when it does.
fn classify(args: crate::cli::ClassifyArgs) -> anyhow::Result<u8> {
    let rules = rules_in_force(args.rules.as_deref())?;
    let style = match (args.explain, args.format) {
        (true, _) => crate::classify::Style::Explain,
        (false, crate::cli::OutputFormat::Json) => crate::classify::Style::Json,
        (false, _) => crate::classify::Style::Text,
    };
    let mut out = std::io::stdout().lock();
    match args.file.as_deref() {
        None => crate::classify::run_classify(&mut std::io::stdin().lock(), rules, style, &mut out),
        Some(p) if p.as_os_str() == "-" => {
            crate::classify::run_classify(&mut std::io::stdin().lock(), rules, style, &mut out)
        }
        Some(p) => {
            let mut file = std::fs::File::open(p)
                .with_context(|| format!("cannot read the log {}", p.display()))?;
            crate::classify::run_classify(&mut file, rules, style, &mut out)
        }
    }
}

/// `auto-etl report FILE --format F`: renders a stored JSON report.
fn report(args: ReportArgs) -> anyhow::Result<u8> {
    // A journal is rebuilt for a machine (CI picking up a crashed run's
    // report), so its default is JSON; a stored report's is text.
    let (report, format, source) = if args.from_journal {
        let report = crate::journal::load_from_journal(&args.file)?;
        let source = PathBuf::from(&report.files.report);
        (report, args.format.unwrap_or(ReportFormat::Json), source)
    } else {
        let text = std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read the report {}", args.file.display()))?;
        let report: crate::report::Report = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an auto-etl report", args.file.display()))?;
        (report, args.format.unwrap_or(ReportFormat::Text), args.file)
    };
    let out = match format {
        ReportFormat::Text => crate::report::render::summary(&report, &source),
        ReportFormat::Markdown => crate::report::markdown::markdown(&report),
        ReportFormat::Junit => crate::report::junit::junit_xml(&report),
        ReportFormat::Html => crate::report::html::html(&report),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report)?;
            s.push('\n');
            s
        }
    };
    exit::write_stdout(out.as_bytes()).context("failed to write the report")?;
    Ok(exit::SUCCESS)
}

/// `auto-etl completions SHELL`.
fn completions(args: CompletionsArgs) -> anyhow::Result<u8> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a failed write.
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "auto-etl", &mut buf);
    exit::write_stdout(&buf).context("failed to write the completions")?;
    Ok(exit::SUCCESS)
}

/// `auto-etl man` (hidden): the man page, in roff, from the CLI definition.
fn man() -> anyhow::Result<u8> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .context("cannot render the man page")?;
    exit::write_stdout(&buf).context("cannot write the man page")?;
    Ok(exit::SUCCESS)
}
