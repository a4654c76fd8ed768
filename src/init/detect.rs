//! What `init` recognises in a repository: how the pipeline is run (a dbt
//! project, a Makefile, package.json scripts, Python layouts) and which
//! compose services declare a healthcheck to wait for. Each detector reads
//! the file's text and returns data, so they get table tests.

/// One step `init` proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepGuess {
    pub name: String,
    pub run: String,
}

/// How the pipeline runs, and from what that was concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanGuess {
    /// `dbt_project.yml`, `Makefile`, `package.json`, `etl/*.py`, ...
    pub from: String,
    pub steps: Vec<StepGuess>,
    /// A command that checks the result, when the layout has one.
    pub validator: Option<String>,
}

fn step(name: &str, run: impl Into<String>) -> StepGuess {
    StepGuess {
        name: name.into(),
        run: run.into(),
    }
}

/// A dbt project: dependencies when `packages.yml` is there, then `dbt
/// build` (models, seeds, snapshots and tests in DAG order).
pub fn dbt(has_project: bool, has_packages: bool) -> Option<PlanGuess> {
    if !has_project {
        return None;
    }
    let mut steps = Vec::new();
    if has_packages {
        steps.push(step("deps", "dbt deps"));
    }
    steps.push(step("build", "dbt build"));
    Some(PlanGuess {
        from: "dbt_project.yml".into(),
        steps,
        validator: None,
    })
}

/// The targets a Makefile defines (`name:` at the start of a line, not
/// special `.TARGETS`, not variable assignments `X := y`).
pub fn make_targets(makefile: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in makefile.lines() {
        if line.starts_with(['\t', ' ', '#', '.']) {
            continue;
        }
        let Some((head, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') || head.contains('=') || head.contains('$') {
            continue;
        }
        for t in head.split_whitespace() {
            if !out.iter().any(|o| o == t) {
                out.push(t.to_string());
            }
        }
    }
    out
}

/// Targets that run a pipeline, best first.
const RUN_TARGETS: [&str; 5] = ["etl", "pipeline", "run", "load", "all"];
/// Targets that check one.
const CHECK_TARGETS: [&str; 4] = ["validate", "verify", "check", "test"];

/// A Makefile with a target that runs the pipeline.
pub fn make(makefile: &str) -> Option<PlanGuess> {
    let targets = make_targets(makefile);
    let run = RUN_TARGETS
        .iter()
        .find(|t| targets.iter().any(|x| x == *t))?;
    let validator = CHECK_TARGETS
        .iter()
        .find(|t| targets.iter().any(|x| x == *t))
        .map(|t| format!("make {t}"));
    Some(PlanGuess {
        from: "Makefile".into(),
        steps: vec![step(run, format!("make {run}"))],
        validator,
    })
}

/// Scripts that run a pipeline, best first.
const RUN_SCRIPTS: [&str; 5] = ["etl", "pipeline", "run", "start", "build"];

/// package.json `scripts` that run a pipeline (`npm run etl`), and `npm
/// test` as the validator unless it is npm's placeholder.
pub fn npm(package_json: &str) -> Option<PlanGuess> {
    let v: serde_json::Value = serde_json::from_str(package_json).ok()?;
    let scripts = v.get("scripts")?.as_object()?;
    let run = RUN_SCRIPTS.iter().find(|s| scripts.contains_key(**s))?;
    let validator = scripts
        .get("test")
        .and_then(|t| t.as_str())
        .filter(|t| !t.contains("no test specified"))
        .map(|_| "npm test".to_string());
    Some(PlanGuess {
        from: "package.json".into(),
        steps: vec![step(run, format!("npm run {run}"))],
        validator,
    })
}

/// Python layouts, from the `.py` files of `etl/` and `tools/`:
/// `etl/extract.py`, `transform.py`, `load.py` as three steps; an
/// `etl/__main__.py` as `python3 -m etl`; `etl/main.py`/`run.py`; then
/// `tools/orchestrate_*.py` (or `tools/run*.py`). `tools/validate_*.py`
/// is the validator.
pub fn python(etl: &[String], tools: &[String]) -> Option<PlanGuess> {
    let has = |files: &[String], n: &str| files.iter().any(|f| f == n);
    let first = |files: &[String], prefix: &str| {
        let mut m: Vec<&String> = files.iter().filter(|f| f.starts_with(prefix)).collect();
        m.sort();
        m.first().map(|s| s.to_string())
    };
    let validator = first(tools, "validate").map(|v| format!("python3 tools/{v}"));
    let stages: Vec<StepGuess> = ["extract", "transform", "load"]
        .iter()
        .filter(|s| has(etl, &format!("{s}.py")))
        .map(|s| step(s, format!("python3 etl/{s}.py")))
        .collect();
    let (from, steps) = if stages.len() >= 2 {
        ("etl/*.py", stages)
    } else if has(etl, "__main__.py") {
        ("etl/__main__.py", vec![step("etl", "python3 -m etl")])
    } else if let Some(main) = ["main.py", "run.py", "pipeline.py"]
        .iter()
        .find(|m| has(etl, m))
    {
        ("etl/*.py", vec![step("etl", format!("python3 etl/{main}"))])
    } else if let Some(o) = first(tools, "orchestrate").or_else(|| first(tools, "run")) {
        (
            "tools/*.py",
            vec![step("orchestrator", format!("python3 tools/{o}"))],
        )
    } else {
        return None;
    };
    Some(PlanGuess {
        from: from.into(),
        steps,
        validator,
    })
}

/// Compose services that declare a `healthcheck:`, as readiness targets
/// (`container:NAME:healthy`): the service's `container_name`, else the
/// name Compose v2 gives it, `<project>-<service>-1`.
pub fn healthy_targets(compose: &str, project: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_services = false;
    let mut service_indent = None;
    let mut current: Option<(String, Option<String>, bool)> = None;
    let flush = |c: Option<(String, Option<String>, bool)>, out: &mut Vec<String>| {
        if let Some((name, container, true)) = c {
            let name = container.unwrap_or_else(|| format!("{project}-{name}-1"));
            out.push(format!("container:{name}:healthy"));
        }
    };
    for line in compose.lines() {
        let trimmed = line.trim_end();
        if trimmed.trim_start().is_empty() || trimmed.trim_start().starts_with('#') {
            continue;
        }
        let indent = trimmed.len() - trimmed.trim_start().len();
        let text = trimmed.trim_start();
        if indent == 0 {
            flush(current.take(), &mut out);
            in_services = text == "services:";
            service_indent = None;
            continue;
        }
        if !in_services {
            continue;
        }
        let service_level = *service_indent.get_or_insert(indent);
        if indent == service_level {
            flush(current.take(), &mut out);
            if let Some(name) = text.strip_suffix(':') {
                current = Some((name.trim_matches(['"', '\'']).to_string(), None, false));
            }
        } else if let Some(c) = current.as_mut() {
            if text.starts_with("healthcheck:") {
                c.2 = true;
            } else if let Some(n) = text.strip_prefix("container_name:") {
                c.1 = Some(n.trim().trim_matches(['"', '\'']).to_string());
            }
        }
    }
    flush(current.take(), &mut out);
    out
}

#[cfg(test)]
mod tests;
