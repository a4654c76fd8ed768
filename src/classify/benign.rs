//! The one place that decides which text is harmless even though it carries
//! a failure word: used before the rules run and before error markers count.
//!
//! Two levels:
//! - a whole line is benign when it is logged at DEBUG/TRACE/NOTICE level,
//!   announces a retry the program handles itself, or is a deprecation
//!   warning, unless it also says the program gave up;
//! - inside any other line, spans such as `0 errors`, `errors: []`,
//!   `ERROR=0`, `ERROR_LOG=`, `--timeout 30`, `timeout=30s`,
//!   `IF NOT EXISTS` are blanked out, so `PASS=4 ERROR=1` still counts
//!   while `PASS=5 ERROR=0` does not.
//!
//! Blanked bytes become NUL, not spaces: no rule literal contains NUL, so the
//! literal prefilter, which looks at the raw text, stays a superset of what
//! the rules can match on the blanked text.

use regex::bytes::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

/// Only the start of a line is searched for its level.
const LEVEL_WINDOW: usize = 160;

/// The compiled benign patterns.
pub struct Benign {
    level: Regex,
    logfmt_debug: Regex,
    mysql_note: Regex,
    announce: Regex,
    gave_up: Regex,
    spans: Regex,
}

impl Benign {
    /// The shared instance (compiled on first use).
    pub fn get() -> &'static Benign {
        static BENIGN: OnceLock<Benign> = OnceLock::new();
        BENIGN.get_or_init(Benign::new)
    }

    fn new() -> Benign {
        let re = |p: &str| Regex::new(p).expect("benign pattern compiles");
        Benign {
            level: re(
                r"\b(?:DEBUG\d?|TRACE|NOTICE|INFO|WARN|WARNING|ERROR|FATAL|CRITICAL|PANIC|SEVERE)\b",
            ),
            logfmt_debug: re(r#"(?i)\blevel"?\s*[=:]\s*"?(?:debug|trace)\b"#),
            mysql_note: re(r"^\s*Note \(Code \d+\)"),
            announce: re(concat!(
                r"(?i)\bretrying\b|\bwill retry\b|\bretry(?:ing)? in \d|\bUP_FOR_RETRY\b",
                r"|deprecat|\bFutureWarning\b"
            )),
            gave_up: re(
                r"(?i)giving up|gave up|max retries exceeded|retries exhausted|failed after \d+|no (?:more )?retries left|out of retries",
            ),
            spans: re(concat!(
                // counters that say nothing went wrong
                r"(?i)(?:^|[\s(\[,;])(?:0|no|zero|without)\s+(?:\w+\s+)?(?:errors?|error\(s\)|failures?|failed)\b",
                // (`errors: null` at the end of a field; not `ERROR:  null value in ...`)
                r"|(?i)\b(?:errors?|failures?|failed|error_?count|errors_count|num_errors)\s*[:=]\s*(?:0+\b|\[\s*\]|\{\s*\}|(?:none|null|nil|false)\s*(?:$|[,;}\])]))",
                // names of settings: ERROR_LOG=, on_error=, connect_timeout=
                r"|(?i)\b(?:[a-z0-9]+[_-])+(?:errors?|err|failures?|failed|fail|timeout)(?:[_-][a-z0-9]+)*\s*=",
                r"|(?i)\b(?:errors?|err|failures?|failed|fail|timeout)(?:[_-][a-z0-9]+)+\s*=",
                // --timeout 30, --fail-fast, --ignore-errors
                r"|(?i)(?:^|\s)--?[a-z0-9-]*(?:error|fail|timeout)[a-z0-9-]*(?:[= ]\s*\d[\w.:]*)?",
                // timeout=30s, "timeout": 30, timeout: 30s
                r#"|(?i)\btimeout"?\s*[=:]\s*"?\d[\w.:]*"#,
                r"|(?i)\bif\s+(?:not\s+)?exists\b",
            )),
        }
    }

    /// Whether the whole line is harmless whatever it mentions.
    pub fn is_benign_line(&self, line: &[u8]) -> bool {
        let head = &line[..line.len().min(LEVEL_WINDOW)];
        if let Some(m) = self.level.find(head) {
            if matches!(&head[m.start()..m.start() + 2], b"DE" | b"TR" | b"NO") {
                return true;
            }
        }
        if self.logfmt_debug.is_match(head) || self.mysql_note.is_match(head) {
            return true;
        }
        self.announce.is_match(line) && !self.gave_up.is_match(line)
    }

    /// The line with its harmless spans blanked out (NUL bytes).
    pub fn mask<'a>(&self, line: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        for m in self.spans.find_iter(line) {
            let buf = out.get_or_insert_with(|| line.to_vec());
            buf[m.range()].fill(0);
        }
        match out {
            Some(v) => Cow::Owned(v),
            None => Cow::Borrowed(line),
        }
    }
}

