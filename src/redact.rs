//! Secret redaction for everything auto-etl writes or prints: iteration logs,
//! its own log, the report (and what is rendered from it), the console.
//!
//! What counts as a secret:
//! - the values (4 characters or more) of environment variables whose names
//!   contain PASSWORD, PASSWD, SECRET, TOKEN, KEY or CREDENTIAL, read from the
//!   agent's environment and from `./.env` (the file pipelines load their
//!   credentials from, and steps often echo);
//! - credentials in URLs: `scheme://user:pass@host` -> `scheme://user:***@host`;
//! - `password=...`, `pwd: ...`, `secret=...`, `token=...`, `api_key=...` pairs;
//! - `Authorization: Bearer|Basic ...` tokens, bare `Bearer ...` and JWTs;
//! - AWS access key ids (`AKIA...`/`ASIA...`); their secrets are caught as
//!   `aws_secret_access_key=...` pairs or as `AWS_SECRET_ACCESS_KEY` values.
//!
//! Speed: a cheap literal prefilter (every pattern above starts with or
//! contains one of a few literals) decides whether a buffer needs the full
//! pattern at all; most log chunks do not, and come back borrowed.

use regex::bytes::{Captures, Regex};
use std::borrow::Cow;
use std::path::Path;
use std::sync::OnceLock;

/// What replaces a secret.
pub const MASK: &str = "***";

/// Words in an environment variable's name that make its value a secret.
const SECRET_NAME_PARTS: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"];

/// Values too common to mask everywhere they appear (a flag, not a secret).
const NOT_SECRETS: &[&str] = &["true", "false", "yes", "no", "none", "null", "unset"];

/// The built-in patterns; literal values are appended as the last alternative.
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
);

/// Literals at least one of which every built-in pattern contains. Written
/// out in lower, UPPER, Capitalised (and camelCase) forms rather than as one
/// case-insensitive pattern: a set of plain literals is searched ~20 times
/// faster (SIMD), at the price of missing oddly cased keys like `PassWord=`.
const KEYWORDS: &[&str] = &[
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
];
const EXACT: &[&str] = &[
    "://",
    "eyJ",
    "AKIA",
    "ASIA",
    "apiKey",
    "ApiKey",
    "accessKey",
    "AccessKey",
    "privateKey",
    "PrivateKey",
];

fn prefilter_literals() -> Vec<String> {
    let mut out: Vec<String> = EXACT.iter().map(|s| s.to_string()).collect();
    for k in KEYWORDS {
        let mut cap = k.to_string();
        cap[..1].make_ascii_uppercase();
        out.extend([k.to_string(), k.to_ascii_uppercase(), cap]);
    }
    out
}

/// A compiled redactor.
#[derive(Debug, Clone)]
pub struct Redactor {
    prefilter: Regex,
    full: Regex,
    /// The secret values alone, for the parts of a match that are kept
    /// (a URL's user, a key's name).
    literal: Option<Regex>,
    /// How many secret values from the environment are masked.
    literals: usize,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::with_values(Vec::<String>::new())
    }
}

/// The process-wide redactor: the agent's environment plus `./.env`, read
/// once on first use.
pub fn global() -> &'static Redactor {
    static GLOBAL: OnceLock<Redactor> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let mut values = env_values(std::env::vars_os());
        values.extend(dotenv_values(Path::new(".env")));
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
        // Longest first, so a secret that contains another is masked whole.
        values.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        values.dedup();
        let mut full = String::from(PATTERNS);
        let mut literal = None;
        let mut prefilter: String = prefilter_literals()
            .iter()
            .map(|l| regex::escape(l))
            .collect::<Vec<_>>()
            .join("|");
        if !values.is_empty() {
            let alt: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
            let alt = alt.join("|");
            full.push_str(&format!("|(?P<lit>{alt})"));
            literal = Some(Regex::new(&alt).expect("escaped literals compile"));
            prefilter.push_str(&format!("|{alt}"));
        }
        Redactor {
            prefilter: Regex::new(&prefilter).expect("redaction prefilter compiles"),
            full: Regex::new(&full).expect("redaction patterns compile"),
            literal,
            literals: values.len(),
        }
    }

    /// How many environment values this redactor masks.
    pub fn secret_values(&self) -> usize {
        self.literals
    }

    /// `bytes` with every secret masked; borrowed (no copy) when there is none.
    ///
    /// No pattern crosses a line end, so the full pattern only runs over the
    /// lines where the prefilter found something.
    pub fn redact<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        let mut out: Option<Vec<u8>> = None;
        let mut last = 0;
        let mut from = 0;
        while let Some(hit) = self.prefilter.find_at(bytes, from) {
            let start = bytes[..hit.start()]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
                .max(last);
            let end = bytes[hit.end()..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |i| hit.end() + i);
            let line = &bytes[..end];
            let mut pos = start;
            while let Some(caps) = self.full.captures_at(line, pos) {
                let m = caps.get(0).expect("group 0 is the match");
                let buf = out.get_or_insert_with(|| Vec::with_capacity(bytes.len() + 64));
                buf.extend_from_slice(&bytes[last..m.start()]);
                replacement(&caps, buf, |kept, out| self.keep(kept, out));
                last = m.end();
                // No pattern matches the empty string; the max is a guard.
                pos = m.end().max(m.start() + 1);
            }
            from = end.max(hit.end());
        }
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

impl Redactor {
    /// Appends a kept part of a match, its secret values still masked.
    fn keep(&self, kept: &[u8], out: &mut Vec<u8>) {
        match &self.literal {
            Some(re) => out.extend_from_slice(&re.replace_all(kept, MASK.as_bytes())),
            None => out.extend_from_slice(kept),
        }
    }
}

/// Appends what replaces one match; `keep` appends the parts that stay.
fn replacement(caps: &Captures<'_>, out: &mut Vec<u8>, keep: impl Fn(&[u8], &mut Vec<u8>)) {
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
    } else if let Some(prefix) = caps.name("aws") {
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(mask);
    } else {
        // jwt, literal values
        out.extend_from_slice(mask);
    }
}

fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
}

fn is_secret_value(value: &str) -> bool {
    let v = value.trim();
    v.chars().count() >= 4 && !NOT_SECRETS.iter().any(|n| v.eq_ignore_ascii_case(n))
}

/// Secret values among `vars` (name, value) pairs.
pub fn env_values<I>(vars: I) -> Vec<String>
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    vars.into_iter()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| is_secret_name(k))
        .map(|(_, v)| v)
        .collect()
}

/// Secret values assigned in a dotenv file (`NAME=value`, `export NAME=value`,
/// quoted or not); nothing when it cannot be read.
pub fn dotenv_values(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            if line.starts_with('#') || !is_secret_name(name.trim()) {
                return None;
            }
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some(unquoted.to_string())
        })
        .collect()
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
    fn reads_secret_names_from_the_environment_and_dotenv() {
        let vars = [
            ("DB_PASSWORD", "pw-from-env"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("HOME", "/root"),
            ("api_key", "k-123"),
            ("FEATURE_KEY", "yes"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        assert_eq!(
            env_values(vars),
            vec!["pw-from-env", "ghp_x", "k-123", "yes"]
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        std::fs::write(
            &p,
            "# c\nexport SECRET_KEY=\"s k\"\nUSER=etl\nMY_TOKEN='tok1'\n",
        )
        .unwrap();
        assert_eq!(dotenv_values(&p), vec!["s k", "tok1"]);
        let r = Redactor::with_values(dotenv_values(&p));
        assert_eq!(r.secret_values(), 1, "`s k` is too short");
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
