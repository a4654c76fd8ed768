//! Required-literal extraction: from a rule's pattern, a small set of
//! lowercase strings one of which every match must contain. The scanner
//! searches a lowercased copy of the log for these strings and runs the real
//! rules only on lines that contain one.
//!
//! The parser is deliberately conservative: anything it does not fully
//! understand (verbose mode, odd escapes, non-ASCII letters) ends a literal
//! run or gives up, and a rule without literals is still checked through a
//! slower path. A wrong answer here would make the scanner miss lines, so
//! the rule is: when in doubt, return less.

/// Literals shorter than this are too common to be worth prefiltering on.
pub const MIN_LITERAL: usize = 3;

/// Words that failure lines share. A required literal containing one is
/// searched as that word instead (any part of a required literal is itself
/// required), which keeps the prefilter to a few dozen short strings however
/// many rules there are: the multi-literal searcher is fastest then. Earlier
/// words win; rarer words come first.
pub const ANCHORS: &[&str] = &[
    "exception",
    "error",
    "errno",
    "errcode",
    "refused",
    "denied",
    "exist",
    "already",
    "timeout",
    "timed out",
    "kill",
    "memory",
    "space",
    "full",
    "not found",
    "not_found",
    "no such",
    "could not",
    "can't",
    "cannot",
    "unable",
    "unknown",
    "invalid",
    "fail",
    "fatal",
    "exceeded",
    "unauthorized",
    "password",
    "syntax",
    "db::",
    "unexpected",
    "available",
    "reset",
    "imagepull",
    "exit",
    "crash",
    "abort",
    "panic",
    "privilege",
    "not permitted",
    "lost connection",
    "duplicate",
    "undefined",
    "not known",
    "resolv",
    "hostname",
];

/// `lit` reduced to the first anchor it contains, or itself.
pub fn anchor(lit: &[u8]) -> Vec<u8> {
    ANCHORS
        .iter()
        .map(|a| a.as_bytes())
        .find(|a| lit.windows(a.len()).any(|w| w == *a))
        .unwrap_or(lit)
        .to_vec()
}

/// A set of lowercase ASCII strings; every match of the pattern contains at
/// least one of them (after ASCII lowercasing of the text).
pub type Literals = Vec<Vec<u8>>;

/// The required literals of `pattern`, or `None` when none can be proven.
///
/// Known imprecision: under `(?i)` with Unicode on, the regex engine also
/// folds `K` (U+212A KELVIN SIGN) to `k` and `ſ` (U+017F LONG S) to `s`; the
/// lowercased copy does not, so a line spelling a keyword with those two
/// code points would not be a candidate. Logs do not do that.
pub fn required(pattern: &str) -> Option<Literals> {
    let mut lits: Literals = extract(pattern, true)?.iter().map(|l| anchor(l)).collect();
    lits.sort();
    lits.dedup();
    Some(lits)
}

/// Like [`required`], but the most selective required strings (the longest,
/// whether or not they hold an anchor word), whole: the scanner searches for
/// their anchors and confirms these around each hit.
pub fn required_full(pattern: &str) -> Option<Literals> {
    extract(pattern, false)
}

fn extract(pattern: &str, prefer_anchors: bool) -> Option<Literals> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        prefer_anchors,
    };
    let lits = p.alternation(0).ok()??;
    if p.pos != p.chars.len() || lits.iter().any(|l| l.len() < MIN_LITERAL) {
        return None;
    }
    let mut lits = lits;
    lits.sort();
    lits.dedup();
    Some(lits)
}

/// The parser met syntax it does not model.
struct Unsupported;

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Whether a required set made of anchor words beats a longer one.
    prefer_anchors: bool,
}

