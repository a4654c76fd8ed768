//! Secret redaction for everything auto-etl writes or prints: iteration logs,
//! its own log, the report (and what is rendered from it), the console.
//!
//! What counts as a secret:
//! - secret values (4 characters or more) from the agent's environment and
//!   the pipeline root's `.env` (see `sources`): values of variables named
//!   like PASSWORD, TOKEN, SECRET, KEY, CREDENTIAL, values shaped like a
//!   token or key whatever the name, and the password of a URL alone;
//!   matched as literals (Aho-Corasick), with no limit on their number or size;
//! - shapes without a name: PEM private-key blocks, GitHub (`ghp_`,
//!   `github_pat_`, ...), GitLab (`glpat-`) and Slack (`xoxb-`/`xoxp-`)
//!   tokens, AWS access key ids, JWTs, URL userinfo passwords;
//! - `password=...`, `pwd: ...`, `secret=...`, `token=...`, `api_key=...`
//!   pairs (any case) and `Authorization: Bearer|Basic ...` tokens.
//!
//! Speed: a literal prefilter (ASCII case-insensitive) decides whether a line
//! needs the full pattern at all; most log chunks do not, and come back
//! borrowed. Streams cut at any byte are redacted by `stream::Stream`.

mod pem;
mod sources;
pub mod stream;

use sources::is_secret_value;
pub use sources::{dotenv_values, env_values};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Captures, Regex};
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What replaces a secret.
pub const MASK: &str = "***";

/// The built-in patterns.
const PATTERNS: &str = concat!(
    // user:password@ in a URL; keep the scheme, user and host.
    r"(?P<url>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]+:)(?P<url_pw>[^@\s/]+)@",
    // key = value pairs, `"key": "value"` too.
    r#"|(?P<kv>(?i:password|passwd|pwd|secret|token|credential|(?:api|access|private|secret)[_-]?key)[A-Za-z_]*(?:\\?["'])?[ \t]*[=:][ \t]*)"#,
    r#"(?P<kv_val>\\?"[^"\\\r\n]*\\?"|'[^'\r\n]*'|[^\s,;&"'<>\\]+)"#,
    // Authorization headers and bare bearer tokens.
    r"|(?P<auth>(?i:authorization)[ \t]*[:=][ \t]*(?i:basic|bearer|token)[ \t]+)[A-Za-z0-9._~+/=-]+",
    r"|(?P<bearer>(?i:bearer)[ \t]+)[A-Za-z0-9._~+/-]{6,}=*",
    // JSON web tokens: base64url of `{"` is `eyJ`.
    r"|(?P<jwt>eyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*){0,2})",
    // AWS access key ids; keep the prefix, which says what kind of key it was.
    r"|\b(?P<aws>AKIA|ASIA)[0-9A-Z]{16}\b",
    // Provider tokens with a documented prefix; keep the prefix.
    r"|\b(?P<tok>gh[pousr]_|github_pat_|glpat-|xox[bp]-)[A-Za-z0-9_-]{10,}",
);

/// Literals at least one of which every built-in pattern contains, searched
/// ASCII case-insensitively (`PassWord=` is a key like `password=`).
const PREFILTER: &[&str] = &[
    "passw",
    "pwd",
    "secret",
    "token",
    "credential",
    "authoriz",
    "bearer",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "accesskey",
    "private_key",
    "private-key",
    "privatekey",
    "://",
    "eyJ",
    "AKIA",
    "ASIA",
    // and sources::TOKEN_PREFIXES, chained in where the automaton is built
];

/// A compiled redactor.
#[derive(Debug, Clone)]
pub struct Redactor {
    prefilter: AhoCorasick,
    full: Regex,
    /// The secret values, longest first among overlapping ones.
    literal: Option<AhoCorasick>,
    /// How many secret values are masked, and the longest one's length.
    literals: usize,
    longest: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::with_values(Vec::<String>::new())
    }
}

static ROOT: OnceLock<PathBuf> = OnceLock::new();

