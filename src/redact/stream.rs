//! Redaction of a stream cut at any byte (a pipe's reads): whole lines are
//! redacted as they complete; a line longer than a window is redacted in
//! windows that overlap by more than the longest secret value, and cut only
//! where no secret lies, so a secret split across reads is still masked.
//! Memory stays bounded by the window whatever the stream holds.

use super::Redactor;

/// Bytes of a long line redacted at once, beyond the overlap.
pub const WINDOW: usize = 64 * 1024;
/// The least overlap between windows (patterns are shorter than this).
const MIN_OVERLAP: usize = 4 * 1024;

/// The state of one stream (one step's stdout, say).
#[derive(Debug, Default)]
pub struct Stream {
    /// The end of the current line not redacted yet.
    pending: Vec<u8>,
    /// A private-key block is open.
    in_pem: bool,
    /// A secret reached the end of the last window: the rest of its token
    /// is masked too.
    mask_token: bool,
}

/// Bytes that end a token (those a `key=value` value cannot hold).
fn ends_token(b: u8) -> bool {
    b.is_ascii_whitespace() || b",;&\"'<>\\".contains(&b)
}

impl Stream {
    /// Whether the stream holds nothing that a later push depends on.
    pub fn is_idle(&self) -> bool {
        self.pending.is_empty() && !self.in_pem && !self.mask_token
    }

    /// Redacts the next `bytes` of the stream into `out`: what is safe to
    /// write now (whole lines, and the safe part of an overlong line).
    pub fn push(&mut self, r: &Redactor, mut bytes: &[u8], out: &mut Vec<u8>) {
        let overlap = MIN_OVERLAP.max(r.longest_value() + 1);
        while !bytes.is_empty() {
            if self.mask_token {
                // Set by a cut, which left nothing pending.
                let n = bytes
                    .iter()
                    .position(|&b| ends_token(b))
                    .unwrap_or(bytes.len());
                bytes = &bytes[n..];
                if bytes.is_empty() {
                    return;
                }
                self.mask_token = false;
            }
            let take = bytes
                .len()
                .min(WINDOW + overlap - self.pending.len().min(WINDOW));
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if let Some(k) = self.pending.iter().rposition(|&b| b == b'\n') {
                out.extend_from_slice(&r.redact_from(&self.pending[..=k], &mut self.in_pem));
                self.pending.drain(..=k);
            }
            while self.pending.len() > WINDOW + overlap {
                self.cut(r, overlap, out);
            }
        }
    }

    /// Ends the current line (the stream ended, or another one wrote).
    pub fn finish(&mut self, r: &Redactor, out: &mut Vec<u8>) {
        out.extend_from_slice(&r.redact_from(&self.pending, &mut self.in_pem));
        self.pending.clear();
        self.mask_token = false;
    }

    /// Writes out the head of an overlong pending line, cut where no secret
    /// lies; keeps at least `overlap` bytes unless a secret runs to the end.
    fn cut(&mut self, r: &Redactor, overlap: usize, out: &mut Vec<u8>) {
        let len = self.pending.len();
        let mut cut = len - overlap;
        let mut spans = r.spans(&self.pending);
        spans.extend(super::pem::headers(&self.pending));
        spans.sort_unstable();
        for (start, end) in spans {
            if start < cut && end > cut {
                if end < len {
                    cut = end;
                } else if start >= len / 2 {
                    cut = start;
                } else {
                    // A secret as long as the window: mask it and what
                    // follows of its token.
                    cut = len;
                    self.mask_token = true;
                }
            }
        }
        out.extend_from_slice(&r.redact_from(&self.pending[..cut], &mut self.in_pem));
        self.pending.drain(..cut);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(r: &Redactor, input: &[u8], piece: usize) -> Vec<u8> {
        let mut s = Stream::default();
        let mut out = Vec::new();
        for p in input.chunks(piece) {
            s.push(r, p, &mut out);
        }
        s.finish(r, &mut out);
        out
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn regression_a_secret_split_across_a_read_boundary_is_masked() {
        let secret = b"s3cr3t-Value-42";
        let r = Redactor::with_values([std::str::from_utf8(secret).unwrap()]);
        for pad in [WINDOW - 5, WINDOW, 3 * WINDOW + 7, 10] {
            let mut input = vec![b'x'; pad];
            input.push(b' ');
            input.extend_from_slice(secret);
            input.extend_from_slice(b" and on\n");
            for piece in [1000, WINDOW, 7 * 1024 + 3] {
                let out = through(&r, &input, piece);
                assert!(!contains(&out, secret), "pad {pad} piece {piece}");
                assert!(out.ends_with(b" *** and on\n"), "pad {pad} piece {piece}");
                assert_eq!(out.len(), input.len() - secret.len() + 3);
            }
        }
    }

    #[test]
    fn a_secret_value_longer_than_the_least_overlap_is_masked_across_reads() {
        let big = "k".repeat(3 * MIN_OVERLAP);
        let r = Redactor::with_values([big.as_str()]);
        let mut input = vec![b'x'; WINDOW - MIN_OVERLAP];
        input.extend_from_slice(b" value: ");
        input.extend_from_slice(big.as_bytes());
        input.extend_from_slice(b" end\n");
        let out = through(&r, &input, 4096);
        assert!(out.ends_with(b" value: *** end\n"));
        assert!(!contains(&out, b"kkkk"));
    }

    #[test]
    fn regression_300_kb_of_secret_values_build_a_redactor() {
        // The old redactor compiled the values into one regex and panicked
        // (CompiledTooBig) past a few hundred KB.
        let values: Vec<String> = (0..5000)
            .map(|i| format!("secret-value-{i:08}-{}", "v".repeat(40)))
            .collect();
        let r = Redactor::with_values(&values);
        assert_eq!(r.secret_values(), 5000);
        let line = format!("a {} b\n", values[4321]);
        assert_eq!(through(&r, line.as_bytes(), 7), b"a *** b\n");
    }

    #[test]
    fn a_pattern_value_longer_than_the_window_is_masked_whole() {
        let r = Redactor::default();
        let mut input = b"password=".to_vec();
        input.extend(std::iter::repeat_n(b'p', 5 * WINDOW));
        input.extend_from_slice(b" next\n");
        for piece in [4096, input.len()] {
            let out = through(&r, &input, piece);
            assert!(!contains(&out, b"pppp"), "piece {piece}");
            assert!(out.ends_with(b" next\n"));
        }
    }

    #[test]
    fn a_private_key_split_across_reads_is_masked() {
        let r = Redactor::default();
        let input = b"  -----BEGIN OPENSSH PRIVATE KEY-----\n  b3BlbnNzaC1rZXktdjEA\n  AAAABG5vbmU\n  -----END OPENSSH PRIVATE KEY-----\nok\n";
        for piece in 1..input.len() {
            let out = through(&r, input, piece);
            assert!(!contains(&out, b"b3Blbn"), "piece {piece}");
            assert!(!contains(&out, b"AAAABG"), "piece {piece}");
            assert!(out.ends_with(b"ok\n"));
        }
    }
}
