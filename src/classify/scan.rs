//! The streaming scanner: one pass over a log for every rule and marker.
//!
//! Most lines of a pipeline log are ordinary INFO lines, so the expensive
//! part (the rules, the benign filter, the markers) must only run on the few
//! lines that can match. Complete lines are taken in blocks of ~256 KiB; a
//! block is lowercased into a scratch buffer and searched once for the
//! required literals of every rule and every marker (one `Regex` over a
//! literal alternation, which the regex crate runs with a SIMD multi-literal
//! searcher). Only the lines holding a hit are checked for real. Rules with
//! no provable literal run once over the raw block instead.
//!
//! Memory stays bounded whatever the input, and no text is hidden: a line
//! longer than `MAX_LINE` is examined in windows of `MAX_LINE` bytes that
//! overlap by `OVERLAP`, so a failure message cut by a window edge (or by a
//! read boundary) is still seen whole; what one line gives (a match, a
//! marker) counts once however many windows saw it. A `\r` (progress bars)
//! starts a new piece of a line for the rules and markers; line numbers stay
//! those of `\n`.

use super::benign::{self, Benign};
use super::candidates::{self, Needle, Searcher};
use super::literal;
use super::marker::Marker;
use super::rules::Prefilter;
use super::{FailureClass, Match, RuleSet};
use regex::bytes::{Regex, RegexBuilder};
use std::sync::{Arc, OnceLock};

/// Verify markers as configured (literal strings, case-sensitive).
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
    /// The match that explains the failure best: the root cause rather than
    /// its consequences (see `cause`).
    pub fn primary(&self) -> Option<&Match> {
        super::cause::primary(&self.matches)
    }

    /// Distinct classes, in order of first appearance.
    pub fn classes(&self) -> Vec<FailureClass> {
        super::classes_of(&self.matches)
    }
}

/// How many matches (and hits of each marker kind) a report keeps.
pub const MAX_KEPT: usize = 200;
/// Characters of a line kept in an excerpt.
pub const MAX_EXCERPT: usize = 240;
/// A longer line is examined in windows of this many bytes.
pub const MAX_LINE: usize = 64 * 1024;
/// Bytes shared by consecutive windows of a long line: a match up to this
/// long is found wherever a window edge falls.
pub const OVERLAP: usize = 4 * 1024;
/// Complete lines are searched in blocks of about this size.
const BLOCK: usize = 256 * 1024;

/// Streaming scanner; feed it bytes in any chunking.
pub struct Scanner {
    rules: Arc<RuleSet>,
    success: Vec<Marker>,
    error: Vec<Marker>,
    /// Required literals of the rules and markers (see `candidates`).
    literals: Vec<Searcher>,
    /// Rules without literals, in multi-line mode, run over raw blocks.
    block_rules: Option<Regex>,
    every_line: bool,
    /// The unexamined rest of the current, unfinished line (at most
    /// `MAX_LINE`; the windows before it were examined already).
    carry: Vec<u8>,
    /// What the current line gave so far: a rule match, marker hits (by
    /// index, success markers first). Cleared when a line ends.
    seen_rule: bool,
    seen_markers: Vec<usize>,
    lower: Vec<u8>,
    candidates: Vec<usize>,
    /// Classes among the kept matches, and whether a non-retryable one is.
    classes_kept: Vec<FailureClass>,
    stop_kept: bool,
    /// Traceback and compiler frames, for each match's `source`.
    frames: super::subject::Frames,
    report: ScanReport,
}

