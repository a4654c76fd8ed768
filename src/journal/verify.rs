//! Reading a journal back and checking its hash chain.

use super::{hmac_sha256_hex, sha256_hex, GENESIS};
use crate::cli::VerifyJournalArgs;
use crate::exit;
use serde::Deserialize;
use std::fmt;

/// One intact journal line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub seq: u64,
    /// The event as stored (see `crate::cycle::events::Event`); kept as JSON
    /// so a journal from a newer agent with new event kinds still verifies.
    pub event: serde_json::Value,
}

/// The first thing wrong with a journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// No lines at all.
    Empty,
    /// The last line has no newline: the writer died in the middle of it.
    Truncated { after: usize },
    /// A line's hash, its `prev` or its `seq` does not follow.
    Broken { line: usize },
    /// A line that is not a journal entry at all.
    Malformed { line: usize, why: String },
    /// Checked with a key: a line whose HMAC is missing or wrong (rewritten
    /// by someone without the key, or written under another key).
    Forged { line: usize },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Empty => write!(f, "empty journal: no events"),
            Problem::Truncated { after } => {
                write!(f, "truncated after line {after}: last line incomplete")
            }
            Problem::Broken { line } => {
                write!(f, "line {line}: hash chain broken (edited or reordered)")
            }
            Problem::Malformed { line, why } => {
                write!(f, "line {line}: not a journal entry ({why})")
            }
            Problem::Forged { line } => write!(
                f,
                "line {line}: HMAC missing or wrong: not written by a run holding this key"
            ),
        }
    }
}

/// What reading a journal found: the intact entries before the first problem.
#[derive(Debug, Clone)]
pub struct Read {
    pub entries: Vec<Entry>,
    pub problem: Option<Problem>,
    /// How many intact lines carry a `mac`.
    pub macs: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    seq: u64,
    prev: String,
    event: serde_json::Value,
    #[serde(default)]
    mac: Option<String>,
}

/// `,"hash":"` + 64 hex digits + `"}`.
const TAIL: usize = 9 + 64 + 2;

/// Reads and checks a journal's chain; never panics, whatever the bytes.
pub fn read(bytes: &[u8]) -> Read {
    read_keyed(bytes, None)
}

/// As [`read`], and with a `key` every line's HMAC must match too.
pub fn read_keyed(bytes: &[u8], key: Option<&[u8]>) -> Read {
    let mut macs = 0;
    let mut entries = Vec::new();
    let mut prev = GENESIS.to_string();
    let complete = bytes.ends_with(b"\n");
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // split leaves an empty piece after the final newline.
    if complete {
        lines.pop();
    }
    if lines.is_empty() || (lines.len() == 1 && lines[0].is_empty()) {
        return Read {
            entries,
            problem: Some(Problem::Empty),
            macs,
        };
    }
    let last = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let n = i + 1;
        if n == last && !complete {
            return Read {
                entries,
                problem: Some(Problem::Truncated { after: i }),
                macs,
            };
        }
        match check_line(raw, n, &prev, key) {
            Ok((entry, hash, signed)) => {
                prev = hash;
                macs += usize::from(signed);
                entries.push(entry);
            }
            Err(problem) => {
                return Read {
                    entries,
                    problem: Some(problem),
                    macs,
                }
            }
        }
    }
    Read {
        entries,
        problem: None,
        macs,
    }
}

/// Checks line `n`: its entry, its hash and whether it carries a mac.
fn check_line(
    raw: &[u8],
    n: usize,
    prev: &str,
    key: Option<&[u8]>,
) -> Result<(Entry, String, bool), Problem> {
    let malformed = |why: &str| Problem::Malformed {
        line: n,
        why: why.to_string(),
    };
    let line = std::str::from_utf8(raw).map_err(|_| malformed("not UTF-8"))?;
    if line.len() < TAIL + 2 || !line.is_char_boundary(line.len() - TAIL) {
        return Err(malformed("no hash"));
    }
    let (head, tail) = line.split_at(line.len() - TAIL);
    let hash = tail
        .strip_prefix(r#","hash":""#)
        .and_then(|t| t.strip_suffix("\"}"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or_else(|| malformed("no hash"))?;
    let body = format!("{head}}}");
    if sha256_hex(body.as_bytes()) != hash {
        return Err(Problem::Broken { line: n });
    }
    let body: Body = serde_json::from_str(&body).map_err(|e| malformed(&e.to_string()))?;
    if body.prev != prev || body.seq != n as u64 {
        return Err(Problem::Broken { line: n });
    }
    if let Some(key) = key {
        // The mac covers the body as it was before the mac was added.
        let unsigned = body
            .mac
            .as_ref()
            .and_then(|m| head.strip_suffix(&format!(r#","mac":"{m}""#)))
            .map(|h| format!("{h}}}"));
        let valid = unsigned.is_some_and(|u| Some(hmac_sha256_hex(key, u.as_bytes())) == body.mac);
        if !valid {
            return Err(Problem::Forged { line: n });
        }
    }
    let signed = body.mac.is_some();
    Ok((
        Entry {
            seq: body.seq,
            event: body.event,
        },
        hash.to_string(),
        signed,
    ))
}

/// `auto-etl verify-journal FILE`: 0 intact and complete, 1 broken or
/// forged, 2 unreadable, 5 intact but incomplete (no `run_end`).
pub fn cmd_verify_journal(args: VerifyJournalArgs) -> anyhow::Result<u8> {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "auto-etl: cannot read the journal {}: {e}",
                args.file.display()
            );
            return Ok(exit::USAGE);
        }
    };
    let key = super::journal_key();
    let read = read_keyed(&bytes, key.as_deref());
    let (text, code) = verdict(&read, key.is_some(), &args.file.display().to_string());
    exit::write_stdout(text.as_bytes())?;
    Ok(code)
}

/// What `verify-journal` prints and exits with. Pure.
pub fn verdict(read: &Read, keyed: bool, file: &str) -> (String, u8) {
    let n = read.entries.len();
    if let Some(problem) = &read.problem {
        return (
            format!("{file}: {problem} ({n} event(s) before it intact)\n"),
            exit::STILL_FAILING,
        );
    }
    let auth = if keyed {
        "HMAC verified with AUTO_ETL_JOURNAL_KEY".to_string()
    } else if read.macs > 0 {
        "HMAC not checked (AUTO_ETL_JOURNAL_KEY unset): the chain alone detects corruption and truncation inside a line, not a rewrite".to_string()
    } else {
        "not authenticated (written without AUTO_ETL_JOURNAL_KEY): the chain detects corruption and truncation inside a line, not a rewrite".to_string()
    };
    let finished = read
        .entries
        .last()
        .is_some_and(|e| e.event["event"] == "run_end");
    if finished {
        (
            format!("ok: {n} events, chain intact, run complete; {auth}\n"),
            exit::SUCCESS,
        )
    } else {
        (
            format!("incomplete: {n} events, chain intact, no run_end (the run was killed, the file was cut after whole lines, or the run is still going); {auth}\n"),
            exit::INCOMPLETE,
        )
    }
}
