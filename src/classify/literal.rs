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
    // Words several of the second round's long literals share, so that
    // each of them is not a searched literal of its own: past ~70 searched
    // literals the prefilter needs a fourth and fifth searcher pass.
    "database",
    "column",
    "range",
    "constraint",
    "server",
    "owner",
    "profile",
    "provided",
    "authentication",
    "deadlock",
    "read-only",
    "found",
    "connection",
    "line ",
    "type",
    "timed",
    // Not `schema being ...`: `sche` starts `scheduler` in every Spark line.
    "incompatible",
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
    let lits = p.alternation(0).ok()?.required?;
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

/// What a piece of pattern tells: the best required set found inside it,
/// and, when the piece is nothing but literal text, the exact strings it
/// matches (`(?:failed|crashed)` is exactly {`failed`, `crashed`}), so the
/// text around it can be joined on: `job (?:failed|crashed) at` requires one
/// of `job failed at`, `job crashed at`, far rarer than `job `.
struct Piece {
    required: Option<Literals>,
    exact: Option<Literals>,
}

type Step = Result<Piece, Unsupported>;

/// Most strings an exact set grows to by joining alternatives; past it the
/// run is ended and a new one starts.
const MAX_EXACT: usize = 16;

/// One atom of a concatenation.
enum Atom {
    /// A literal byte (lowercase).
    Byte(u8),
    /// Matches no text (`\b`): literal text on both sides stays adjacent.
    ZeroWidth,
    /// Anything else: ends a literal run.
    Other,
}

/// The literal run being built in a concatenation: every string of `exact`
/// is a possible text of the atoms since the run started.
struct Run {
    exact: Literals,
}

impl Run {
    fn new() -> Run {
        Run {
            exact: vec![Vec::new()],
        }
    }

    fn push(&mut self, b: u8) {
        self.exact.iter_mut().for_each(|s| s.push(b));
    }

    /// Joins every string of the run with every string of `next`; `false`
    /// (and nothing joined) when that would exceed [`MAX_EXACT`].
    fn join(&mut self, next: &Literals) -> bool {
        if self.exact.len() * next.len() > MAX_EXACT {
            return false;
        }
        self.exact = self
            .exact
            .iter()
            .flat_map(|a| next.iter().map(move |b| [a.as_slice(), b].concat()))
            .collect();
        true
    }