impl Scanner {
    pub fn new(rules: Arc<RuleSet>, markers: Arc<Markers>) -> Scanner {
        let success: Vec<Marker> = markers
            .success
            .iter()
            .filter_map(|m| Marker::new(m))
            .collect();
        let error: Vec<Marker> = markers
            .error
            .iter()
            .filter_map(|m| Marker::new(m))
            .collect();
        let marker_needles: Vec<Needle> = success
            .iter()
            .chain(&error)
            .map(|m| Needle {
                lower: m.text.as_bytes().to_ascii_lowercase(),
                exact: Some(m.text.as_bytes().to_vec()),
            })
            .collect();
        let mut needles = Vec::new();
        let mut block = Vec::new();
        let mut every_line = false;
        for (rule, pf) in rules.rules().iter().zip(rules.prefilters()) {
            match pf {
                Prefilter::Literals(l) => needles.extend(l.iter().map(|l| Needle {
                    lower: l.clone(),
                    exact: None,
                })),
                Prefilter::Block => block.push(format!("(?m:{})", rule.pattern)),
                Prefilter::EveryLine => every_line = true,
            }
        }
        needles.extend(super::subject::FRAME_NEEDLES.iter().map(|f| Needle {
            lower: f.as_bytes().to_vec(),
            exact: None,
        }));
        // Markers get their own searcher: mixing their literals into the
        // rules' makes the multi-literal search's buckets noisier, and a
        // separate handful of literals costs less than that.
        let anchors = needles.iter().map(|n| literal::anchor(&n.lower)).collect();
        let mut literals = candidates::searchers(&needles, anchors);
        let searched = marker_needles.iter().map(|n| n.lower.clone()).collect();
        literals.extend(candidates::searchers(&marker_needles, searched));
        let block_rules = if block.is_empty() {
            None
        } else {
            // A literal-less rule too big to combine checks every line instead.
            let re = RegexBuilder::new(&block.join("|"))
                .size_limit(64 << 20)
                .build()
                .ok();
            every_line |= re.is_none();
            re
        };
        Scanner {
            rules,
            success,
            error,
            literals,
            block_rules,
            every_line,
            carry: Vec::new(),
            seen_rule: false,
            seen_markers: Vec::new(),
            lower: Vec::new(),
            candidates: Vec::new(),
            classes_kept: Vec::new(),
            stop_kept: false,
            frames: Default::default(),
            report: ScanReport::default(),
        }
    }

    /// Scans the next bytes of the log; chunk boundaries may fall anywhere.
    pub fn feed(&mut self, data: &[u8]) {
        self.report.bytes += data.len() as u64;
        let mut rest = data;
        if !self.carry.is_empty() {
            match find_newline(rest) {
                None => {
                    self.carry_push(rest);
                    return;
                }
                Some(i) => {
                    self.carry_push(&rest[..i]);
                    let line = std::mem::take(&mut self.carry);
                    self.single_line(&line);
                    self.carry = line;
                    self.carry.clear();
                    rest = &rest[i + 1..];
                }
            }
        }
        if let Some(k) = rest.iter().rposition(|&b| b == b'\n') {
            self.complete_lines(&rest[..=k]);
            rest = &rest[k + 1..];
        }
        self.carry_push(rest);
    }

    /// The agent's own lines (step headers): counted, so line numbers stay
    /// those of the log, but never classified nor taken as markers — a step
    /// named "load SUCCESS" must not make its iteration green. Whole lines
    /// only; while a step's partial line is pending they are scanned as
    /// ordinary output rather than misnumbered.
    pub fn skip_lines(&mut self, data: &[u8]) {
        if !self.carry.is_empty() || !data.ends_with(b"\n") {
            self.feed(data);
            return;
        }
        self.report.bytes += data.len() as u64;
        self.report.lines += count_newlines(data);
    }

    /// Ends the log (a last line without a newline still counts).
    pub fn finish(mut self) -> ScanReport {
        if !self.carry.is_empty() {
            let line = std::mem::take(&mut self.carry);
            self.single_line(&line);
        }
        self.report
    }

    /// What was found so far.
    pub fn report(&self) -> &ScanReport {
        &self.report
    }

    #[cfg(test)]
    pub(crate) fn carry_len(&self) -> usize {
        self.carry.len()
    }

