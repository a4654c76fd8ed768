//! Observers that write a file at the end of the run: the JUnit XML and the
//! Prometheus textfile. Both are written atomically so a collector or a CI
//! upload never reads half a file.

use crate::cycle::events::{Event, Observer};
use crate::report::write::atomic_write;
use std::path::{Path, PathBuf};

fn write(path: &Path, what: &str, text: &str) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = std::fs::create_dir_all(dir);
    }
    match atomic_write(path, text.as_bytes()) {
        Ok(()) => tracing::info!("{what} written to {}", path.display()),
        Err(e) => {
            tracing::warn!("cannot write the {what} {}: {e}", path.display());
            eprintln!("auto-etl: cannot write the {what} {}: {e}", path.display());
        }
    }
}

/// Writes `--junit FILE` at the end of the run.
pub struct JunitWriter {
    path: PathBuf,
}

impl JunitWriter {
    pub fn new(path: PathBuf) -> JunitWriter {
        JunitWriter { path }
    }
}

impl Observer for JunitWriter {
    fn event(&mut self, event: &Event) {
        if let Event::RunEnd { report } = event {
            write(
                &self.path,
                "JUnit report",
                &crate::report::junit::junit_xml(report),
            );
        }
    }
}

/// Writes `--metrics-file FILE` at the end of the run.
pub struct MetricsWriter {
    path: PathBuf,
}

impl MetricsWriter {
    pub fn new(path: PathBuf) -> MetricsWriter {
        MetricsWriter { path }
    }
}

impl Observer for MetricsWriter {
    fn event(&mut self, event: &Event) {
        if let Event::RunEnd { report } = event {
            write(
                &self.path,
                "metrics file",
                &super::prometheus::prometheus_text(report),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;
    use crate::ci::tests_support::feed;

    #[test]
    fn both_files_appear_at_run_end() {
        let dir = tempfile::tempdir().unwrap();
        let junit = dir.path().join("logs/junit.xml");
        let metrics = dir.path().join("metrics/auto_etl.prom");
        feed(&mut JunitWriter::new(junit.clone()), &sample::report());
        feed(&mut MetricsWriter::new(metrics.clone()), &sample::report());
        assert!(std::fs::read_to_string(junit)
            .unwrap()
            .contains("<testsuites"));
        assert!(std::fs::read_to_string(metrics)
            .unwrap()
            .contains("auto_etl_run_success 1"));
    }
}