    /// Ends the run, offering it as a required set (when no member is empty).
    fn flush(&mut self, best: &mut Option<Literals>, prefer_anchors: bool) {
        let run = std::mem::replace(&mut self.exact, vec![Vec::new()]);
        if run.iter().all(|s| !s.is_empty()) {
            let mut run = run;
            run.sort();
            run.dedup();
            consider(best, run, prefer_anchors);
        }
    }
}

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
        let mut exact: Option<Literals> = Some(Vec::new());
        loop {
            let piece = self.concat(depth)?;
            match piece.required {
                Some(l) => all.extend(l),
                None => complete = false,
            }
            exact = match (exact, piece.exact) {
                (Some(mut e), Some(more)) => {
                    e.extend(more);
                    Some(e)
                }
                _ => None,
            };
            if self.peek() == Some('|') {
                self.pos += 1;
            } else {
                break;
            }
        }
        Ok(Piece {
            required: complete.then_some(all),
            exact,
        })
    }

    /// A concatenation: every element is required, so keep the best one;
    /// adjacent literal text (joined across exact groups) forms one string.
    fn concat(&mut self, depth: usize) -> Step {
        let mut best: Option<Literals> = None;
        let mut run = Run::new();
        let mut exact_whole = true;
        let pa = self.prefer_anchors;
        while let Some(c) = self.peek() {
            match c {
                '|' => break,
                ')' if depth > 0 => break,
                ')' => return Err(Unsupported),
                '(' => {
                    self.pos += 1;
                    let inner = self.group(depth)?;
                    let min = self.quantifier()?;
                    match (inner.exact, min) {
                        (Some(e), None) => {
                            if !run.join(&e) {
                                run.flush(&mut best, pa);
                                run.exact = e;
                            }
                        }
                        (Some(e), Some(m)) if m >= 1 => {
                            // The first repetition follows the run.
                            if !run.join(&e) {
                                run.flush(&mut best, pa);
                                run.exact = e;
                            }
                            run.flush(&mut best, pa);
                            exact_whole = false;
                        }
                        (_, min) => {
                            run.flush(&mut best, pa);
                            exact_whole = false;
                            if min.unwrap_or(1) >= 1 {
                                if let Some(r) = inner.required {
                                    consider(&mut best, r, pa);
                                }
                            }
                        }
                    }
                }
                '[' => {
                    self.pos += 1;
                    self.skip_class()?;
                    self.quantifier()?;
                    run.flush(&mut best, pa);
                    exact_whole = false;
                }
                '.' | '^' | '$' => {
                    self.pos += 1;
                    self.quantifier()?;
                    run.flush(&mut best, pa);
                    exact_whole = false;
                }
                '*' | '+' | '?' | '{' => return Err(Unsupported),
                '\\' => {
                    self.pos += 1;
                    let atom = self.escape()?;
                    let min = self.quantifier()?;
                    exact_whole &= literal(atom, min, &mut run, &mut best, pa);
                }
                _ => {
                    self.pos += 1;
                    let atom = if c.is_ascii() && c != '\n' && c != '\r' {
                        Atom::Byte(c.to_ascii_lowercase() as u8)
                    } else {
                        Atom::Other
                    };
                    let min = self.quantifier()?;
                    exact_whole &= literal(atom, min, &mut run, &mut best, pa);
                }
            }
        }
        let exact = exact_whole.then(|| run.exact.clone());
        run.flush(&mut best, pa);
        Ok(Piece {
            required: best,
            exact,
        })
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
                                    Ok(Piece {
                                        required: None,
                                        exact: Some(vec![Vec::new()]),
                                    })
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

    /// After `\`: what the escape stands for.
    fn escape(&mut self) -> Result<Atom, Unsupported> {
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
                Ok(Atom::Other)
            }
            'b' | 'B' => {
                if self.peek() == Some('{') {
                    self.skip_past('}')?;
                }
                Ok(Atom::ZeroWidth)
            }
            't' => Ok(Atom::Byte(b'\t')),
            c if c.is_ascii_punctuation() || c == ' ' => {
                Ok(Atom::Byte(c.to_ascii_lowercase() as u8))
            }
            _ => Ok(Atom::Other),
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
/// quantified one ends it (kept if it must occur at least once). Returns
/// whether the concatenation is still nothing but literal text.
fn literal(
    atom: Atom,
    min: Option<u32>,
    run: &mut Run,
    best: &mut Option<Literals>,
    prefer_anchors: bool,
) -> bool {
    match (atom, min) {
        (Atom::Byte(b), None) => {
            run.push(b);
            true
        }
        (Atom::ZeroWidth, _) => true,
        (Atom::Byte(b), Some(m)) if m >= 1 => {
            run.push(b);
            run.flush(best, prefer_anchors);
            false
        }
        _ => {
            run.flush(best, prefer_anchors);
            false
        }
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
            // Adjacent literal text joins across exact groups.
            (
                r"(?P<t>table|view) missing",
                Some(&["table missing", "view missing"]),
            ),
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
                Some(&["you need to initialize ", "you need to repair "]),
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
    fn full_literals_are_the_longest_joined_text() {
        let full = |p: &str| {
            required_full(p).map(|v| {
                v.into_iter()
                    .map(|l| String::from_utf8(l).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        // The whole name, joined across the group, holds the failure word.
        assert_eq!(
            full(r"Airflow(?:Task|Sensor)Timeout"),
            Some(vec![
                "airflowsensortimeout".to_string(),
                "airflowtasktimeout".to_string()
            ])
        );
        // `\b` matches no text: the words on both sides stay one string,
        // and ` error` alone (which `(0 errors)` holds) is never the choice.
        assert_eq!(
            full(r"\b(?:Compilation|Parsing) Error\b"),
            Some(vec![
                "compilation error".to_string(),
                "parsing error".to_string()
            ])
        );
        // A user rule naming a system: the failure words join the name.
        assert_eq!(
            full(r"(?i)kafka (?:failure|fatal) code \d+"),
            Some(vec![
                "kafka failure code ".to_string(),
                "kafka fatal code ".to_string()
            ])
        );
        // Optional or repeated groups end the joined text.
        assert_eq!(
            full(r"disk (?:quota )?exceeded"),
            Some(vec!["exceeded".to_string()])
        );
        assert_eq!(
            full(r"pool(?: worker)+ crashed"),
            Some(vec!["pool worker".to_string()])
        );
        // Past 16 joined strings the run is cut and starts again.
        assert_eq!(
            full(r"(?:a|b|c|d)(?:e|f|g|h)(?:i|j|k|l)-exhausted"),
            Some(
                ["i", "j", "k", "l"]
                    .iter()
                    .map(|c| format!("{c}-exhausted"))
                    .collect()
            )
        );
        assert_eq!(full(r"^E\d+"), None);
    }
}

#[cfg(test)]
mod property_tests {
    use super::{required, required_full};
    use regex::Regex;

    /// A small deterministic generator (xorshift).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    const WORDS: &[&str] = &[
        "err", "or", "fail", "ed", " ", "x", "db", "::", "\\(", "\\)", "-", "code", "kafka",
    ];

    /// A random pattern and a text built to match it (when `\b` allows).
    fn piece(r: &mut Rng, depth: usize, pat: &mut String, text: &mut String) {
        match r.below(if depth > 1 { 4 } else { 9 }) {
            0..=2 => {
                let w = WORDS[r.below(WORDS.len())];
                pat.push_str(w);
                text.push_str(&w.replace('\\', ""));
            }
            3 => {
                pat.push_str("\\b");
            }
            4 => {
                let q = ["?", "*", "+", "{2}", "{0,1}", ""][r.below(6)];
                let alts = 1 + r.below(3);
                let pick = r.below(alts);
                let mut chosen = String::new();
                pat.push_str("(?:");
                for a in 0..alts {
                    if a > 0 {
                        pat.push('|');
                    }
                    let mut t = String::new();
                    for _ in 0..1 + r.below(3) {
                        piece(r, depth + 1, pat, &mut t);
                    }
                    if a == pick {
                        chosen = t;
                    }
                }
                pat.push(')');
                pat.push_str(q);
                let copies = match q {
                    "?" | "{0,1}" | "*" => r.below(2),
                    "{2}" => 2,
                    _ => 1,
                };
                for _ in 0..copies {
                    text.push_str(&chosen);
                }
            }
            5 => {
                pat.push_str("[a-z]");
                text.push('q');
            }
            6 => {
                pat.push_str("\\d+");
                text.push('7');
            }
            7 => {
                pat.push('.');
                text.push('z');
            }
            _ => {
                let w = WORDS[r.below(WORDS.len())];
                pat.push_str(w);
                pat.push(['?', '+', '*'][r.below(3)]);
                text.push_str(&w.replace('\\', ""));
            }
        }
    }

    #[test]
    fn every_match_holds_one_of_the_required_literals() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let mut checked = 0;
        for _ in 0..10_000 {
            let (mut pat, mut text) = (String::new(), String::new());
            let insensitive = r.below(2) == 0;
            if insensitive {
                pat.push_str("(?i)");
            }
            for _ in 0..1 + r.below(5) {
                piece(&mut r, 0, &mut pat, &mut text);
            }
            let re = Regex::new(&pat).expect("generated patterns compile");
            let mut line = format!(
                "{}{text}{}",
                ["", "a ", "("][r.below(3)],
                ["", " b", ")"][r.below(3)]
            );
            if insensitive && r.below(2) == 0 {
                line = line.to_uppercase();
            }
            if !re.is_match(&line) {
                continue;
            }
            let lower = line.to_ascii_lowercase();
            for lits in [required(&pat), required_full(&pat)].into_iter().flatten() {
                checked += 1;
                assert!(
                    lits.iter()
                        .any(|l| lower.contains(std::str::from_utf8(l).unwrap())),
                    "pattern {pat:?} matches {line:?}, which holds none of {:?}",
                    lits.iter()
                        .map(|l| String::from_utf8_lossy(l))
                        .collect::<Vec<_>>()
                );
            }
        }
        assert!(
            checked > 2_500,
            "only {checked} matching cases were checked"
        );
    }
}
