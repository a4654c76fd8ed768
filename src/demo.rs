//! `auto-etl demo`: copies the bundled demo pipeline into a fresh git
//! repository in a temporary directory and runs the full loop there.
//! Nothing outside that directory is touched.

use crate::cli::DemoArgs;
use crate::config::{self, Outside};
use crate::exit;
use std::path::Path;

/// The demo pipeline's files, embedded at build time.
const FILES: &[(&str, &str)] = &[
    (
        "auto-etl.toml",
        include_str!("../fixtures/demo-pipeline/auto-etl.toml"),
    ),
    (
        "data/sales.csv",
        include_str!("../fixtures/demo-pipeline/data/sales.csv"),
    ),
    (
        "tools/warehouse.py",
        include_str!("../fixtures/demo-pipeline/tools/warehouse.py"),
    ),
    (
        "tools/extract.py",
        include_str!("../fixtures/demo-pipeline/tools/extract.py"),
    ),
    (
        "tools/transform.py",
        include_str!("../fixtures/demo-pipeline/tools/transform.py"),
    ),
    (
        "tools/load.py",
        include_str!("../fixtures/demo-pipeline/tools/load.py"),
    ),
    (
        "tools/validate_etl.py",
        include_str!("../fixtures/demo-pipeline/tools/validate_etl.py"),
    ),
    (".gitignore", "output/\ngenerated/\n"),
];

/// Runs the demo; returns the exit code of the loop.
pub async fn run(args: DemoArgs) -> anyhow::Result<u8> {
    let base = match &args.dir {
        Some(d) => {
            if d.exists() && std::fs::read_dir(d)?.next().is_some() {
                eprintln!("auto-etl: demo directory {} is not empty", d.display());
                return Ok(exit::USAGE);
            }
            std::fs::create_dir_all(d)?;
            d.canonicalize()?
        }
        None => tempfile::Builder::new()
            .prefix("auto-etl-demo-")
            .tempdir()?
            .keep(),
    };
    let repo = base.join("pipeline");
    write_pipeline(&repo)?;
    init_repo(&repo)?;
    eprintln!("auto-etl demo: pipeline repository at {}", repo.display());

    let mut run_args = args.run.clone();
    run_args.common.config = Some(repo.join(config::FILE_NAME));
    // A Docker scope of its own, whatever AUTO_ETL_PROJECT says: the demo
    // must never clean up a real pipeline's containers or volumes.
    run_args.phases.project = Some(format!("auto-etl-demo-{}", std::process::id()));
    if run_args.output.report_dir.is_none() {
        run_args.output.report_dir = Some(base.join("logs"));
    }
    let outside = Outside {
        cwd: repo.clone(),
        ..Outside::from_env()?
    };
    let cfg = match config::load(&run_args, &outside) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("auto-etl: {e}");
            return Ok(exit::USAGE);
        }
    };
    let report_dir = cfg.report_dir.clone();
    let code = crate::cycle::run_with_outputs(cfg, &run_args.output).await;
    if args.keep || args.dir.is_some() {
        eprintln!(
            "auto-etl demo: kept the pipeline repository at {}",
            repo.display()
        );
    } else if let Err(e) = std::fs::remove_dir_all(&repo) {
        eprintln!("auto-etl demo: could not remove {}: {e}", repo.display());
    }
    eprintln!(
        "auto-etl demo: reports and logs in {}",
        report_dir.display()
    );
    Ok(code)
}

fn write_pipeline(repo: &Path) -> std::io::Result<()> {
    for (name, text) in FILES {
        let path = repo.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn init_repo(repo: &Path) -> Result<(), git2::Error> {
    let git = git2::Repository::init(repo)?;
    let mut index = git.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.write()?;
    let tree = git.find_tree(index.write_tree()?)?;
    let sig = git
        .signature()
        .or_else(|_| git2::Signature::now("auto-etl demo", "auto-etl@localhost"))?;
    git.commit(Some("HEAD"), &sig, &sig, "Demo ETL pipeline", &tree, &[])?;
    Ok(())
}