type Step = Result<Option<Literals>, Unsupported>;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// `a|b|c`: every alternative must have literals; their union is required.
    fn alternation(&mut self, depth: usize) -> Step {
        let mut all: Literals = Vec::new();
        let mut complete = true;
        loop {
            match self.concat(depth)? {
                Some(l) => all.extend(l),
                None => complete = false,
            }
            if self.peek() == Some('|') {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(if complete { Some(all) } else { None })
    }

    /// A concatenation: every element is required, so keep the best one.
    fn concat(&mut self, depth: usize) -> Step {
        let mut best: Option<Literals> = None;
        let mut run: Vec<u8> = Vec::new();
        let pa = self.prefer_anchors;
        while let Some(c) = self.peek() {
            match c {
                '|' => break,
                ')' if depth > 0 => break,
                ')' => return Err(Unsupported),
                '(' => {
                    self.pos += 1;
                    let inner = self.group(depth)?;
                    let min = self.quantifier()?.unwrap_or(1);
                    flush(&mut run, &mut best, pa);
                    if min >= 1 {
                        if let Some(inner) = inner {
                            consider(&mut best, inner, pa);
                        }
                    }
                }
                '[' => {
                    self.pos += 1;
                    self.skip_class()?;
                    self.quantifier()?;
                    flush(&mut run, &mut best, pa);
                }
                '.' | '^' | '$' => {
                    self.pos += 1;
                    self.quantifier()?;
                    flush(&mut run, &mut best, pa);
                }
                '*' | '+' | '?' | '{' => return Err(Unsupported),
                '\\' => {
                    self.pos += 1;
                    let lit = self.escape()?;
                    let min = self.quantifier()?;
                    literal(lit, min, &mut run, &mut best, pa);
                }
                _ => {
                    self.pos += 1;
                    let lit = if c.is_ascii() && c != '\n' && c != '\r' {
                        Some(c.to_ascii_lowercase() as u8)
                    } else {
                        None
                    };
                    let min = self.quantifier()?;
                    literal(lit, min, &mut run, &mut best, pa);
                }
            }
        }
        flush(&mut run, &mut best, pa);
        Ok(best)
    }

    /// After `(`: flags, names, then the group body up to its `)`.
    fn group(&mut self, depth: usize) -> Step {
        if self.peek() == Some('?') {
            self.pos += 1;
            match self.peek() {
                Some('P') | Some('<') => {
                    while let Some(c) = self.bump() {
                        if c == '>' {
                            break;
                        }
                    }
                }
                _ => {
                    let start = self.pos;
                    loop {
                        match self.bump() {
                            Some(':') => break,
                            Some(')') => {
                                // A bare flag group, `(?i)`: it consumes
                                // nothing; only verbose mode changes parsing.
                                let flags: String =
                                    self.chars[start..self.pos - 1].iter().collect();
                                return if flags.contains('x') {
                                    Err(Unsupported)
                                } else {
                                    Ok(None)
                                };
                            }
                            Some(c) if c.is_ascii_alphabetic() || c == '-' => {}
                            _ => return Err(Unsupported),
                        }
                    }
                    let flags: String = self.chars[start..self.pos - 1].iter().collect();
                    if flags.contains('x') {
                        return Err(Unsupported);
                    }
                }
            }
        }
        let inner = self.alternation(depth + 1)?;
        if self.bump() != Some(')') {
            return Err(Unsupported);
        }
        Ok(inner)
    }

    /// After `\`: the literal byte it stands for, if any.
    fn escape(&mut self) -> Result<Option<u8>, Unsupported> {
        let c = self.bump().ok_or(Unsupported)?;
        match c {
            'x' | 'u' | 'U' | 'p' | 'P' => {
                if self.peek() == Some('{') {
                    self.skip_past('}')?;
                } else {
                    let n = match c {
                        'x' => 2,
                        'u' => 4,
                        'U' => 8,
                        _ => 1,
                    };
                    self.pos += n;
                }
                Ok(None)
            }
            'b' | 'B' => {
                if self.peek() == Some('{') {
                    self.skip_past('}')?;
                }
                Ok(None)
            }
            't' => Ok(Some(b'\t')),
            c if c.is_ascii_punctuation() || c == ' ' => Ok(Some(c.to_ascii_lowercase() as u8)),
            _ => Ok(None),
        }
    }

    fn skip_past(&mut self, end: char) -> Result<(), Unsupported> {
        while let Some(c) = self.bump() {
            if c == end {
                return Ok(());
            }
        }
        Err(Unsupported)
    }

    /// After `[`: skips to the matching `]`, nested classes included.
    fn skip_class(&mut self) -> Result<(), Unsupported> {
        let mut depth = 1;
        if self.peek() == Some('^') {
            self.pos += 1;
        }
        if self.peek() == Some(']') {
            self.pos += 1;
        }
        while depth > 0 {
            match self.bump().ok_or(Unsupported)? {
                '\\' => {
                    self.bump().ok_or(Unsupported)?;
                }
                '[' if self.peek() == Some(':') => self.skip_past(']')?,
                '[' => {
                    depth += 1;
                    if self.peek() == Some('^') {
                        self.pos += 1;
                    }
                    if self.peek() == Some(']') {
                        self.pos += 1;
                    }
                }
                ']' => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    /// A quantifier after an atom: `Some(min)`, or `None` when there is none.
    fn quantifier(&mut self) -> Result<Option<u32>, Unsupported> {
        let min = match self.peek() {
            Some('?') | Some('*') => 0,
            Some('+') => 1,
            Some('{') => {
                self.pos += 1;
                let mut digits = String::new();
                while let Some(c) = self.peek().filter(|c| c.is_ascii_digit()) {
                    digits.push(c);
                    self.pos += 1;
                }
                self.skip_past('}')?;
                let min = digits.parse().map_err(|_| Unsupported)?;
                self.lazy();
                return Ok(Some(min));
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        self.lazy();
        Ok(Some(min))
    }

    fn lazy(&mut self) {
        if self.peek() == Some('?') {
            self.pos += 1;
        }
    }
}

/// Adds one atom to the current run: a plain literal extends it; a
/// quantified one ends it (kept if it must occur at least once).
fn literal(
    lit: Option<u8>,
    min: Option<u32>,
    run: &mut Vec<u8>,
    best: &mut Option<Literals>,
    prefer_anchors: bool,
) {
    match (lit, min) {
        (Some(b), None) => run.push(b),
        (Some(b), Some(m)) if m >= 1 => {
            run.push(b);
            flush(run, best, prefer_anchors);
        }
        _ => flush(run, best, prefer_anchors),
    }
}

fn flush(run: &mut Vec<u8>, best: &mut Option<Literals>, prefer_anchors: bool) {
    if !run.is_empty() {
        consider(best, vec![std::mem::take(run)], prefer_anchors);
    }
}

/// Keeps the better of two required sets: one made only of anchor words
/// (see `ANCHORS`) first when `prefer_anchors`, then the longer shortest
/// member (capped: past that length all are rare), then (if not before) the
/// anchored one, then fewer members.
fn consider(best: &mut Option<Literals>, cand: Literals, prefer_anchors: bool) {
    let score = |l: &Literals| {
        let anchored = l.iter().all(|x| {
            ANCHORS
                .iter()
                .any(|a| x.windows(a.len()).any(|w| w == a.as_bytes()))
        });
        let min = l.iter().map(Vec::len).min().unwrap_or(0);
        // Between equally long sets, failure words beat names that ordinary
        // lines print too (`airflow` in `Airflow(?:Task|Sensor)Timeout`).
        let (first, second) = if prefer_anchors {
            (anchored, false)
        } else {
            (false, anchored)
        };
        (first, min.min(12), second, std::cmp::Reverse(l.len()))
    };
    if cand.is_empty() {
        return;
    }
    match best {
        Some(b) if score(b) >= score(&cand) => {}
        _ => *best = Some(cand),
    }
}

#[cfg(test)]
mod tests {
    use super::required;

    fn lits(p: &str) -> Option<Vec<String>> {
        required(p).map(|v| {
            v.into_iter()
                .map(|l| String::from_utf8(l).unwrap())
                .collect()
        })
    }

    #[test]
    fn extracts_the_most_selective_required_literal() {
        let cases: &[(&str, Option<&[&str]>)] = &[
            (r"ERROR 1146 .*doesn't exist", Some(&["exist"])),
            (r"(?i)connection refused", Some(&["refused"])),
            (
                r"(?i)\bconnection refused\b|\bECONNREFUSED\b",
                Some(&["refused"]),
            ),
            (
                r"Code: 60\. DB::Exception: Table \S+ doesn't exist",
                Some(&["exception"]),
            ),
            (r"\[Errno (?:111|61)\]", Some(&["errno"])),
            (
                r"(?i)\b(?:exit code|exited with code) ?137\b",
                Some(&["exit"]),
            ),
            (r"colou?r", Some(&["colo"])),
            (r"abc+d", Some(&["abc"])),
            (r"(?:foo)?barbaz", Some(&["barbaz"])),
            (r"(?P<t>table|view) missing", Some(&[" missing"])),
            (r"[\]x]abc[^]]def", Some(&["abc"])),
            (r"^E\d+", None),
            (r"\w+ +\d+", None),
            (r"foo|\d+", None),
            (r"(?x) foo bar", None),
            (r"café au lait", Some(&[" au lait"])),
            (r"(a|", None),
            // Among required pieces, one made of anchor words wins.
            (
                r"you need to (?:initialize|repair) \S+ now",
                Some(&["you need to "]),
            ),
            (r"Pipeline \w+ exited abnormally", Some(&["exit"])),
            (r"(?i)job-7 (?:failed|crashed)", Some(&["crash", "fail"])),
        ];
        for (pattern, want) in cases {
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(lits(pattern), want, "pattern {pattern:?}");
        }
    }
}

#[cfg(test)]
mod full_tests {
    use super::required_full;

    #[test]
    fn full_literals_are_the_longest_and_prefer_failure_words_on_ties() {
        let full = |p: &str| {
            required_full(p).map(|v| {
                v.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        // `airflow` is on every ordinary Airflow line: a tie goes to `timeout`.
        assert_eq!(
            full(r"Airflow(?:Task|Sensor)Timeout"),
            Some(vec!["timeout".to_string()])
        );
        // ` error` would hold `(0 errors)`; the names are rarer.
        assert_eq!(
            full(r"\b(?:Compilation|Parsing) Error\b"),
            Some(vec!["compilation".to_string(), "parsing".to_string()])
        );
        assert_eq!(full(r"^E\d+"), None);
    }
}