    /// Appends to the unfinished line; each time it fills a window, that
    /// window is examined and all but its last `OVERLAP` bytes dropped.
    fn carry_push(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let take = bytes.len().min(MAX_LINE - self.carry.len());
            self.carry.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.carry.len() == MAX_LINE {
                let window = std::mem::take(&mut self.carry);
                self.segment(&window);
                self.carry = window;
                self.carry.drain(..MAX_LINE - OVERLAP);
            }
        }
    }

    /// `region` is whole lines, each ending in `\n`.
    fn complete_lines(&mut self, region: &[u8]) {
        let mut pos = 0;
        while pos < region.len() {
            let end = (pos + BLOCK).min(region.len());
            if end == region.len() {
                self.block(&region[pos..end]);
                break;
            }
            match region[pos..end].iter().rposition(|&b| b == b'\n') {
                Some(k) => {
                    self.block(&region[pos..pos + k + 1]);
                    pos += k + 1;
                }
                None => {
                    // A line longer than a block: in overlapping windows.
                    let nl = end + find_newline(&region[end..]).expect("region ends in a newline");
                    let mut at = pos;
                    while nl - at > MAX_LINE {
                        self.segment(&region[at..at + MAX_LINE]);
                        at += MAX_LINE - OVERLAP;
                    }
                    self.single_line(&region[at..nl]);
                    pos = nl + 1;
                }
            }
        }
    }

    /// The end of a line (its last window at most, without the `\n`).
    fn single_line(&mut self, line: &[u8]) {
        self.segment(line);
        self.report.lines += 1;
        self.seen_rule = false;
        self.seen_markers.clear();
    }

    /// A window of the current line, numbered `lines + 1`.
    fn segment(&mut self, line: &[u8]) {
        let candidate = self.every_line
            || (!self.literals.is_empty() && {
                lowercase_into(&mut self.lower, line);
                self.literals
                    .iter()
                    .any(|s| s.next_hit(&self.lower, line, 0).is_some())
            })
            || self
                .block_rules
                .as_ref()
                .is_some_and(|re| re.is_match(line));
        if candidate {
            self.check_line(self.report.lines + 1, line);
        }
    }

    /// A block of whole lines: find candidate lines, then check only those.
    fn block(&mut self, b: &[u8]) {
        let mut cands = std::mem::take(&mut self.candidates);
        cands.clear();
        if self.every_line {
            cands.push(0);
            cands.extend(
                b[..b.len() - 1]
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c == b'\n')
                    .map(|(i, _)| i + 1),
            );
        } else {
            let mut searches = 0;
            if !self.literals.is_empty() {
                lowercase_into(&mut self.lower, b);
                for s in &self.literals {
                    hit_lines(|at| s.next_hit(&self.lower, b, at), b, &mut cands);
                    searches += 1;
                }
            }
            if let Some(re) = &self.block_rules {
                hit_lines(|at| re.find_at(b, at).map(|m| m.start()), b, &mut cands);
                searches += 1;
            }
            if searches > 1 {
                cands.sort_unstable();
                cands.dedup();
            }
        }
        let mut line_no = self.report.lines;
        let mut counted = 0;
        for &start in &cands {
            line_no += count_newlines(&b[counted..start]);
            counted = start;
            let end = start + find_newline(&b[start..]).expect("block ends in a newline");
            self.check_line(line_no + 1, &b[start..end]);
            self.seen_rule = false;
            self.seen_markers.clear();
        }
        self.report.lines = line_no + count_newlines(&b[counted..]);
        self.candidates = cands;
    }

    /// The real check of one candidate line (or window of one): each piece
    /// between `\r`s on its own, so a progress bar's last state is a line.
    fn check_line(&mut self, n: u64, raw: &[u8]) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if !raw.contains(&b'\r') {
            self.check_piece(n, raw);
            return;
        }
        for piece in raw.split(|&b| b == b'\r').filter(|p| !p.is_empty()) {
            self.check_piece(n, piece);
        }
    }

    fn check_piece(&mut self, n: u64, raw: &[u8]) {
        let text = benign::neutralize_ansi(raw);
        for (i, m) in self.success.iter().enumerate() {
            if self.report.success_markers.len() < MAX_KEPT
                && !self.seen_markers.contains(&i)
                && m.found(&text)
            {
                self.seen_markers.push(i);
                self.report.success_markers.push(hit(m, n, raw));
            }
        }
        self.frames.observe(n, &text);
        let benign = Benign::get();
        if benign.is_benign_line(&text) {
            return;
        }
        let text = benign.mask(&text);
        if let Some(i) = self.rules.first_match(&text).filter(|_| !self.seen_rule) {
            self.seen_rule = true;
            self.report.total_matches += 1;
            let rule = &self.rules.rules()[i];
            // Past the cap, still keep what decisions need: the first hit of
            // every class (adjustments, "n in a row") and of a non-retryable
            // rule (the stop), wherever in the log it comes.
            let new_class = !self.classes_kept.contains(&rule.class);
            let first_stop = !rule.retryable && !self.stop_kept;
            if self.report.matches.len() < MAX_KEPT || new_class || first_stop {
                if new_class {
                    self.classes_kept.push(rule.class.clone());
                }
                self.stop_kept |= !rule.retryable;
                let source = self.frames.source_for(n, &text);
                let subject = super::subject::subject(self.rules.compiled_rule(i), &text);
                self.report.matches.push(Match {
                    class: rule.class.clone(),
                    rule_id: rule.id.clone(),
                    retryable: rule.retryable,
                    line: n,
                    excerpt: excerpt(raw),
                    subject,
                    source,
                });
            }
        }
        let first_error = self.success.len();
        for (i, m) in self.error.iter().enumerate() {
            if self.report.error_markers.len() < MAX_KEPT
                && !self.seen_markers.contains(&(first_error + i))
                && m.found(&text)
            {
                self.seen_markers.push(first_error + i);
                self.report.error_markers.push(hit(m, n, raw));
            }
        }
    }
}

