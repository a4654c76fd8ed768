//! Issue 14, reproductions 8-10: what steps print reaches the classifier and
//! the logs whole (long lines, `\r` bars, split reads, two streams), secrets
//! never reach the logs, and checkpoints never commit them. Over the real
//! binary, with real steps and `git`.

use crate::support::pipeline::{Pipeline, FAST};
use crate::support::{git, AutoEtl};

#[test]
fn regression_classify_finds_a_failure_at_the_end_of_a_20_mb_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let mut text = b"start\n".to_vec();
    text.extend(std::iter::repeat_n(b'=', 20 << 20));
    text.extend_from_slice(b" psql: could not connect to server: Connection refused\n");
    std::fs::write(&log, &text).unwrap();
    let run = AutoEtl::new(dir.path())
        .args(["classify", "--format", "json"])
        .arg_path(&log)
        .run();
    assert_eq!(run.code, 1, "stdout {} stderr {}", run.stdout, run.stderr);
    let v: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(v["primary"]["class"], "connection_refused", "{v}");
    assert_eq!(v["primary"]["line"], 2, "{v}");
}

fn log_of(pipe: &Pipeline) -> Vec<u8> {
    let report = pipe.report();
    let rel = report["cycles"][0]["log_file"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::read(pipe.path().join(rel)).unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn one_step(run: &str) -> String {
    format!("[[steps]]\nname = \"load\"\nrun = '''{run}'''\n[cycle]\nmax_iterations = 1\n{FAST}")
}

#[test]
fn regression_a_failure_after_a_long_progress_bar_with_exit_0_is_red() {
    let pipe = Pipeline::new(&one_step(
        "i=0; while [ $i -lt 9000 ]; do printf '\\r[=====>     ] 41%% rows'; i=$((i+1)); done; \
         printf '\\rFAILED: could not connect to server: Connection refused\\n'; exit 0",
    ));
    let run = AutoEtl::new(pipe.path()).run();
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    let errors = serde_json::to_string(&report["cycles"][0]["errors"]).unwrap();
    assert!(errors.contains("connection_refused"), "{errors}");
    assert_ne!(report["overall_success"], true);
}

#[test]
fn regression_stdout_lines_are_not_glued_to_a_partial_stderr_line() {
    let pipe = Pipeline::new(&one_step(
        "head -c 100000 /dev/zero | tr '\\0' a >&2; sleep 0.5; echo OUT-LINE; sleep 0.5; echo ' err-tail' >&2",
    ));
    let run = AutoEtl::new(pipe.path()).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log = String::from_utf8(log_of(&pipe)).unwrap();
    assert!(
        log.lines().any(|l| l == "OUT-LINE"),
        "stdout's line is glued to stderr's: {:?}",
        log.lines()
            .map(|l| &l[..l.len().min(40)])
            .collect::<Vec<_>>()
    );
    // Every byte of stderr is still there.
    let a_bytes: usize = log
        .lines()
        .map(|l| l.trim_end_matches(" err-tail"))
        .filter(|l| !l.is_empty() && l.bytes().all(|b| b == b'a'))
        .map(str::len)
        .sum();
    assert_eq!(a_bytes, 100_000);
}

#[test]
fn regression_secrets_split_across_reads_or_without_a_secret_name_are_masked() {
    let pipe = Pipeline::new(&one_step(
        "i=0; while [ $i -lt 12000 ]; do printf 's3cr3t-Value-42  '; i=$((i+1)); done; echo; \
         echo \"helper $DEPLOY_HELPER\"; echo \"db password alone: Pg-pass-9911\"; \
         printf '  -----BEGIN RSA PRIVATE KEY-----\\n  MIIEowIBAAKCAQEA7sEcr\\n  -----END RSA PRIVATE KEY-----\\n'; \
         echo 'PassWord=MixedCase-77'",
    ));
    // The secret comes from the pipeline root's .env, read although the
    // agent runs from another directory.
    pipe.write(".env", "DB_PASSWORD=s3cr3t-Value-42\n");
    let elsewhere = tempfile::tempdir().unwrap();
    let run = AutoEtl::new(elsewhere.path())
        .args(["run", "--config"])
        .arg_path(&pipe.path().join("auto-etl.toml"))
        .env("DEPLOY_HELPER", "ghp_0123456789abcdefghijABCDEFGHIJ012345")
        .env("DATABASE_URL", "postgres://etl:Pg-pass-9911@db:5432/etl")
        .run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let log = log_of(&pipe);
    for secret in [
        "s3cr3t-Value-42",
        "0123456789abcdefghij",
        "Pg-pass-9911",
        "MIIEowIBAAKCAQEA7sEcr",
        "MixedCase-77",
    ] {
        assert!(!contains(&log, secret), "{secret} is in the log in clear");
    }
    assert!(contains(&log, "helper ghp_***"));
    assert!(contains(&log, "db password alone: ***"));
    assert_eq!(
        String::from_utf8_lossy(&log).matches("***  ").count(),
        12000,
        "every copy of the secret is masked, and only it"
    );
}

/// A pipeline in a git repository with one commit, checkpoints in ref mode.
fn repo_pipeline(run: &str) -> Pipeline {
    let toml = format!(
        "[[steps]]\nname = \"load\"\nrun = '''{run}'''\n[cycle]\nmax_iterations = 2\n\
         [cycle.backoff]\ninitial = \"100ms\"\nmax = \"200ms\"\njitter = \"none\"\n\
         [git]\ncheckpoint = \"ref\"\n[verify]\nsuccess_patterns = []\n"
    );
    let pipe = Pipeline::new(&toml);
    let root = pipe.path();
    git(root, &["init", "-q", "-b", "main"]);
    pipe.write(".gitignore", "logs/\n");
    pipe.write("README.md", "etl\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "initial"]);
    pipe
}

#[test]
fn regression_checkpoints_leave_out_env_variants_credentials_and_secret_content() {
    let pipe = repo_pipeline(
        "mkdir -p output; echo \"dsn pw=$DB_PASSWORD\" > output/dump.txt; echo rows > output/ok.txt; \
         echo 'could not connect: Connection refused'; exit 1",
    );
    let root = pipe.path();
    pipe.write(".env-prod", "DB_PASSWORD=x\n");
    pipe.write(".env_local", "DB_PASSWORD=x\n");
    pipe.write(".envrc", "export DB_PASSWORD=x\n");
    pipe.write("deploy/id_ed25519", "key\n");
    pipe.write(".pgpass", "db:5432:*:etl:x\n");
    pipe.write(
        "dbt/profiles.yml",
        "etl:\n  outputs:\n    dev:\n      type: postgres\n      password: hunter22\n",
    );
    pipe.write(".env.staged", "DB_PASSWORD=staged\n");
    git(root, &["add", "-f", ".env.staged"]);
    let run = AutoEtl::new(root).env("DB_PASSWORD", "Chk-s3cret-55").run();
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = pipe.report();
    let cp = &report["cycles"][1]["checkpoint"];
    let commit = cp["commit"].as_str().unwrap_or_else(|| panic!("{report}"));
    let files = git(root, &["ls-tree", "-r", "--name-only", commit]);
    let files: Vec<&str> = files.lines().collect();
    assert!(files.contains(&"output/ok.txt"), "{files:?}");
    assert!(files.contains(&"auto-etl.toml"), "{files:?}");
    for secret in [
        ".env-prod",
        ".env_local",
        ".envrc",
        ".env.staged",
        "deploy/id_ed25519",
        ".pgpass",
        "dbt/profiles.yml",
        "output/dump.txt",
    ] {
        assert!(!files.contains(&secret), "{secret} committed: {files:?}");
    }
    let warnings = serde_json::to_string(&cp["warnings"]).unwrap();
    assert!(warnings.contains("output/dump.txt"), "{warnings}");
    assert!(warnings.contains(".env.staged"), "{warnings}");
    // The user's staged file is still staged.
    let staged = git(root, &["diff", "--cached", "--name-only"]);
    assert!(staged.contains(".env.staged"), "{staged}");
}

#[test]
fn regression_branch_checkpoint_keeps_content_staged_apart_from_the_working_tree() {
    let toml = "[[steps]]\nname = \"load\"\nrun = \"echo ok\"\n[cycle]\nmax_iterations = 1\n\
         [cycle.backoff]\ninitial = \"100ms\"\nmax = \"200ms\"\njitter = \"none\"\n\
         [git]\ncheckpoint = \"branch\"\n[verify]\nsuccess_patterns = []\n";
    let pipe = Pipeline::new(toml);
    let root = pipe.path();
    git(root, &["init", "-q", "-b", "main"]);
    pipe.write(".gitignore", "logs/\n");
    pipe.write("model.sql", "select 1\n");
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "initial"]);
    pipe.write("model.sql", "select 2 -- staged\n");
    git(root, &["add", "model.sql"]);
    pipe.write("model.sql", "select 3 -- working tree\n");
    let run = AutoEtl::new(root).run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        git(root, &["show", ":model.sql"]),
        "select 2 -- staged\n",
        "the staged content was overwritten"
    );
    let report = pipe.report();
    let reason = report["cycles"][0]["checkpoint"]["skipped_reason"].to_string();
    assert!(reason.contains("model.sql"), "{report}");
}
