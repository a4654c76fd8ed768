//! GitHub Actions: a log group per iteration, error annotations for
//! classified failures, warnings for adjustments, and the Markdown step
//! summary at the end. Workflow commands go to stderr (GitHub reads both
//! streams) so stdout stays the run's result.

use crate::cycle::events::Event;
use crate::report::markdown::{step_summary, GITHUB_SUMMARY_LIMIT};
use std::io::Write;
use std::path::{Path, PathBuf};

/// GitHub shows at most 10 error and 10 warning annotations per step.
const MAX_ANNOTATIONS: usize = 10;
/// Errors annotated per iteration, so one bad iteration does not use all.
const PER_ITERATION: usize = 3;

/// Escapes the message of a workflow command.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`file=`, `title=`) of a workflow command.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// Writes GitHub workflow commands for the run's events.
pub struct GithubObserver {
    out: Box<dyn Write + Send>,
    root: PathBuf,
    workspace: Option<PathBuf>,
    step_summary: Option<PathBuf>,
    output_file: Option<PathBuf>,
    open_group: bool,
    errors: usize,
    warnings: usize,
}

impl GithubObserver {
    pub fn new(
        out: Box<dyn Write + Send>,
        root: PathBuf,
        workspace: Option<PathBuf>,
        step_summary: Option<PathBuf>,
    ) -> GithubObserver {
        GithubObserver {
            out,
            root,
            workspace,
            step_summary,
            output_file: None,
            open_group: false,
            errors: 0,
            warnings: 0,
        }
    }

    /// Also records `summary_written=true` in this `GITHUB_OUTPUT` file.
    pub fn with_output_file(mut self, path: Option<PathBuf>) -> GithubObserver {
        self.output_file = path;
        self
    }

    /// An iteration log's path as GitHub wants it: relative to the workspace.
    fn annotation_path(&self, log_file: &str) -> String {
        let abs = self.root.join(log_file);
        match &self.workspace {
            Some(ws) => abs.strip_prefix(ws).unwrap_or(&abs).display().to_string(),
            None => log_file.to_string(),
        }
    }

    fn line(&mut self, text: &str) {
        // A CI log that cannot be written has nowhere to report to.
        let _ = writeln!(self.out, "{text}");
        let _ = self.out.flush();
    }

    fn end_group(&mut self) {
        if self.open_group {
            self.open_group = false;
            self.line("::endgroup::");
        }
    }

    fn append_summary(&mut self, report: &crate::report::Report) {
        let Some(path) = self.step_summary.clone() else {
            return;
        };
        // Other steps of the job may have written to the file already; the
        // limit is for the whole file.
        let used = std::fs::metadata(&path)
            .map(|m| m.len() as usize)
            .unwrap_or(0);
        let budget = GITHUB_SUMMARY_LIMIT.saturating_sub(used + 1);
        let text = step_summary(report, budget);
        let written = append(&path, &text).and_then(|()| match &self.output_file {
            Some(out) => append(out, "summary_written=true\n"),
            None => Ok(()),
        });
        if let Err(e) = written {
            self.line(&format!(
                "::warning::{}",
                escape_data(&format!(
                    "auto-etl: cannot write the step summary {}: {e}",
                    path.display()
                ))
            ));
        }
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    // GITHUB_STEP_SUMMARY is a file GitHub hands each step to append to; it
    // is not ours to replace, so this is an append rather than atomic_write.
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

impl crate::cycle::events::Observer for GithubObserver {
    fn event(&mut self, event: &Event) {
        match event {
            Event::IterationStart { iteration } => {
                self.end_group();
                self.open_group = true;
                self.line(&format!("::group::Iteration {iteration}"));
            }
            Event::Classified {
                log_file, matches, ..
            } => {
                let file = escape_property(&self.annotation_path(log_file));
                for m in matches.iter().take(PER_ITERATION) {
                    if self.errors >= MAX_ANNOTATIONS {
                        break;
                    }
                    self.errors += 1;
                    let text = format!(
                        "::error file={file},line={},title={}::{}",
                        m.line,
                        escape_property(&format!("auto-etl: {}", m.class)),
                        escape_data(&format!("{}: {}", m.class, m.excerpt))
                    );
                    self.line(&text);
                }
            }
            Event::Adjustment { iteration, text } if self.warnings < MAX_ANNOTATIONS => {
                self.warnings += 1;
                let msg = format!(
                    "::warning title={}::{}",
                    escape_property(&format!("auto-etl adjustment after iteration {iteration}")),
                    escape_data(text)
                );
                self.line(&msg);
            }
            Event::IterationEnd { .. } => self.end_group(),
            Event::RunEnd { report } => {
                self.end_group();
                self.append_summary(report);
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.end_group();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci::sample;
    use crate::ci::tests_support::{feed, SharedBuf};

    #[test]
    fn escapes_follow_githubs_rules() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
    }

    #[test]
    fn groups_annotations_and_summary() {
        let buf = SharedBuf::default();
        let dir = tempfile::tempdir().unwrap();
        let summary = dir.path().join("summary.md");
        std::fs::write(&summary, "earlier step\n").unwrap();
        let outputs = dir.path().join("outputs");
        let mut o = GithubObserver::new(
            Box::new(buf.clone()),
            PathBuf::from("/w/pipeline"),
            Some(PathBuf::from("/w")),
            Some(summary.clone()),
        )
        .with_output_file(Some(outputs.clone()));
        feed(&mut o, &sample::report());
        let out = buf.text();
        assert_eq!(out.matches("::group::Iteration").count(), 3, "{out}");
        assert_eq!(out.matches("::endgroup::").count(), 3, "{out}");
        assert!(out.contains(
            "::error file=pipeline/logs/orchestrator_iteration_1_20250109_123456.log,line=41,title=auto-etl%3A connection_refused::connection_refused: could not connect to server: Connection refused"
        ), "{out}");
        assert!(out.contains("::warning title=auto-etl adjustment after iteration 2::cleanup standard -> deep (already_exists)"), "{out}");
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(md.starts_with("earlier step\n## auto-etl ✅ GREEN"), "{md}");
        assert_eq!(
            std::fs::read_to_string(outputs).unwrap(),
            "summary_written=true\n"
        );
    }
}