/// Names the pipeline root whose `.env` holds secrets; call before the
/// first `global()` (a later call has no effect on a redactor built already).
pub fn set_pipeline_root(root: &Path) {
    let _ = ROOT.set(root.to_path_buf());
}

/// The process-wide redactor: the agent's environment plus the pipeline
/// root's `.env` (never the working directory's), read once on first use.
pub fn global() -> &'static Redactor {
    static GLOBAL: OnceLock<Redactor> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let mut values = env_values(std::env::vars_os());
        if let Some(root) = ROOT.get() {
            values.extend(dotenv_values(&root.join(".env")));
        }
        Redactor::with_values(values)
    })
}

impl Redactor {
    /// Masks the secret values of the agent's environment and the patterns.
    pub fn from_env() -> Redactor {
        Redactor::with_values(env_values(std::env::vars_os()))
    }

    /// Masks `values` (and the built-in patterns). Short or trivial values
    /// are ignored: masking every `true` or `abc` would wreck the logs.
    pub fn with_values<I, S>(values: I) -> Redactor
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.as_ref().to_string())
            .filter(|v| is_secret_value(v))
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        // Leftmost-longest: a secret that contains another is masked whole.
        let literal = (!values.is_empty()).then(|| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&values)
                .expect("an Aho-Corasick automaton of plain literals builds")
        });
        let prefilter = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(PREFILTER.iter().chain(sources::TOKEN_PREFIXES))
            .expect("the prefilter literals build");
        Redactor {
            prefilter,
            full: Regex::new(PATTERNS).expect("redaction patterns compile"),
            literal,
            literals: values.len(),
            longest: values.first().map_or(0, |v| v.len()),
        }
    }

    /// How many environment values this redactor masks.
    pub fn secret_values(&self) -> usize {
        self.literals
    }

    /// Whether `bytes` hold one of the secret values (a file a step wrote
    /// with a password in it, say).
    pub fn holds_secret_value(&self, bytes: &[u8]) -> bool {
        self.literal.as_ref().is_some_and(|ac| ac.is_match(bytes))
    }

    /// The longest secret value's length in bytes.
    pub fn longest_value(&self) -> usize {
        self.longest
    }

    /// `bytes` with every secret masked; borrowed (no copy) when there is none.
    pub fn redact<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        self.redact_from(bytes, &mut false)
    }

    /// As `redact`, with a PEM block possibly open before `bytes`
    /// (`in_pem`, left saying whether one is open after them).
    pub fn redact_from<'a>(&self, bytes: &'a [u8], in_pem: &mut bool) -> Cow<'a, [u8]> {
        // Patterns before literals: a pattern keeps parts of its match (a
        // URL's user, a key's name) which the literal pass then still sees.
        let pem = pem::mask(bytes, in_pem);
        let pat = match &pem {
            Cow::Borrowed(b) => self.patterns_masked(b),
            Cow::Owned(b) => Cow::Owned(self.patterns_masked(b).into_owned()),
        };
        let pat = match (pem, pat) {
            (Cow::Borrowed(_), Cow::Borrowed(b)) => Cow::Borrowed(b),
            (_, p) => Cow::Owned(p.into_owned()),
        };
        match pat {
            Cow::Borrowed(b) => self.literals_masked(b),
            Cow::Owned(b) => Cow::Owned(self.literals_masked(&b).into_owned()),
        }
    }

    fn literals_masked<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.literal {
            Some(ac) if ac.is_match(bytes) => {
                let mut out = Vec::with_capacity(bytes.len());
                ac.replace_all_with_bytes(bytes, &mut out, |_, _, dst| {
                    dst.extend_from_slice(MASK.as_bytes());
                    true
                });
                Cow::Owned(out)
            }
            _ => Cow::Borrowed(bytes),
        }
    }

    /// Where secrets lie in `bytes` (start, end), in order of the passes;
    /// for a stream cutting a long line where no secret is.
    pub(crate) fn spans(&self, bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        if let Some(ac) = &self.literal {
            out.extend(ac.find_iter(bytes).map(|m| (m.start(), m.end())));
        }
        self.each_pattern(bytes, |caps| {
            let m = caps.get(0).expect("group 0 is the match");
            out.push((m.start(), m.end()));
        });
        out
    }

    /// Calls `on` for every pattern match; no pattern crosses a line end,
    /// so the full pattern only runs over lines where the prefilter hit.
    fn each_pattern(&self, bytes: &[u8], mut on: impl FnMut(&Captures<'_>)) {
        let mut done = 0;
        let mut from = 0;
        while let Some(hit) = self
            .prefilter
            .find(aho_corasick::Input::new(bytes).range(from..))
        {
            let start = bytes[..hit.start()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
                .max(done);
            let end = bytes[hit.end()..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| hit.end() + i);
            let line = &bytes[..end];
            let mut pos = start;
            while let Some(caps) = self.full.captures_at(line, pos) {
                let m = caps.get(0).expect("group 0 is the match");
                on(&caps);
                done = m.end();
                // No pattern matches the empty string; the max is a guard.
                pos = m.end().max(m.start() + 1);
            }
            done = done.max(end);
            from = end.max(hit.end());
            if from >= bytes.len() {
                break;
            }
        }
    }

    fn patterns_masked<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        let mut last = 0;
        self.each_pattern(bytes, |caps| {
            let m = caps.get(0).expect("group 0 is the match");
            let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len() + 64));
            buf.extend_from_slice(&bytes[last..m.start()]);
            replacement(caps, buf);
            last = m.end();
        });
        match out {
            None => Cow::Borrowed(bytes),
            Some(mut buf) => {
                buf.extend_from_slice(&bytes[last..]);
                Cow::Owned(buf)
            }
        }
    }

    /// `text` with every secret masked.
    pub fn redact_str<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Masks are ASCII and replace whole matches of valid UTF-8, so
            // this is UTF-8; the lossy path is only a belt and braces.
            Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    /// Masks every string inside a JSON value (object keys are field names
    /// and stay). Structural, so the JSON stays valid whatever is masked.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Cow::Owned(r) = self.redact_str(s) {
                    *s = r;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.redact_json(v)),
            _ => {}
        }
    }

    /// A copy of `value` with its strings masked (a copy of it as is when it
    /// does not round-trip through JSON, which a report always does).
    pub fn redact_serde<T>(&self, value: &T) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Clone,
    {
        let Ok(mut json) = serde_json::to_value(value) else {
            return value.clone();
        };
        self.redact_json(&mut json);
        serde_json::from_value(json).unwrap_or_else(|_| value.clone())
    }
}