fn hit(m: &Marker, line: u64, raw: &[u8]) -> MarkerHit {
    MarkerHit {
        marker: m.text.clone(),
        line,
        excerpt: excerpt(raw),
    }
}

/// Pushes the start of every line of `lines` holding a hit of `next` (the
/// first hit at or after an offset), in order, each line once.
fn hit_lines(next: impl Fn(usize) -> Option<usize>, lines: &[u8], out: &mut Vec<usize>) {
    let mut at = 0;
    while at < lines.len() {
        let Some(p) = next(at) else { break };
        let start = lines[..p]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |i| i + 1);
        out.push(start);
        // Resume at the next line: a match spanning lines (multi-line
        // rules) must not hide a match that starts on a later line.
        at = match find_newline(&lines[p..]) {
            Some(i) => p + i + 1,
            None => break,
        };
    }
}

/// ASCII-lowercases `src` into `dst` (branch-free, so it vectorizes).
fn lowercase_into(dst: &mut Vec<u8>, src: &[u8]) {
    dst.clear();
    dst.extend(
        src.iter()
            .map(|&b| b | (u8::from(b.wrapping_sub(b'A') < 26) << 5)),
    );
}

fn find_newline(b: &[u8]) -> Option<usize> {
    static NEWLINE: OnceLock<Regex> = OnceLock::new();
    // A one-byte literal: the regex crate searches it with memchr.
    let re = NEWLINE.get_or_init(|| Regex::new("\n").expect("newline regex"));
    re.find(b).map(|m| m.start())
}

fn count_newlines(b: &[u8]) -> u64 {
    // Per 255-byte piece a u8 counter cannot overflow and the loop vectorizes.
    b.chunks(255)
        .map(|c| c.iter().fold(0u8, |n, &x| n + u8::from(x == b'\n')) as u64)
        .sum()
}

/// A bounded, printable excerpt of a line (colour codes removed).
pub fn excerpt(line: &[u8]) -> String {
    let cut = &line[..line.len().min(MAX_EXCERPT * 4)];
    let clean: Vec<u8> = benign::neutralize_ansi(cut)
        .iter()
        .copied()
        .filter(|&b| b != 0)
        .collect();
    let text = String::from_utf8_lossy(&clean);
    let text = text.trim();
    match text.char_indices().nth(MAX_EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
#[path = "scan_windows_tests.rs"]
mod windows_tests;
