//! The output pump: each step's stdout and stderr are drained concurrently,
//! cut into whole lines, and handed to one writer that appends them to the
//! iteration log and feeds the classifier in the same pass. Memory stays
//! bounded whatever the pipeline prints: chunks are at most `MAX_CHUNK` and
//! the channel holds a fixed number of them.
//!
//! Lines are reassembled per stream: a line longer than a chunk arrives in
//! pieces, and the redactor of its stream (`redact::stream`) holds back what
//! is not safe to write yet. Two streams are never glued: when a stream
//! writes while another one's line is open in the log, that line is ended
//! there (its rest starts a new line when it comes).

use crate::classify::{ScanReport, Scanner};
use crate::redact::stream::Stream;
use crate::redact::Redactor;
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
    /// Which run of a step wrote it (0: none in particular); lets the
    /// classifier's findings of one run be dropped later.
    pub run: u64,
    /// A request, not output: drop what the classifier found in the lines
    /// of run `run`.
    pub discard: bool,
    /// Which stream of the run (0: the agent, 1: stdout, 2: stderr).
    pub stream: u8,
}

/// One stream of output: its lines are reassembled apart from the others.
type Source = (usize, u64, u8);

/// Where readers send output.
#[derive(Clone)]
pub struct Sink {
    tx: mpsc::Sender<Chunk>,
}

impl Sink {
    /// Sends a notice written by the agent itself (a timeout, a service not
    /// ready): classified like step output.
    pub async fn note(&self, step: usize, text: &str) {
        self.agent_line(step, 0, text, true).await;
    }

    /// Sends a header line (which step starts): in the log, not classified.
    pub async fn header(&self, step: usize, text: &str) {
        self.agent_line(step, 0, text, false).await;
    }

    /// As `note` or `header`, on behalf of run `run` of a step.
    pub async fn agent_line(&self, step: usize, run: u64, text: &str, scan: bool) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(b'\n');
        let _ = self
            .tx
            .send(Chunk {
                step,
                bytes,
                agent: true,
                scan,
                run,
                discard: false,
                stream: 0,
            })
            .await;
    }

    /// The lines run `run` wrote stay in the log, but what the classifier
    /// found in them (matches, markers) does not count: that run's result
    /// was set aside (a hung attempt that was retried). Lines it writes
    /// after this call are dropped from the findings too.
    pub async fn discard(&self, run: u64) {
        let _ = self
            .tx
            .send(Chunk {
                step: 0,
                bytes: Vec::new(),
                agent: true,
                scan: false,
                run,
                discard: true,
                stream: 0,
            })
            .await;
    }
}

/// Log lines (first, last; 1-based, inclusive) each run wrote, merged while
/// a run writes on. Bounded by the number of runs times their interleaving
/// with others, which is small: steps run one after another.
#[derive(Default)]
struct RunLines {
    ranges: Vec<(u64, u64, u64)>,
    discarded: Vec<u64>,
}

impl RunLines {
    fn add(&mut self, run: u64, first: u64, last: u64) {
        if run == 0 || last < first {
            return;
        }
        match self.ranges.last_mut() {
            Some((r, _, end)) if *r == run && *end + 1 >= first => *end = last,
            _ => self.ranges.push((run, first, last)),
        }
    }

    fn discarded(&self, line: u64) -> bool {
        self.ranges
            .iter()
            .any(|(r, first, last)| (*first..=*last).contains(&line) && self.discarded.contains(r))
    }

    /// Drops the findings that fall in lines of discarded runs.
    fn apply(&self, scan: &mut ScanReport) {
        if self.discarded.is_empty() {
            return;
        }
        let before = scan.matches.len();
        scan.matches.retain(|m| !self.discarded(m.line));
        let dropped = (before - scan.matches.len()) as u64;
        scan.total_matches = scan.total_matches.saturating_sub(dropped);
        scan.error_markers.retain(|m| !self.discarded(m.line));
        scan.success_markers.retain(|m| !self.discarded(m.line));
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
        let mut runs = RunLines::default();
        let mut lines = Lines::default();
        while let Some(chunk) = rx.blocking_recv() {
            if chunk.discard {
                runs.discarded.push(chunk.run);
                continue;
            }
            // Secrets are masked before the output goes anywhere: the log,
            // the classifier (whose excerpts land in the report), the console.
            let source = (chunk.step, chunk.run, chunk.stream);
            let bytes = lines.push(redactor, source, &chunk.bytes);
            let before = scanner.report().lines;
            let mut sink = |bytes: &[u8], scan: bool| {
                if io_error.is_none() {
                    if let Err(e) = out.write_all(bytes) {
                        io_error = Some(format!("cannot write the iteration log: {e}"));
                    }
                }
                if scan {
                    scanner.feed(bytes);
                } else {
                    scanner.skip_lines(bytes);
                }
                if echo {
                    let _ = stderr.lock().write_all(bytes);
                }
            };
            if lines.interrupted {
                sink(b"\n", true);
            }
            sink(&bytes, chunk.scan);
            runs.add(chunk.run, before + 1, scanner.report().lines);
            if let Some(n) = crate::metrics::parse_rows(&chunk.bytes).filter(|_| !chunk.agent) {
                match rows.iter_mut().find(|(s, _)| *s == chunk.step) {
                    Some((_, total)) => *total += n,
                    None => rows.push((chunk.step, n)),
                }
            }
        }
        let rest = lines.finish(redactor);
        if !rest.is_empty() {
            if let Err(e) = out.write_all(&rest) {
                io_error.get_or_insert(format!("cannot write the iteration log: {e}"));
            }
            scanner.feed(&rest);
        }
        if let Err(e) = out.flush().and_then(|_| out.get_ref().sync_all()) {
            io_error.get_or_insert(format!("cannot write the iteration log: {e}"));
        }
        let mut scan = scanner.finish();
        runs.apply(&mut scan);
        PumpResult {
            scan,
            rows,
            io_error,
        }
    });
    Ok((Sink { tx }, handle))
}

