//! Reading a journal back and checking its hash chain.

use super::{sha256_hex, GENESIS};
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
        }
    }
}

/// What reading a journal found: the intact entries before the first problem.
#[derive(Debug, Clone)]
pub struct Read {
    pub entries: Vec<Entry>,
    pub problem: Option<Problem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    seq: u64,
    prev: String,
    event: serde_json::Value,
}

/// `,"hash":"` + 64 hex digits + `"}`.
const TAIL: usize = 9 + 64 + 2;

/// Reads and checks a journal; never panics, whatever the bytes.
pub fn read(bytes: &[u8]) -> Read {
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
        };
    }
    let last = lines.len();
    for (i, raw) in lines.into_iter().enumerate() {
        let n = i + 1;
        if n == last && !complete {
            return Read {
                entries,
                problem: Some(Problem::Truncated { after: i }),
            };
        }
        match check_line(raw, n, &prev) {
            Ok((entry, hash)) => {
                prev = hash;
                entries.push(entry);
            }
            Err(problem) => {
                return Read {
                    entries,
                    problem: Some(problem),
                }
            }
        }
    }
    Read {
        entries,
        problem: None,
    }
}

fn check_line(raw: &[u8], n: usize, prev: &str) -> Result<(Entry, String), Problem> {
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
    Ok((
        Entry {
            seq: body.seq,
            event: body.event,
        },
        hash.to_string(),
    ))
}

/// `auto-etl verify-journal FILE`: 0 intact, 1 broken, 2 unreadable.
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
    let read = read(&bytes);
    let n = read.entries.len();
    match read.problem {
        None => {
            let finished = read
                .entries
                .last()
                .is_some_and(|e| e.event["event"] == "run_end");
            println!(
                "ok: {n} events, chain intact{}",
                if finished {
                    ""
                } else {
                    " (no run_end: the run was interrupted or is still going)"
                }
            );
            Ok(exit::SUCCESS)
        }
        Some(problem) => {
            println!(
                "{}: {problem} ({n} event(s) before it intact)",
                args.file.display()
            );
            Ok(exit::STILL_FAILING)
        }
    }
}