/// Appends what replaces one match; `keep` appends the parts that stay.
fn replacement(caps: &Captures<'_>, out: &mut Vec<u8>) {
    let keep = |kept: &[u8], out: &mut Vec<u8>| out.extend_from_slice(kept);
    let mask = MASK.as_bytes();
    if let Some(pre) = caps.name("url") {
        keep(pre.as_bytes(), out);
        out.extend_from_slice(mask);
        out.push(b'@');
    } else if let Some(key) = caps.name("kv") {
        keep(key.as_bytes(), out);
        let val = caps.name("kv_val").map(|v| v.as_bytes()).unwrap_or(b"");
        // Keep the quotes so quoted text (and JSON logs) stays well formed.
        let quote: &[u8] = if val.starts_with(b"\\\"") {
            b"\\\""
        } else if val.starts_with(b"\"") {
            b"\""
        } else if val.starts_with(b"'") {
            b"'"
        } else {
            b""
        };
        out.extend_from_slice(quote);
        out.extend_from_slice(mask);
        out.extend_from_slice(quote);
    } else if let Some(pre) = caps.name("auth").or_else(|| caps.name("bearer")) {
        keep(pre.as_bytes(), out);
        out.extend_from_slice(mask);
    } else if let Some(prefix) = caps.name("aws").or_else(|| caps.name("tok")) {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(mask);
    } else {
        // jwt, literal values
        out.extend_from_slice(mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Redactor {
        Redactor::with_values(["s3cr3t-pa55", "true", "abc"])
    }

    #[test]
    fn masks_each_kind_of_secret() {
        let cases = [
            ("db pass s3cr3t-pa55 end", "db pass *** end"),
            (
                "postgres://etl:hunter22@db:5432/x",
                "postgres://etl:***@db:5432/x",
            ),
            ("password=hunter22 next", "password=*** next"),
            ("PGPASSWORD=hunter22", "PGPASSWORD=***"),
            ("pwd: 'a b c'", "pwd: '***'"),
            (r#"{"password": "x y"}"#, r#"{"password": "***"}"#),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key = ***",
            ),
            (
                "Authorization: Bearer abc.def-ghi_jkl",
                "Authorization: Bearer ***",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNz",
                "Authorization: Basic ***",
            ),
            ("curl -H 'bearer 0123456789abcdef'", "curl -H 'bearer ***'"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_x-1 ok",
                "jwt *** ok",
            ),
            ("key AKIAIOSFODNN7EXAMPLE used", "key AKIA*** used"),
        ];
        let r = r();
        for (input, want) in cases {
            assert_eq!(r.redact_str(input), want, "input: {input}");
        }
    }

    #[test]
    fn regression_a_secret_in_the_kept_part_of_a_match_is_masked() {
        let r = Redactor::with_values(["hunter", "s3cr3t"]);
        assert_eq!(
            r.redact_str("s3cr3t://hunter:pw@host passwordhunter=x"),
            "***://***:***@host password***=***"
        );
    }

    #[test]
    fn leaves_ordinary_text_borrowed() {
        let r = r();
        for text in [
            "ERROR:  syntax error at or near \"x\"",
            "FATAL: password authentication failed for user \"etl\"",
            "visit https://example.com/path?q=1",
            "it is true that abc is short",
            "primary key (id)",
        ] {
            assert!(
                matches!(r.redact_str(text), Cow::Borrowed(_)),
                "changed: {text}"
            );
        }
    }

    #[test]
    fn json_stays_valid_whatever_is_masked() {
        let r = Redactor::with_values(["\\u00", "\"quoted\""]);
        let mut v =
            serde_json::json!({"a": ["x \"quoted\" \\u00 y", {"b": "password=\"p\""}], "n": 1});
        r.redact_json(&mut v);
        let text = serde_json::to_string(&v).unwrap();
        assert!(!text.contains("quoted"), "{text}");
        assert_eq!(v["a"][1]["b"], "password=\"***\"");
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    }

    #[test]
    fn non_utf8_bytes_pass_through_untouched() {
        let r = r();
        let input = b"\xff\xfe password=\xff\xff s3cr3t-pa55 \x00";
        let out = r.redact(input);
        assert!(!out.windows(11).any(|w| w == b"s3cr3t-pa55"));
        assert!(out.starts_with(b"\xff\xfe password="));
    }

    /// `cargo test --release --lib redaction_throughput -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn redaction_throughput() {
        let r = Redactor::with_values(["s3cr3t-pa55", "another-secret-value", "tok_abcdef"]);
        let mut log = Vec::with_capacity(101 << 20);
        let mut i = 0u64;
        while log.len() < 100 << 20 {
            i += 1;
            let line = match i % 5000 {
                0 => format!("{i} connecting to postgres://etl:hunter22@db:5432/etl\n"),
                1 => format!("{i} INFO loaded batch rows=1000 from https://example.com/data.csv\n"),
                _ => format!("2025-01-09 12:34:56 INFO [transform] processed batch {i} in 12ms: 1000 rows, 0 rejected (table staging_sales)\n"),
            };
            log.extend_from_slice(line.as_bytes());
        }
        let t = std::time::Instant::now();
        let mut masked = 0;
        for chunk in log.chunks(64 * 1024) {
            if let Cow::Owned(_) = r.redact(chunk) {
                masked += 1;
            }
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "redaction: {:.0} MB/s over {} MB in 64 KiB chunks ({masked} chunks changed)",
            log.len() as f64 / 1e6 / secs,
            log.len() >> 20
        );
    }
}
