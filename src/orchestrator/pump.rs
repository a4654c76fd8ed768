//! The output pump: each step's stdout and stderr are drained concurrently,
//! cut into whole lines, and handed to one writer that appends them to the
//! iteration log and feeds the classifier in the same pass. Memory stays
//! bounded whatever the pipeline prints: chunks are at most `MAX_CHUNK` and
//! the channel holds a fixed number of them.

use crate::classify::{ScanReport, Scanner};
use std::io::Write;
use std::path::Path;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// Largest piece sent at once; a longer line is passed on in pieces.
pub const MAX_CHUNK: usize = 64 * 1024;
const CHANNEL_CAPACITY: usize = 64;

/// One piece of output, tagged with the step it came from.
pub struct Chunk {
    pub step: usize,
    pub bytes: Vec<u8>,
    /// Written by the agent itself (headers, notices), not by a step.
    pub agent: bool,
    /// Goes through the classifier (a header naming a step does not).
    pub scan: bool,
}

/// Where readers send output.
#[derive(Clone)]
pub struct Sink {
    tx: mpsc::Sender<Chunk>,
}

impl Sink {
    /// Sends a notice written by the agent itself (a timeout, a service not
    /// ready): classified like step output.
    pub async fn note(&self, step: usize, text: &str) {
        self.agent_line(step, text, true).await;
    }

    /// Sends a header line (which step starts): in the log, not classified.
    pub async fn header(&self, step: usize, text: &str) {
        self.agent_line(step, text, false).await;
    }

    async fn agent_line(&self, step: usize, text: &str, scan: bool) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        let _ = self
            .tx
            .send(Chunk {
                step,
                bytes,
                agent: true,
                scan,
            })
            .await;
    }
}

/// What the writer found once the log is closed.
pub struct PumpResult {
    pub scan: ScanReport,
    /// `rows=N` figures summed per step index.
    pub rows: Vec<(usize, u64)>,
    pub io_error: Option<String>,
}

/// Starts the writer on a blocking thread. `echo` copies output to stderr.
pub fn start(
    log_path: &Path,
    mut scanner: Scanner,
    echo: bool,
) -> std::io::Result<(Sink, tokio::task::JoinHandle<PumpResult>)> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)?;
    let (tx, mut rx) = mpsc::channel::<Chunk>(CHANNEL_CAPACITY);
    let handle = tokio::task::spawn_blocking(move || {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, file);
        let mut io_error = None;
        let mut rows: Vec<(usize, u64)> = Vec::new();
        let stderr = std::io::stderr();
        let redactor = crate::redact::global();
        while let Some(chunk) = rx.blocking_recv() {
            // Secrets are masked before the output goes anywhere: the log,
            // the classifier (whose excerpts land in the report), the console.
            let bytes = redactor.redact(&chunk.bytes);
            if io_error.is_none() {
                if let Err(e) = out.write_all(&bytes) {
                    io_error = Some(format!("cannot write the iteration log: {e}"));
                }
            }
            if chunk.scan {
                scanner.feed(&bytes);
            } else {
                scanner.skip_lines(&bytes);
            }
            if let Some(n) = crate::metrics::parse_rows(&chunk.bytes).filter(|_| !chunk.agent) {
                match rows.iter_mut().find(|(s, _)| *s == chunk.step) {
                    Some((_, total)) => *total += n,
                    None => rows.push((chunk.step, n)),
                }
            }
            if echo {
                let _ = stderr.lock().write_all(&bytes);
            }
        }
        if let Err(e) = out.flush().and_then(|_| out.get_ref().sync_all()) {
            io_error.get_or_insert(format!("cannot write the iteration log: {e}"));
        }
        PumpResult {
            scan: scanner.finish(),
            rows,
            io_error,
        }
    });
    Ok((Sink { tx }, handle))
}

/// Drains `reader` into the sink in whole lines (or `MAX_CHUNK` pieces).
pub async fn drain<R: AsyncRead + Unpin>(mut reader: R, step: usize, sink: Sink) {
    let mut buf = vec![0u8; MAX_CHUNK];
    let mut carry: Vec<u8> = Vec::new();
    let send = |bytes: Vec<u8>| {
        sink.tx.send(Chunk {
            step,
            bytes,
            agent: false,
            scan: true,
        })
    };
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let data = &buf[..n];
        if let Some(i) = data.iter().rposition(|&b| b == b'\n') {
            let mut piece = std::mem::take(&mut carry);
            piece.extend_from_slice(&data[..=i]);
            carry.extend_from_slice(&data[i + 1..]);
            if send(piece).await.is_err() {
                return;
            }
        } else {
            carry.extend_from_slice(data);
        }
        if carry.len() >= MAX_CHUNK && send(std::mem::take(&mut carry)).await.is_err() {
            return;
        }
    }
    if !carry.is_empty() {
        // End the last partial line so the next writer's line starts fresh.
        carry.push(b'\n');
        let _ = send(carry).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_cuts_whole_lines_and_keeps_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("it.log");
        let rules = std::sync::Arc::new(crate::classify::RuleSet::builtin());
        let markers = std::sync::Arc::new(crate::classify::Markers::default());
        let (sink, writer) = start(&log, Scanner::new(rules, markers), false).unwrap();
        let mut input = b"first\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 * MAX_CHUNK + 7));
        input.extend_from_slice(b"\nlast line without newline");
        drain(&input[..], 0, sink).await;
        let result = writer.await.unwrap();
        let written = std::fs::read(&log).unwrap();
        assert_eq!(&written[..input.len()], &input[..]);
        assert_eq!(written.len(), input.len() + 1);
        assert_eq!(result.scan.lines, 3);
    }
}
