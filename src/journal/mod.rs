//! The run journal: an append-only, hash-chained record of the cycle's
//! events (`<report-dir>/auto_cycle_<id>.journal.jsonl`), written as they
//! happen so that a run killed with SIGKILL (or a crashed machine) still
//! leaves every completed iteration behind, and tampering or truncation
//! shows.
//!
//! One event per line:
//! `{"seq":N,"prev":"<hex>","event":{...},"hash":"<hex>"}` where `hash` is
//! the SHA-256 of the line without its `,"hash":...` tail (i.e. of
//! `{"seq":N,"prev":"<hex>","event":{...}}`) and `prev` is the previous
//! line's `hash` (64 zeros on the first line).
//!
//! What the chain detects, and what it does not: a line edited or corrupted
//! on disk, lines removed or reordered, and a line cut in the middle (a
//! writer killed mid-write). A journal cut after whole lines is a valid
//! chain, so `verify-journal` reports a journal without `run_end` as
//! incomplete (its own exit status) rather than intact. Whoever can rewrite
//! the file can recompute every hash, so the chain alone cannot tell a
//! forgery: with `AUTO_ETL_JOURNAL_KEY` set (a secret kept outside the log
//! directory, e.g. a CI secret), each line also carries
//! `"mac":"<hex>"`, the HMAC-SHA-256 under that key of the line's body
//! before the mac, and `verify-journal` run with the same key rejects any
//! line whose mac is missing or wrong.

mod rebuild;
mod verify;

pub use rebuild::{load_from_journal, rebuild, Rebuilt};
pub use verify::{cmd_verify_journal, read, read_keyed, verdict, Entry, Problem, Read};

use crate::cycle::events::{Event, Observer};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `prev` of the first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The journal's file name for a run.
pub fn file_name(run_id: &str) -> String {
    format!("auto_cycle_{run_id}.journal.jsonl")
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The variable holding the journal's HMAC key.
pub const JOURNAL_KEY_ENV: &str = "AUTO_ETL_JOURNAL_KEY";

/// The HMAC key from the environment, when set and not empty.
pub fn journal_key() -> Option<Vec<u8>> {
    std::env::var_os(JOURNAL_KEY_ENV)
        .filter(|k| !k.is_empty())
        .map(|k| std::os::unix::ffi::OsStrExt::as_bytes(k.as_os_str()).to_vec())
}

/// HMAC-SHA-256 (RFC 2104) of `data` under `key`, lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    use hmac::Mac;
    let mut mac =
        hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Builds one journal line (with its `\n`) and returns it with its hash;
/// with a `key`, the body carries its HMAC as `mac` before being hashed.
pub fn encode_line(seq: u64, prev: &str, event_json: &str, key: Option<&[u8]>) -> (String, String) {
    let mut body = format!(r#"{{"seq":{seq},"prev":"{prev}","event":{event_json}}}"#);
    if let Some(key) = key {
        let mac = hmac_sha256_hex(key, body.as_bytes());
        body.pop();
        body.push_str(&format!(r#","mac":"{mac}"}}"#));
    }
    let hash = sha256_hex(body.as_bytes());
    let mut line = String::with_capacity(body.len() + 80);
    line.push_str(&body[..body.len() - 1]);
    line.push_str(r#","hash":""#);
    line.push_str(&hash);
    line.push_str("\"}\n");
    (line, hash)
}

/// Writes the journal as the loop emits events.
///
/// Each line goes to the kernel with one `write` as soon as its event
/// happens, so killing the agent loses nothing already told; `fdatasync`
/// after every line makes it survive a machine crash too (about 0.1-2 ms a
/// line depending on the disk, and a run emits a few dozen lines per
/// iteration; see the final report of the reliability work for figures).
/// Secrets are masked before anything reaches the file.
pub struct JournalObserver {
    file: File,
    path: PathBuf,
    seq: u64,
    prev: String,
    /// The HMAC key, read once when the journal is created.
    key: Option<Vec<u8>>,
    /// Set after the first write error; the run goes on without a journal.
    failed: bool,
}

impl JournalObserver {
    /// Creates a new journal at `path`; an existing file is never overwritten.
    pub fn create(path: &Path) -> io::Result<JournalObserver> {
        let file = std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // The new name must survive a crash as well as the lines.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(JournalObserver {
            file,
            path: path.to_path_buf(),
            seq: 0,
            prev: GENESIS.to_string(),
            key: journal_key(),
            failed: false,
        })
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one event; the line is on its way to disk when this returns.
    pub fn append(&mut self, event: &Event) -> io::Result<()> {
        let mut value = serde_json::to_value(event).map_err(io::Error::other)?;
        crate::redact::global().redact_json(&mut value);
        let json = serde_json::to_string(&value).map_err(io::Error::other)?;
        let (line, hash) = encode_line(self.seq + 1, &self.prev, &json, self.key.as_deref());
        self.file.write_all(line.as_bytes())?;
        self.file.sync_data()?;
        self.seq += 1;
        self.prev = hash;
        Ok(())
    }
}

impl Observer for JournalObserver {
    fn event(&mut self, event: &Event) {
        if self.failed {
            return;
        }
        if let Err(e) = self.append(event) {
            // A full disk must not stop the run; the report still gets written
            // (or fails loudly on its own).
            self.failed = true;
            tracing::warn!(
                "cannot write the journal {}: {e}; going on without it",
                self.path.display()
            );
        }
    }

    fn finish(&mut self) {
        let _ = self.file.sync_all();
    }
}

#[cfg(test)]
mod tests;
