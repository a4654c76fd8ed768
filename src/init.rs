//! `auto-etl init`: writes a commented `auto-etl.toml` tuned to what the
//! current repository holds (a dbt project, a Makefile, package.json
//! scripts, Python layouts, a compose file and its healthchecks), and keeps
//! `logs/` out of git.

mod detect;

pub use detect::{PlanGuess, StepGuess};

use crate::cli::InitArgs;
use crate::exit;
use std::fmt::Write;
use std::path::{Path, PathBuf};

/// What `init` found in the repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Findings {
    /// The compose file, relative to the repository.
    pub compose_file: Option<String>,
    /// Its `name:`, else the directory-derived compose project name.
    pub project: String,
    /// Host ports the compose file publishes.
    pub ports: Vec<u16>,
    /// Compose services with a healthcheck, as `container:NAME:healthy`.
    pub wait_for: Vec<String>,
    /// How the pipeline runs, when a known layout was found.
    pub plan: Option<PlanGuess>,
    /// Other layouts found but not chosen, e.g. `Makefile (make etl)`.
    pub also: Vec<String>,
}

/// Looks at `dir`.
pub fn inspect(dir: &Path) -> Findings {
    let is_file = |f: &str| dir.join(f).is_file();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let compose_file = [
        "compose.yaml",
        "compose.yml",
        "docker-compose.yml",
        "docker-compose.yaml",
    ]
    .into_iter()
    .find(|f| is_file(f))
    .map(String::from);
    let compose_text = compose_file.as_deref().map(read).unwrap_or_default();
    let project = compose_text
        .lines()
        .find_map(|l| l.strip_prefix("name:"))
        .map(|n| n.trim().trim_matches(['"', '\'']).to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| crate::config::compose_project_name(dir));
    let py = |sub: &str| -> Vec<String> {
        std::fs::read_dir(dir.join(sub))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".py"))
                    .collect()
            })
            .unwrap_or_default()
    };
    // Most specific first: a dbt project's Makefile usually wraps dbt.
    let guesses: Vec<PlanGuess> = [
        detect::dbt(is_file("dbt_project.yml"), is_file("packages.yml")),
        ["Makefile", "makefile", "GNUmakefile"]
            .into_iter()
            .find(|m| is_file(m))
            .and_then(|m| detect::make(&read(m))),
        detect::npm(&read("package.json")),
        detect::python(&py("etl"), &py("tools")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let also = guesses
        .iter()
        .skip(1)
        .map(|g| {
            let runs: Vec<&str> = g.steps.iter().map(|s| s.run.as_str()).collect();
            format!("{} ({})", g.from, runs.join("; "))
        })
        .collect();
    Findings {
        wait_for: detect::healthy_targets(&compose_text, &project),
        compose_file,
        project,
        ports: published_ports(&compose_text),
        plan: guesses.into_iter().next(),
        also,
    }
}

/// Host ports in a compose file's `ports:` entries (`"5432:5432"`,
/// `- 127.0.0.1:8080:80`), in order, without repeats.
fn published_ports(compose: &str) -> Vec<u16> {
    let re = regex::Regex::new(r#"^\s*-\s*["']?(?:[0-9.]+:)?(\d{1,5}):\d{1,5}(?:/\w+)?["']?\s*$"#)
        .expect("static regex");
    let mut out = Vec::new();
    for line in compose.lines() {
        if let Some(p) = re.captures(line).and_then(|c| c[1].parse::<u16>().ok()) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

fn toml_str(s: &str) -> String {
    // TOML basic strings escape like JSON strings.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The commented config for what was found.
pub fn render(f: &Findings) -> String {
    let mut o = String::new();
    o.push_str("# auto-etl configuration: written by `auto-etl init`; edit freely.\n");
    o.push_str("# Precedence: flag > AUTO_ETL_* environment > this file > default.\n\n");
    run_section(&mut o, f);
    o.push_str("\n[cycle]\nmax_iterations = 5\n# max_elapsed = \"1h\"\nservice_wait = \"10s\"            # raised on connection_refused\n");
    o.push_str(
        "[cycle.backoff]\ninitial = \"2s\"\nmultiplier = 2.0\nmax = \"60s\"\njitter = \"full\"\n\n",
    );
    o.push_str("[verify]\n# Markers in the output; [] relies on exit codes alone.\nsuccess_patterns = []\nerror_patterns = [\"❌\", \"FAILED\", \"ERROR\"]\n# expected_files = [\"output/*.csv\"]\n");
    match f.plan.as_ref().and_then(|p| p.validator.as_ref()) {
        Some(v) => {
            let _ = writeln!(o, "validator = {}", toml_str(v));
        }
        None => o.push_str("# validator = \"python3 tools/validate.py\"\n"),
    }
    o.push_str("\n[git]\ncheckpoint = \"ref\"               # ref (HEAD untouched) | branch | off\npush = false\n# After a red run, put the last green checkpoint's files back (HEAD untouched):\nrollback = false\nexclude = [\".env*\"]\n\n");
    o.push_str("[docker]\n");
    match &f.compose_file {
        Some(c) => {
            let _ = writeln!(
                o,
                "# From {c}: resources labelled with this compose project are cleaned."
            );
        }
        None => o.push_str("# No compose file found: the compose project label to clean by.\n"),
    }
    let _ = writeln!(o, "project = {}", toml_str(&f.project));
    o.push_str("level = \"standard\"               # light | standard | deep\n\n");
    o.push_str("[cleanup]\n# Generated files removed before each run (inside the repository only).\npaths = []\n\n");
    o.push_str("[report]\ndir = \"logs\"\n# junit = \"logs/junit.xml\"\n");
    o
}

/// `[orchestrator]` for one command, `[[steps]]` for several, with the
/// readiness targets and what else was found as comments.
fn run_section(o: &mut String, f: &Findings) {
    let Some(plan) = &f.plan else {
        o.push_str("[orchestrator]\n");
        o.push_str("# No known layout found (dbt_project.yml, a Makefile target, package.json\n");
        o.push_str("# scripts, etl/*.py, tools/orchestrate_*.py). REPLACE this placeholder with\n");
        o.push_str("# the command that runs your pipeline, or use [[steps]] tables instead.\n");
        o.push_str(
            "command = \"echo 'auto-etl: set [orchestrator] command in auto-etl.toml' >&2; exit 2\"\n",
        );
        o.push_str("timeout = \"10m\"\n");
        wait_lines(o, f);
        return;
    };
    let _ = writeln!(o, "# Found {}: how this pipeline runs.", plan.from);
    for a in &f.also {
        let _ = writeln!(o, "# Also found: {a}.");
    }
    if let [only] = plan.steps.as_slice() {
        o.push_str("[orchestrator]\n");
        let _ = writeln!(o, "command = {}", toml_str(&only.run));
        o.push_str("timeout = \"10m\"\n");
        wait_lines(o, f);
        return;
    }
    for (i, s) in plan.steps.iter().enumerate() {
        if i > 0 {
            o.push('\n');
        }
        o.push_str("[[steps]]\n");
        let _ = writeln!(o, "name = {}", toml_str(&s.name));
        let _ = writeln!(o, "run = {}", toml_str(&s.run));
        o.push_str("timeout = \"10m\"\n");
        if i == 0 {
            wait_lines(o, f);
        }
    }
}

/// `wait_for`: compose services with a healthcheck are waited for; published
/// ports are offered as a commented alternative.
fn wait_lines(o: &mut String, f: &Findings) {
    if !f.wait_for.is_empty() {
        let targets: Vec<String> = f.wait_for.iter().map(|t| toml_str(t)).collect();
        let _ = writeln!(
            o,
            "# Services with a healthcheck in the compose file: waited for before the\n# run, bounded by the service wait.\nwait_for = [{}]",
            targets.join(", ")
        );
    } else if f.ports.is_empty() {
        o.push_str("# Readiness before the run, bounded by the service wait:\n");
        o.push_str("# wait_for = [\"tcp:127.0.0.1:5432\", \"container:db:healthy\"]\n");
    } else {
        let targets: Vec<String> = f
            .ports
            .iter()
            .map(|p| toml_str(&format!("tcp:127.0.0.1:{p}")))
            .collect();
        let _ = writeln!(
            o,
            "# The compose file publishes these ports; uncomment to wait for them\n# before each run (bounded by the service wait):\n# wait_for = [{}]",
            targets.join(", ")
        );
    }
}

/// What `init` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub config: PathBuf,
    pub gitignore_updated: bool,
    pub findings: Findings,
}

/// Why `init` wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; use --force to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `auto-etl.toml` (and `.gitignore`) in `dir`.
pub fn init_in(dir: &Path, force: bool) -> Result<Written, InitError> {
    let config = dir.join(crate::config::FILE_NAME);
    if config.exists() && !force {
        return Err(InitError::Exists(config));
    }
    let findings = inspect(dir);
    crate::report::write::atomic_write(&config, render(&findings).as_bytes()).map_err(
        |source| InitError::Write {
            path: config.clone(),
            source,
        },
    )?;
    let gitignore_updated = ignore_logs(dir).map_err(|source| InitError::Write {
        path: dir.join(".gitignore"),
        source,
    })?;
    Ok(Written {
        config,
        gitignore_updated,
        findings,
    })
}

/// Adds `logs/` to `.gitignore` unless a line already ignores it.
fn ignore_logs(dir: &Path) -> std::io::Result<bool> {
    let path = dir.join(".gitignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    let ignored = text.lines().map(str::trim).any(|l| {
        matches!(
            l,
            "logs" | "logs/" | "/logs" | "/logs/" | "logs/*" | "/logs/*"
        )
    });
    if ignored {
        return Ok(false);
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str("logs/\n");
    crate::report::write::atomic_write(&path, new.as_bytes())?;
    Ok(true)
}

/// `auto-etl init [--force]` in the working directory.
pub fn run(args: InitArgs) -> anyhow::Result<u8> {
    let dir = std::env::current_dir()?;
    match init_in(&dir, args.force) {
        Ok(w) => {
            println!("wrote {}", w.config.display());
            match &w.findings.plan {
                Some(p) => {
                    let runs: Vec<&str> = p.steps.iter().map(|s| s.run.as_str()).collect();
                    println!("  from {}: {}", p.from, runs.join("; "));
                }
                None => println!("  no known layout found: set [orchestrator] command"),
            }
            if !w.findings.wait_for.is_empty() {
                println!("  waits for {}", w.findings.wait_for.join(", "));
            }
            if let Some(c) = &w.findings.compose_file {
                println!("  docker project {} (from {c})", w.findings.project);
            }
            if w.gitignore_updated {
                println!("  added logs/ to .gitignore");
            }
            Ok(exit::SUCCESS)
        }
        Err(e) => {
            eprintln!("auto-etl: {e}");
            Ok(exit::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_compose_ports_and_scripts() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("docker-compose.yml"),
            "name: etl\nservices:\n  db:\n    ports:\n      - \"5432:5432\"\n      - 127.0.0.1:8123:8123\n      - 5432:5432\n",
        )
        .unwrap();
        std::fs::create_dir(d.join("tools")).unwrap();
        std::fs::write(d.join("tools/orchestrate_etl_init.py"), "").unwrap();
        std::fs::write(d.join("tools/validate_etl_simple.py"), "").unwrap();
        let f = inspect(d);
        assert_eq!(f.project, "etl");
        assert_eq!(f.ports, vec![5432, 8123]);
        let plan = f.plan.clone().unwrap();
        assert_eq!(plan.steps[0].run, "python3 tools/orchestrate_etl_init.py");
        assert_eq!(
            plan.validator.as_deref(),
            Some("python3 tools/validate_etl_simple.py")
        );
        let text = render(&f);
        assert!(text.contains("command = \"python3 tools/orchestrate_etl_init.py\""));
        assert!(text.contains("# wait_for = [\"tcp:127.0.0.1:5432\", \"tcp:127.0.0.1:8123\"]"));
        assert!(text.contains("project = \"etl\""));
    }

    /// `init` found only tools/orchestrate_*.py: not etl/*.py stages, nor
    /// the healthchecks of the compose file.
    #[test]
    fn python_stages_and_healthchecks_become_steps_and_wait_for() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("compose.yaml"),
            "name: shop\nservices:\n  db:\n    image: postgres:16\n    healthcheck:\n      test: [\"CMD-SHELL\", \"pg_isready\"]\n",
        )
        .unwrap();
        std::fs::create_dir(d.join("etl")).unwrap();
        for f in ["extract.py", "transform.py", "load.py"] {
            std::fs::write(d.join("etl").join(f), "").unwrap();
        }
        std::fs::write(d.join("Makefile"), "etl:\n\tpython3 -m etl\n").unwrap();
        let f = inspect(d);
        assert_eq!(f.wait_for, ["container:shop-db-1:healthy"]);
        let text = render(&f);
        insta::assert_snapshot!(text);
        // What init writes must load.
        let args = crate::cli::RunArgs::default();
        let outside = crate::config::Outside {
            cwd: d.to_path_buf(),
            ci: false,
            env_push: false,
        };
        let cfg = crate::config::resolve(
            &text,
            "auto-etl.toml",
            d.to_path_buf(),
            None,
            &args,
            &outside,
        )
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(cfg.steps.len(), 1, "the Makefile target wraps the stages");
        assert_eq!(cfg.steps[0].run, "make etl");
        assert!(text.contains("# Also found: etl/*.py (python3 etl/extract.py; python3 etl/transform.py; python3 etl/load.py)."));
        std::fs::remove_file(d.join("Makefile")).unwrap();
        let text = render(&inspect(d));
        let cfg = crate::config::resolve(
            &text,
            "auto-etl.toml",
            d.to_path_buf(),
            None,
            &args,
            &outside,
        )
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let runs: Vec<&str> = cfg.steps.iter().map(|s| s.run.as_str()).collect();
        assert_eq!(
            runs,
            [
                "python3 etl/extract.py",
                "python3 etl/transform.py",
                "python3 etl/load.py"
            ]
        );
        assert_eq!(cfg.steps[0].wait_for, ["container:shop-db-1:healthy"]);
    }

    #[test]
    fn refuses_to_overwrite_and_does_not_duplicate_the_ignore_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".gitignore"), "/target").unwrap();
        init_in(dir.path(), false).unwrap();
        assert!(matches!(
            init_in(dir.path(), false),
            Err(InitError::Exists(_))
        ));
        let again = init_in(dir.path(), true).unwrap();
        assert!(!again.gitignore_updated);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
            "/target\nlogs/\n"
        );
    }
}