/// Replaces ANSI escape sequences (colours from dbt, docker compose, pytest)
/// with NUL bytes, keeping offsets, so `\x1b[31mERROR` reads as `ERROR`.
pub fn neutralize_ansi(line: &[u8]) -> Cow<'_, [u8]> {
    if !line.contains(&0x1b) {
        return Cow::Borrowed(line);
    }
    let mut out = line.to_vec();
    let mut i = 0;
    while i < out.len() {
        if out[i] == 0x1b {
            let end = ansi_end(&out, i);
            out[i..end].fill(0);
            i = end;
        } else {
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// End (exclusive) of the escape sequence starting at `start` (an ESC).
fn ansi_end(b: &[u8], start: usize) -> usize {
    match b.get(start + 1) {
        Some(b'[') => {
            // CSI: parameters and intermediates, then one final byte 0x40..=0x7e.
            let mut j = start + 2;
            while j < b.len() && (0x20..0x40).contains(&b[j]) {
                j += 1;
            }
            (j + 1).min(b.len())
        }
        Some(b']') => {
            // OSC: up to BEL or ESC \.
            let mut j = start + 2;
            while j < b.len() && b[j] != 0x07 && b[j] != 0x1b {
                j += 1;
            }
            if b.get(j) == Some(&0x1b) {
                j += 1;
            }
            (j + 1).min(b.len())
        }
        Some(_) => start + 2,
        None => start + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_benign_lines() {
        let b = Benign::get();
        for line in [
            "2025-01-09 12:00:01,123 DEBUG sqlalchemy.pool connection refused, recycling",
            "DEBUG:root:ERROR handler installed",
            "[TRACE] timed out waiting for lock (expected)",
            "level=debug msg=\"connection refused\"",
            "psql:sql/create.sql:3: NOTICE:  relation \"sales\" already exists, skipping",
            "Note (Code 1050): Table 'sales' already exists",
            "retrying in 5s",
            "Retrying (attempt 2)",
            "WARNING: Retrying (Retry(total=4)) after connection broken by 'NewConnectionError([Errno 111] Connection refused)'",
            "/app/etl.py:12: DeprecationWarning: the timeout argument is deprecated",
            "FutureWarning: ERROR handling will change",
        ] {
            assert!(b.is_benign_line(line.as_bytes()), "{line}");
        }
        for line in [
            "ERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist",
            "ERROR: DEBUG mode is off and connection refused",
            "giving up after retrying 5 times: connection refused",
            "requests.exceptions.ConnectionError: Max retries exceeded with url: /connectors (Caused by NewConnectionError('[Errno 111] Connection refused'))",
            "2025-01-09 12:00:01 INFO loaded 10 rows",
        ] {
            assert!(!b.is_benign_line(line.as_bytes()), "{line}");
        }
    }

    #[test]
    fn masks_harmless_spans_only() {
        let b = Benign::get();
        let shown = |s: &str| {
            String::from_utf8(b.mask(s.as_bytes()).into_owned())
                .unwrap()
                .replace('\0', "_")
        };
        assert_eq!(
            shown("Done. PASS=5 WARN=0 ERROR=0 SKIP=0 TOTAL=5"),
            "Done. PASS=5 WARN=0 _______ SKIP=0 TOTAL=5"
        );
        assert_eq!(
            shown("Done. PASS=4 WARN=0 ERROR=1 SKIP=0 TOTAL=5"),
            "Done. PASS=4 WARN=0 ERROR=1 SKIP=0 TOTAL=5"
        );
        assert_eq!(shown("ERROR_LOG=/var/log/x"), "__________/var/log/x");
        assert_eq!(
            shown("CREATE TABLE IF NOT EXISTS sales"),
            "CREATE TABLE _____________ sales"
        );
        assert_eq!(shown("0 errors"), "________");
        assert_eq!(shown("errors: []"), "__________");
        assert_eq!(shown("failed=0"), "________");
        assert_eq!(shown("no errors found"), "_________ found");
        assert_eq!(shown("Found 0 errors."), "Found_________.");
        assert_eq!(shown("run --timeout 30 x"), "run_____________ x");
        assert_eq!(shown("timeout=30s"), "___________");
        assert_eq!(
            shown("psycopg2.errors.UndefinedTable: x"),
            "psycopg2.errors.UndefinedTable: x"
        );
        assert_eq!(
            shown("Code: 62. DB::Exception: Syntax error (SYNTAX_ERROR)"),
            "Code: 62. DB::Exception: Syntax error (SYNTAX_ERROR)"
        );
    }

    #[test]
    fn ansi_colours_become_nul() {
        let line = b"\x1b[31mERROR\x1b[0m: boom";
        let out = neutralize_ansi(line);
        assert_eq!(out.len(), line.len());
        assert_eq!(
            String::from_utf8_lossy(&out).replace('\0', ""),
            "ERROR: boom"
        );
    }
}
