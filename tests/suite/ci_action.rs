//! The composite action's shell steps, run here as GitHub would run them:
//! the install script against a local `file://` release built in the test
//! (checksum verified, mismatch refused, cargo fallback), and the run step's
//! outputs.

use crate::support::pipeline::{Pipeline, FAST};

/// A one-step pipeline that is green at once.
fn green() -> Pipeline {
    Pipeline::new(&format!(
        "[[steps]]\nname = \"load\"\nrun = \"echo rows=3\"\n[cycle]\nmax_iterations = 2\n{FAST}"
    ))
}

/// The repository's root (for its scripts).
fn repo() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

const TARGET: &str = "x86_64-unknown-linux-gnu";

/// Runs `cmd` in `dir` with `sh -c`; panics with its output on failure.
fn sh(dir: &std::path::Path, cmd: &str) {
    let out = std::process::Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A release of the binary under test as release.yml lays it out, under
/// `<dir>/releases/download/v<version>/`, with its `.sha256` from sha256sum.
fn local_release(dir: &std::path::Path, version: &str) -> String {
    let pkg = dir.join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    // The debug binary is hundreds of MB; a launcher of it packs in
    // milliseconds and still runs the real thing.
    std::fs::write(
        pkg.join("auto-etl"),
        format!(
            "#!/bin/sh\nexec '{}' \"$@\"\n",
            crate::support::bin().display()
        ),
    )
    .unwrap();
    sh(&pkg, "chmod +x auto-etl");
    let at = dir.join(format!("releases/download/v{version}"));
    std::fs::create_dir_all(&at).unwrap();
    let asset = format!("auto-etl-{TARGET}.tar.gz");
    sh(
        &pkg,
        &format!("tar -czf '{}/{asset}' auto-etl", at.display()),
    );
    sh(&at, &format!("sha256sum {asset} > {asset}.sha256"));
    format!("file://{}", dir.join("releases").display())
}

/// Runs the action's install script with `vars`.
fn install(vars: &[(&str, String)]) -> std::process::Output {
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(repo().join("scripts/install-auto-etl.sh"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTO_ETL_") || k.starts_with("GITHUB_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("AUTO_ETL_TARGET", TARGET);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A stand-in for `cargo` that records its arguments and "builds" the
/// binary under test into `--root`: the fallback's decision is what is
/// tested, not cargo.
fn cargo_stand_in(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("cargo-stand-in");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nwhile [ \"$1\" != --root ]; do shift; done\nmkdir -p \"$2/bin\"\nprintf '#!/bin/sh\\nexec %s \"$@\"\\n' '{}' > \"$2/bin/auto-etl\"\nchmod +x \"$2/bin/auto-etl\"\n",
            dir.join("cargo-args").display(),
            crate::support::bin().display()
        ),
    )
    .unwrap();
    sh(dir, &format!("chmod +x '{}'", path.display()));
    path
}

#[test]
fn the_action_installs_a_release_binary_after_checking_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let releases = local_release(dir.path(), "9.9.9");
    let dest = dir.path().join("tools/bin");
    let github_path = dir.path().join("github_path");
    let out = install(&[
        ("AUTO_ETL_RELEASES", releases),
        ("AUTO_ETL_VERSION", "v9.9.9".into()),
        ("AUTO_ETL_INSTALL_DIR", dest.display().to_string()),
        ("GITHUB_PATH", github_path.display().to_string()),
        ("AUTO_ETL_CARGO", "false".into()),
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("installed auto-etl-{TARGET}.tar.gz (sha256 ")),
        "{text}"
    );
    assert!(
        text.contains("auto-etl 0."),
        "the installed binary runs: {text}"
    );
    assert_eq!(
        std::fs::read_to_string(&github_path).unwrap().trim(),
        dest.display().to_string()
    );
}

#[test]
fn the_action_refuses_a_binary_whose_sha256_does_not_match_and_builds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let releases = local_release(dir.path(), "9.9.9");
    let sum = dir.path().join(format!(
        "releases/download/v9.9.9/auto-etl-{TARGET}.tar.gz.sha256"
    ));
    let tampered = format!("{}  auto-etl-{TARGET}.tar.gz\n", "0".repeat(64));
    std::fs::write(&sum, tampered).unwrap();
    let dest = dir.path().join("bin");
    let cargo = cargo_stand_in(dir.path());
    let out = install(&[
        ("AUTO_ETL_RELEASES", releases),
        ("AUTO_ETL_VERSION", "9.9.9".into()),
        ("AUTO_ETL_INSTALL_DIR", dest.display().to_string()),
        ("AUTO_ETL_CARGO", cargo.display().to_string()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "checksum mismatch for auto-etl-{TARGET}.tar.gz: expected 0000"
        )),
        "{stderr}"
    );
    assert!(!dest.join("auto-etl").exists());
    assert!(!dir.path().join("cargo-args").exists(), "no fallback build");
}

#[test]
fn the_action_falls_back_to_cargo_install_locked_without_a_release_binary() {
    let dir = tempfile::tempdir().unwrap();
    let releases = local_release(dir.path(), "9.9.9");
    let dest = dir.path().join("bin");
    let cargo = cargo_stand_in(dir.path());
    let out = install(&[
        ("AUTO_ETL_RELEASES", releases),
        ("AUTO_ETL_VERSION", "0.0.1".into()),
        ("AUTO_ETL_INSTALL_DIR", dest.display().to_string()),
        ("AUTO_ETL_CARGO", cargo.display().to_string()),
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("no release binary at file://"), "{text}");
    let args = std::fs::read_to_string(dir.path().join("cargo-args")).unwrap();
    assert!(args.starts_with("install --locked --root "), "{args}");
    assert!(
        args.trim_end().ends_with(" auto-etl --version 0.0.1"),
        "{args}"
    );
    assert!(dest.join("auto-etl").exists());
}

#[test]
fn the_action_run_step_sets_status_stop_code_and_report_path() {
    let pipe = green();
    let ws = pipe.path().parent().unwrap();
    let outputs = pipe.path().join("github_output");
    let bin_dir = crate::support::bin().parent().unwrap().to_path_buf();
    let run = std::process::Command::new("bash")
        .arg(repo().join("scripts/action-run.sh"))
        .current_dir(pipe.path())
        .env(
            "PATH",
            format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap()),
        )
        .env("GITHUB_OUTPUT", &outputs)
        .env("GITHUB_WORKSPACE", ws)
        .env("INPUT_MAX_ITERATIONS", "2")
        .env("INPUT_ARGS", "--progress never")
        .env_remove("CI")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&outputs).unwrap();
    assert!(text.contains("status=success\n"), "{text}");
    assert!(text.contains("stop-code=green\n"), "{text}");
    let dir_name = pipe.path().file_name().unwrap().to_string_lossy();
    assert!(
        text.contains(&format!("report-path={dir_name}/logs/auto_cycle_report_")),
        "{text}"
    );
    assert!(pipe.path().join("logs/junit.xml").exists());
}

#[test]
fn the_action_builds_its_own_source_when_given_one() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("bin");
    let cargo = cargo_stand_in(dir.path());
    // No releases at all (a local `uses: ./`): the checkout is built.
    let out = install(&[
        ("AUTO_ETL_SOURCE", repo().display().to_string()),
        ("AUTO_ETL_INSTALL_DIR", dest.display().to_string()),
        ("AUTO_ETL_CARGO", cargo.display().to_string()),
    ]);
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let args = std::fs::read_to_string(dir.path().join("cargo-args")).unwrap();
    assert!(
        args.trim_end()
            .ends_with(&format!(" --path {}", repo().display())),
        "{args}"
    );
    assert!(dest.join("auto-etl").exists());
}
