//! How each step fared in earlier reports, read from the report directory.
//! A report that cannot be read or is not ours is skipped with a warning,
//! never an error: history only tunes the risk score.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs and successes of one step name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepHistory {
    pub runs: u32,
    pub successes: u32,
}

impl StepHistory {
    /// Successes over runs; None without runs.
    pub fn success_rate(&self) -> Option<f64> {
        (self.runs > 0).then(|| f64::from(self.successes) / f64::from(self.runs))
    }
}

/// Step outcomes from earlier reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    pub steps: BTreeMap<String, StepHistory>,
    /// Reports that were read.
    pub reports: u32,
}

/// Reports larger than this are not read.
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

impl History {
    /// The newest reports read at most.
    pub const MAX_REPORTS: usize = 20;

    pub fn get(&self, step: &str) -> Option<&StepHistory> {
        self.steps.get(step)
    }

    /// Reads the newest `auto_cycle_report_*.json` files of `report_dir`.
    /// A missing directory is no history; anything unreadable is a warning
    /// naming the file.
    pub fn load(report_dir: &Path) -> (History, Vec<String>) {
        let mut history = History::default();
        let mut warnings = Vec::new();
        let entries = match std::fs::read_dir(report_dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (history, warnings),
            Err(e) => {
                warnings.push(format!(
                    "history: cannot list {}: {e}",
                    report_dir.display()
                ));
                return (history, warnings);
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("auto_cycle_report_") && n.ends_with(".json"))
            })
            .collect();
        // The names carry YYYYMMDD_HHMMSS: newest last when sorted.
        files.sort();
        for path in files.iter().rev().take(Self::MAX_REPORTS) {
            if let Err(why) = history.read_file(path) {
                warnings.push(format!("history: skipped {}: {why}", path.display()));
            }
        }
        (history, warnings)
    }

    fn read_file(&mut self, path: &Path) -> Result<(), String> {
        let size = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
        if size > MAX_REPORT_BYTES {
            return Err(format!("{size} bytes is too large for a report"));
        }
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        self.add_report_text(&text)
    }

    /// Adds one report's step outcomes. Counts `success` as a good run and
    /// `failed`/`timeout` as a bad one; other statuses (interrupted,
    /// skipped) say nothing about the step and are left out.
    pub fn add_report_text(&mut self, text: &str) -> Result<(), String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let cycles = v
            .get("cycles")
            .and_then(|c| c.as_array())
            .ok_or("no `cycles` list: not an auto-etl report")?;
        let mut partial = 0;
        for step in cycles
            .iter()
            .filter_map(|c| c.get("steps").and_then(|s| s.as_array()))
            .flatten()
        {
            let name = step.get("name").and_then(|n| n.as_str());
            let status = step.get("status").and_then(|s| s.as_str());
            let (Some(name), Some(status)) = (name, status) else {
                partial += 1;
                continue;
            };
            let good = match status {
                "success" => true,
                "failed" | "timeout" => false,
                _ => continue,
            };
            let h = self.steps.entry(name.to_string()).or_default();
            h.runs += 1;
            h.successes += u32::from(good);
        }
        self.reports += 1;
        if partial > 0 {
            return Err(format!(
                "{partial} step records without a name or status were left out"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(steps: &[&[(&str, &str)]]) -> String {
        let cycles: Vec<_> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let steps: Vec<_> = s
                    .iter()
                    .map(|(n, st)| json!({"name": n, "status": st, "duration_ms": 5}))
                    .collect();
                json!({"iteration": i + 1, "steps": steps})
            })
            .collect();
        json!({"schema_version": 1, "cycles": cycles}).to_string()
    }

    #[test]
    fn counts_runs_and_successes_per_step() {
        let mut h = History::default();
        h.add_report_text(&report(&[
            &[("extract", "success"), ("load", "failed")],
            &[("extract", "success"), ("load", "timeout")],
            &[("extract", "interrupted"), ("load", "success")],
        ]))
        .unwrap();
        assert_eq!(
            h.get("extract"),
            Some(&StepHistory {
                runs: 2,
                successes: 2
            })
        );
        assert_eq!(
            h.get("load"),
            Some(&StepHistory {
                runs: 3,
                successes: 1
            })
        );
        assert_eq!(h.get("other"), None);
        assert_eq!(h.reports, 1);
    }

    #[test]
    fn bad_reports_are_reasons_not_errors() {
        // (text, reason contains)
        let table = [
            ("{\"cycles\": [", "not valid JSON"),
            ("", "not valid JSON"),
            ("[1, 2]", "not an auto-etl report"),
            ("{\"something\": \"else\"}", "not an auto-etl report"),
            (
                "{\"cycles\": [{\"steps\": [{\"name\": \"a\"}, {\"name\": \"b\", \"status\": \"success\"}]}]}",
                "1 step records without a name or status",
            ),
        ];
        for (text, want) in table {
            let err = History::default().add_report_text(text).unwrap_err();
            assert!(err.contains(want), "{text:?}: {err}");
        }
        // A seed report without step records is fine and says nothing.
        let mut h = History::default();
        h.add_report_text("{\"cycles\": [{\"iteration\": 1, \"success\": true}]}")
            .unwrap();
        assert!(h.steps.is_empty());
    }

    #[test]
    fn load_reads_the_newest_reports_and_warns_about_broken_ones() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for i in 0..25 {
            let name = format!("auto_cycle_report_20250101_{:06}.json", i);
            let status = if i >= 5 { "success" } else { "failed" };
            std::fs::write(d.join(name), report(&[&[("load", status)]])).unwrap();
        }
        std::fs::write(d.join("auto_cycle_report_20250102_000000.json"), "{\"cyc").unwrap();
        std::fs::write(d.join("auto_cycle_20250102_000000.log"), "not a report").unwrap();
        std::fs::write(d.join("other.json"), "{}").unwrap();
        let (h, warnings) = History::load(d);
        // The newest 20 files: the broken one and 19 good ones (i = 6..=24).
        assert_eq!(h.reports, 19);
        assert_eq!(
            h.get("load"),
            Some(&StepHistory {
                runs: 19,
                successes: 19
            })
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("auto_cycle_report_20250102_000000.json"));
        assert!(warnings[0].contains("not valid JSON"));
    }

    /// The report's own step records are what history reads back.
    #[test]
    fn reads_the_step_records_the_report_writes() {
        let record = |name: &str, status: &str| crate::report::StepRecord {
            name: name.into(),
            status: status.into(),
            exit_code: Some(0),
            duration_ms: 10,
            waited_ms: 0,
            performance_metrics: Default::default(),
        };
        let cycle = json!({"steps": [record("extract", "success"), record("load", "timeout")]});
        let mut h = History::default();
        h.add_report_text(&json!({"cycles": [cycle]}).to_string())
            .unwrap();
        assert_eq!(
            h.get("extract"),
            Some(&StepHistory {
                runs: 1,
                successes: 1
            })
        );
        assert_eq!(
            h.get("load"),
            Some(&StepHistory {
                runs: 1,
                successes: 0
            })
        );
    }

    #[test]
    fn a_missing_directory_is_no_history() {
        let (h, w) = History::load(Path::new("/nonexistent/auto-etl/logs"));
        assert_eq!(h, History::default());
        assert!(w.is_empty());
    }
}
