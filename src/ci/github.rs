//! GitHub Actions: a log group per iteration, annotations for classified
//! failures once the verdict is known, notices for adjustments, and the
//! Markdown step summary at the end. Workflow commands go to stderr (GitHub
//! reads both streams) so stdout stays the run's result.
//!
//! A fault the run healed is a `::warning`; `::error` is kept for the faults
//! of a red verdict's last iteration, so a green job shows no error. An
//! annotation points at the repository file and line the error names (its
//! `source`); an iteration log is gitignored and not in the pull request, so
//! without a source the annotation carries no file.

use crate::classify::Match;
use crate::cycle::events::Event;
use crate::report::markdown::{step_summary, GITHUB_SUMMARY_LIMIT};
use std::io::Write;
use std::path::{Path, PathBuf};

/// GitHub shows at most 10 annotations of each level per step.
const MAX_ANNOTATIONS: usize = 10;
/// Faults annotated per iteration, so one bad iteration does not use all.
const PER_ITERATION: usize = 3;

/// The classified failures of one iteration, kept until the verdict.
#[derive(Debug, Clone)]
pub struct Classified {
    pub iteration: u32,
    pub matches: Vec<Match>,
}

/// How the run ended, as far as annotations care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Green: every earlier fault was healed.
    Green,
    /// Red, with the iteration whose faults it ended on (`None`: unknown,
    /// as when the run stopped before its verdict).
    Red { last: Option<u32> },
}

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
    pending: Vec<Classified>,
    notices: usize,
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
            pending: Vec::new(),
            notices: 0,
        }
    }

    /// Also records `summary_written=true` in this `GITHUB_OUTPUT` file.
    pub fn with_output_file(mut self, path: Option<PathBuf>) -> GithubObserver {
        self.output_file = path;
        self
    }

    /// Writes the annotations of the kept failures under `verdict`.
    fn annotate(&mut self, verdict: Verdict) {
        let pending = std::mem::take(&mut self.pending);
        let locate = |src: &str| source_location(src, &self.root, self.workspace.as_deref());
        for line in annotations(&pending, verdict, locate) {
            self.line(&line);
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
                iteration, matches, ..
            } if !matches.is_empty() => self.pending.push(Classified {
                iteration: *iteration,
                matches: matches.clone(),
            }),
            Event::Adjustment { iteration, text } if self.notices < MAX_ANNOTATIONS => {
                self.notices += 1;
                let msg = format!(
                    "::notice title={}::{}",
                    escape_property(&format!("auto-etl adjustment after iteration {iteration}")),
                    escape_data(text)
                );
                self.line(&msg);
            }
            Event::IterationEnd { .. } => self.end_group(),
            Event::RunEnd { report } => {
                self.end_group();
                let verdict = if report.overall_success {
                    Verdict::Green
                } else {
                    Verdict::Red {
                        last: report.cycles.last().map(|c| c.iteration),
                    }
                };
                self.annotate(verdict);
                self.append_summary(report);
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        self.end_group();
        // A run that ended without its report: nothing shows it healed.
        self.annotate(Verdict::Red { last: None });
    }
}

/// The workflow commands for `kept` under `verdict` (pure). `locate` turns
/// a match's `source` into a workspace-relative file and line.
pub fn annotations(
    kept: &[Classified],
    verdict: Verdict,
    locate: impl Fn(&str) -> Option<(String, Option<u64>)>,
) -> Vec<String> {
    let mut out = Vec::new();
    let (mut errors, mut warnings) = (0, 0);
    for c in kept {
        let red_here = match verdict {
            Verdict::Green => false,
            Verdict::Red { last } => last.is_none_or(|n| n == c.iteration),
        };
        for m in c.matches.iter().take(PER_ITERATION) {
            let count = if red_here { &mut errors } else { &mut warnings };
            if *count >= MAX_ANNOTATIONS {
                break;
            }
            *count += 1;
            let (level, title) = if red_here {
                ("error", format!("auto-etl: {}", m.class))
            } else {
                let word = if verdict == Verdict::Green {
                    "healed"
                } else {
                    "earlier"
                };
                (
                    "warning",
                    format!("auto-etl: {word} {} (iteration {})", m.class, c.iteration),
                )
            };
            let mut props = Vec::new();
            if let Some((file, line)) = m.source.as_deref().and_then(&locate) {
                props.push(format!("file={}", escape_property(&file)));
                if let Some(line) = line {
                    props.push(format!("line={line}"));
                }
            }
            props.push(format!("title={}", escape_property(&title)));
            let about = m
                .subject
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            out.push(format!(
                "::{level} {}::{}",
                props.join(","),
                escape_data(&format!("{}{about}: {}", m.class, m.excerpt))
            ));
        }
    }
    out
}

