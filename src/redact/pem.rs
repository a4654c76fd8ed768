//! PEM private-key blocks: the body between `-----BEGIN ... PRIVATE
//! KEY-----` and `-----END` is masked line by line, wherever the block sits
//! (indented, quoted under any variable name, with `\n` escapes on one
//! line). A block may span calls: the caller keeps `in_block`.

use super::MASK;
use regex::bytes::Regex;
use std::borrow::Cow;
use std::sync::OnceLock;

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END";
const HEADER_TAIL: &[u8] = b"PRIVATE KEY-----";

/// The first `needle` in `hay` (a literal regex: the regex crate searches
/// it with SIMD, as fast as a dedicated substring search).
fn find(hay: &[u8], needle: &'static [u8]) -> Option<usize> {
    static BEGIN_RE: OnceLock<Regex> = OnceLock::new();
    static END_RE: OnceLock<Regex> = OnceLock::new();
    let cell = if needle == BEGIN { &BEGIN_RE } else { &END_RE };
    let re = cell.get_or_init(|| {
        let text = std::str::from_utf8(needle).expect("ascii needle");
        Regex::new(&regex::escape(text)).expect("literal regex")
    });
    re.find(hay).map(|m| m.start())
}

/// Whether `bytes` may hold a block (cheap; false for almost every log).
pub fn may_contain(bytes: &[u8], in_block: bool) -> bool {
    in_block || find(bytes, BEGIN).is_some()
}

/// `bytes` with private-key bodies masked; `in_block` says whether a block
/// is open before `bytes` and is left saying whether one is after them.
pub fn mask<'a>(bytes: &'a [u8], in_block: &mut bool) -> Cow<'a, [u8]> {
    if !may_contain(bytes, *in_block) {
        return Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut pos = 0;
    loop {
        if *in_block {
            let end = find(&bytes[pos..], END).map(|i| pos + i);
            mask_body(&bytes[pos..end.unwrap_or(bytes.len())], &mut out);
            match end {
                Some(e) => {
                    *in_block = false;
                    pos = e;
                }
                None => return Cow::Owned(out),
            }
        }
        match header_end(&bytes[pos..]) {
            Some(h) => {
                out.extend_from_slice(&bytes[pos..pos + h]);
                pos += h;
                *in_block = true;
            }
            None => {
                out.extend_from_slice(&bytes[pos..]);
                return Cow::Owned(out);
            }
        }
    }
}

/// Where private-key headers lie in `b` (start, end): a stream must not
/// cut inside one.
pub fn headers(b: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = find(&b[at..], BEGIN) {
        let start = at + i;
        let end = header_end(&b[start..]).map_or(b.len(), |e| start + e);
        out.push((start, end));
        at = start + BEGIN.len();
    }
    out
}

/// The end of the first private-key header in `b`.
fn header_end(b: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(i) = find(&b[at..], BEGIN) {
        let start = at + i + BEGIN.len();
        // The label is a few upper-case words on the same line.
        let label_end = b[start..]
            .iter()
            .position(|&c| !(c.is_ascii_uppercase() || c == b' ' || c == b'-'))
            .map_or(b.len(), |p| start + p);
        let label = &b[start..label_end];
        if let Some(j) = label
            .windows(HEADER_TAIL.len())
            .position(|w| w == HEADER_TAIL)
        {
            return Some(start + j + HEADER_TAIL.len());
        }
        at = start;
    }
    None
}

/// Each non-blank run between line ends becomes one mask.
fn mask_body(body: &[u8], out: &mut Vec<u8>) {
    for (i, run) in body.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        if run.iter().any(|b| !b.is_ascii_whitespace()) {
            out.extend_from_slice(MASK.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn once(text: &str) -> String {
        let mut open = false;
        String::from_utf8(mask(text.as_bytes(), &mut open).into_owned()).unwrap()
    }

    #[test]
    fn regression_indented_and_named_private_keys_are_masked() {
        // Shape of `openssl genpkey -algorithm ed25519` output (produced
        // here by OpenSSL 3), body shortened.
        let text = "deploy:\n  DEPLOY_CERT: |\n    -----BEGIN PRIVATE KEY-----\n    MC4CAQAwBQYDK2VwBCIEIGt2\n    -----END PRIVATE KEY-----\nnext\n";
        assert_eq!(
            once(text),
            "deploy:\n  DEPLOY_CERT: |\n    -----BEGIN PRIVATE KEY-----\n***\n-----END PRIVATE KEY-----\nnext\n"
        );
        let json =
            r#"{"k":"-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----\n"}"#;
        assert!(!once(json).contains("MIIEow"), "{}", once(json));
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        assert_eq!(once(cert), cert);
    }

    #[test]
    fn a_block_open_at_the_end_stays_open_for_the_next_piece() {
        let mut open = false;
        let a = mask(b"x -----BEGIN EC PRIVATE KEY-----\nAAAA\n", &mut open);
        assert!(open);
        assert!(!a.windows(4).any(|w| w == b"AAAA"));
        let b = mask(b"BBBB\n-----END EC PRIVATE KEY-----\nok BBBB\n", &mut open);
        assert!(!open);
        assert_eq!(&b[..], b"***\n-----END EC PRIVATE KEY-----\nok BBBB\n");
    }
}
