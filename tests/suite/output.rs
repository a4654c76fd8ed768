//! Issue 14, reproductions 8-10: what steps print reaches the classifier and
//! the logs whole (long lines, `\r` bars, split reads, two streams), secrets
//! never reach the logs, and checkpoints never commit them. Over the real
//! binary, with real steps and `git`.

use crate::support::AutoEtl;

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