/// Drains `reader` (stream 1: stdout, 2: stderr) into the sink in whole
/// lines (or `MAX_CHUNK` pieces).
pub async fn drain<R: AsyncRead + Unpin>(
    mut reader: R,
    step: usize,
    run: u64,
    stream: u8,
    sink: Sink,
) {
    let mut buf = vec![0u8; MAX_CHUNK];
    let mut carry: Vec<u8> = Vec::new();
    let send = |bytes: Vec<u8>| {
        sink.tx.send(Chunk {
            step,
            bytes,
            agent: false,
            scan: true,
            run,
            discard: false,
            stream,
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

/// The writer's view of the streams: each one's redaction state, and which
/// one's line is open (written without its end) in the log.
#[derive(Default)]
struct Lines {
    streams: Vec<(Source, Stream)>,
    open: Option<Source>,
    /// Set by `push` when it ended another stream's open line: the caller
    /// writes a line end before the bytes `push` returned.
    interrupted: bool,
}

impl Lines {
    /// What of `bytes` from `source` can be written now, redacted.
    fn push(&mut self, r: &Redactor, source: Source, bytes: &[u8]) -> Vec<u8> {
        let i = match self.streams.iter().position(|(s, _)| *s == source) {
            Some(i) => i,
            None => {
                self.streams.push((source, Stream::default()));
                self.streams.len() - 1
            }
        };
        let mut out = Vec::with_capacity(bytes.len());
        self.streams[i].1.push(r, bytes, &mut out);
        if self.streams[i].1.is_idle() {
            self.streams.swap_remove(i);
        }
        self.interrupted = !out.is_empty() && self.open.is_some_and(|o| o != source);
        if !out.is_empty() {
            self.open = (!out.ends_with(b"\n")).then_some(source);
        }
        out
    }

    /// What the streams still hold when the log closes.
    fn finish(&mut self, r: &Redactor) -> Vec<u8> {
        let mut out = Vec::new();
        for (_, s) in &mut self.streams {
            s.finish(r, &mut out);
            if !out.is_empty() && !out.ends_with(b"\n") {
                out.push(b'\n');
            }
        }
        out
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
        drain(&input[..], 0, 0, 1, sink).await;
        let result = writer.await.unwrap();
        let written = std::fs::read(&log).unwrap();
        assert_eq!(&written[..input.len()], &input[..]);
        assert_eq!(written.len(), input.len() + 1);
        assert_eq!(result.scan.lines, 3);
    }

    #[tokio::test]
    async fn a_discarded_run_keeps_its_lines_but_not_its_findings() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("it.log");
        let rules = std::sync::Arc::new(crate::classify::RuleSet::builtin());
        let markers = std::sync::Arc::new(crate::classify::Markers {
            success: vec!["valid".into()],
            error: vec!["BROKEN".into()],
        });
        let (sink, writer) = start(&log, Scanner::new(rules, markers), false).unwrap();
        sink.agent_line(0, 1, "-- attempt 1", false).await;
        drain(&b"BROKEN: connection refused\n"[..], 0, 1, 1, sink.clone()).await;
        sink.discard(1).await;
        sink.agent_line(0, 2, "-- attempt 2", false).await;
        drain(&b"valid\n"[..], 0, 2, 1, sink.clone()).await;
        // A late line of the discarded run is dropped too.
        drain(&b"BROKEN again\n"[..], 0, 1, 1, sink.clone()).await;
        drop(sink);
        let result = writer.await.unwrap();
        let written = std::fs::read_to_string(&log).unwrap();
        assert!(written.contains("BROKEN: connection refused"), "{written}");
        assert_eq!(result.scan.lines, 5);
        assert!(result.scan.matches.is_empty(), "{:?}", result.scan.matches);
        assert_eq!(result.scan.total_matches, 0);
        assert!(result.scan.error_markers.is_empty());
        assert_eq!(result.scan.success_markers.len(), 1);
        assert_eq!(result.scan.success_markers[0].line, 4);
    }
}
