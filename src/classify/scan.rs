//! The streaming scanner: one pass over a log for every rule and marker.

use super::{FailureClass, Match, RuleSet};
use std::sync::Arc;

/// Verify markers, compiled once.
#[derive(Debug, Clone, Default)]
pub struct Markers {
    pub success: Vec<String>,
    pub error: Vec<String>,
}

/// A marker seen in the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MarkerHit {
    pub marker: String,
    pub line: u64,
    pub excerpt: String,
}

/// What a scan found.
#[derive(Debug, Clone, Default)]
pub struct ScanReport {
    /// Matches kept (bounded); `total_matches` counts all of them.
    pub matches: Vec<Match>,
    pub total_matches: u64,
    pub success_markers: Vec<MarkerHit>,
    pub error_markers: Vec<MarkerHit>,
    pub lines: u64,
    pub bytes: u64,
}

impl ScanReport {
    /// The match that explains the failure best: the first non-retryable one,
    /// else the first one.
    pub fn primary(&self) -> Option<&Match> {
        self.matches
            .iter()
            .find(|m| !m.retryable)
            .or_else(|| self.matches.first())
    }

    /// Distinct classes, in order of first appearance.
    pub fn classes(&self) -> Vec<FailureClass> {
        let mut out: Vec<FailureClass> = Vec::new();
        for m in &self.matches {
            if !out.contains(&m.class) {
                out.push(m.class.clone());
            }
        }
        out
    }
}

const MAX_KEPT: usize = 200;
/// Longest line prefix classified; the rest of a longer line is skipped so
/// that a line without end (a binary dump) cannot fill memory.
pub const MAX_LINE: usize = 64 * 1024;
const MAX_EXCERPT: usize = 240;

/// Streaming scanner; feed it bytes in any chunking.
pub struct Scanner {
    rules: Arc<RuleSet>,
    markers: Arc<Markers>,
    carry: Vec<u8>,
    report: ScanReport,
}

impl Scanner {
    pub fn new(rules: Arc<RuleSet>, markers: Arc<Markers>) -> Scanner {
        Scanner {
            rules,
            markers,
            carry: Vec::new(),
            report: ScanReport::default(),
        }
    }

    pub fn feed(&mut self, mut bytes: &[u8]) {
        self.report.bytes += bytes.len() as u64;
        while let Some(pos) = bytes.iter().position(|&b| b == b'\n') {
            let (head, rest) = bytes.split_at(pos);
            if self.carry.is_empty() {
                self.line(head);
            } else {
                self.carry_push(head);
                let line = std::mem::take(&mut self.carry);
                self.line(&line);
            }
            bytes = &rest[1..];
        }
        self.carry_push(bytes);
    }

    fn carry_push(&mut self, bytes: &[u8]) {
        let room = MAX_LINE.saturating_sub(self.carry.len());
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    pub fn finish(mut self) -> ScanReport {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.line(&line);
        }
        self.report
    }

    fn line(&mut self, line: &[u8]) {
        let line = &line[..line.len().min(MAX_LINE)];
        self.report.lines += 1;
        let n = self.report.lines;
        for (rule, re) in self.rules.rules().iter().zip(self.rules.compiled()) {
            if re.is_match(line) {
                self.report.total_matches += 1;
                if self.report.matches.len() < MAX_KEPT {
                    self.report.matches.push(Match {
                        class: rule.class.clone(),
                        rule_id: rule.id.clone(),
                        retryable: rule.retryable,
                        line: n,
                        excerpt: excerpt(line),
                    });
                }
                break;
            }
        }
        let text = String::from_utf8_lossy(line);
        for m in &self.markers.success {
            if text.contains(m.as_str()) && self.report.success_markers.len() < MAX_KEPT {
                self.report.success_markers.push(MarkerHit {
                    marker: m.clone(),
                    line: n,
                    excerpt: excerpt(line),
                });
            }
        }
        for m in &self.markers.error {
            if text.contains(m.as_str()) && self.report.error_markers.len() < MAX_KEPT {
                self.report.error_markers.push(MarkerHit {
                    marker: m.clone(),
                    line: n,
                    excerpt: excerpt(line),
                });
            }
        }
    }
}

/// A bounded, printable excerpt of a line.
pub fn excerpt(line: &[u8]) -> String {
    let cut = &line[..line.len().min(MAX_EXCERPT * 4)];
    let text = String::from_utf8_lossy(cut);
    let text = text.trim();
    match text.char_indices().nth(MAX_EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}