/// A `file[:line]` source as GitHub wants it: relative to the workspace.
/// A relative path is taken from the pipeline's root; a file outside the
/// workspace cannot be annotated.
pub fn source_location(
    source: &str,
    root: &Path,
    workspace: Option<&Path>,
) -> Option<(String, Option<u64>)> {
    let (file, line) = match source.rsplit_once(':') {
        Some((f, l)) if l.parse::<u64>().is_ok() => (f, l.parse().ok()),
        _ => (source, None),
    };
    if file.trim().is_empty() {
        return None;
    }
    let abs = root.join(file);
    let rel = match workspace {
        Some(ws) => abs.strip_prefix(ws).ok()?.to_path_buf(),
        None if Path::new(file).is_absolute() => return None,
        None => PathBuf::from(file),
    };
    Some((rel.display().to_string(), line))
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
        // Healed: warnings, no error, and no file (the sample names no source).
        assert!(!out.contains("::error"), "{out}");
        assert!(out.contains(
            "::warning title=auto-etl%3A healed connection_refused (iteration 1)::connection_refused: could not connect to server: Connection refused"
        ), "{out}");
        assert!(out.contains("::notice title=auto-etl adjustment after iteration 2::cleanup standard -> deep (already_exists)"), "{out}");
        let md = std::fs::read_to_string(&summary).unwrap();
        assert!(md.starts_with("earlier step\n## auto-etl ✅ GREEN"), "{md}");
        assert_eq!(
            std::fs::read_to_string(outputs).unwrap(),
            "summary_written=true\n"
        );
    }

    fn kept(iteration: u32, class: &str, source: Option<&str>) -> Classified {
        let mut m: Match = serde_json::from_value(serde_json::json!({
            "class": class, "rule_id": format!("builtin-{class}"), "retryable": true,
            "line": 9, "excerpt": format!("{class} here")
        }))
        .unwrap();
        m.source = source.map(str::to_string);
        Classified {
            iteration,
            matches: vec![m],
        }
    }

    #[test]
    fn the_verdict_decides_the_level_and_the_source_the_file() {
        let kept = [
            kept(1, "connection_refused", Some("etl/load.py:42")),
            kept(2, "timeout", None),
        ];
        let locate = |s: &str| source_location(s, Path::new("/w/p"), Some(Path::new("/w")));
        let green = annotations(&kept, Verdict::Green, locate);
        assert_eq!(
            green,
            [
                "::warning file=p/etl/load.py,line=42,title=auto-etl%3A healed connection_refused (iteration 1)::connection_refused: connection_refused here",
                "::warning title=auto-etl%3A healed timeout (iteration 2)::timeout: timeout here",
            ]
        );
        let red = annotations(&kept, Verdict::Red { last: Some(2) }, locate);
        assert!(
            red[0].starts_with(
                "::warning file=p/etl/load.py,line=42,title=auto-etl%3A earlier connection_refused"
            ),
            "{red:?}"
        );
        assert_eq!(
            red[1],
            "::error title=auto-etl%3A timeout::timeout: timeout here"
        );
        let unknown = annotations(&kept, Verdict::Red { last: None }, locate);
        assert!(
            unknown.iter().all(|l| l.starts_with("::error")),
            "{unknown:?}"
        );
    }

    #[test]
    fn sources_resolve_against_the_root_and_the_workspace() {
        let root = Path::new("/w/pipeline");
        let ws = Some(Path::new("/w"));
        type Want<'a> = Option<(&'a str, Option<u64>)>;
        let cases: [(&str, Option<&Path>, Want); 6] = [
            (
                "models/x.sql:7",
                ws,
                Some(("pipeline/models/x.sql", Some(7))),
            ),
            (
                "/w/pipeline/etl.py:3",
                ws,
                Some(("pipeline/etl.py", Some(3))),
            ),
            ("etl.py", ws, Some(("pipeline/etl.py", None))),
            ("/usr/lib/python3/x.py:1", ws, None),
            ("etl.py:12", None, Some(("etl.py", Some(12)))),
            (":5", ws, None),
        ];
        for (src, ws, want) in cases {
            let got = source_location(src, root, ws);
            let want = want.map(|(f, l)| (f.to_string(), l));
            assert_eq!(got, want, "{src}");
        }
    }
}
