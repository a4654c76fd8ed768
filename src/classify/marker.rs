//! Verify markers: literal, case-sensitive strings; a marker that begins or
//! ends with a letter or digit only matches there as a whole token, so
//! `ERROR` matches `ERROR:`, `[ERROR]` and ` ERROR ` but not `ERROR_LOG`,
//! `ERRORS` or `errors`; emoji and punctuation markers match anywhere.

use regex::bytes::Regex;

/// One marker, compiled.
#[derive(Debug, Clone)]
pub struct Marker {
    pub text: String,
    finder: Regex,
    token_start: bool,
    token_end: bool,
}

impl Marker {
    /// `None` for markers that can never match a line (empty, multi-line).
    pub fn new(text: &str) -> Option<Marker> {
        if text.is_empty() || text.contains('\n') {
            return None;
        }
        let first = text.chars().next()?;
        let last = text.chars().next_back()?;
        Some(Marker {
            text: text.to_string(),
            finder: Regex::new(&regex::escape(text)).ok()?,
            token_start: first.is_alphanumeric(),
            token_end: last.is_alphanumeric(),
        })
    }

    /// Whether the marker occurs in `line` (respecting token boundaries).
    pub fn found(&self, line: &[u8]) -> bool {
        let mut at = 0;
        while let Some(m) = self.finder.find_at(line, at) {
            let before_ok =
                !self.token_start || !char_before(line, m.start()).is_some_and(is_token_char);
            let after_ok = !self.token_end || !char_after(line, m.end()).is_some_and(is_token_char);
            if before_ok && after_ok {
                return true;
            }
            at = m.start() + 1;
            while at < line.len() && (line[at] & 0xc0) == 0x80 {
                at += 1;
            }
        }
        false
    }
}

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn char_before(line: &[u8], i: usize) -> Option<char> {
    let start = i.saturating_sub(4);
    let mut k = i.checked_sub(1)?;
    while k > start && (line[k] & 0xc0) == 0x80 {
        k -= 1;
    }
    std::str::from_utf8(&line[k..i]).ok()?.chars().next_back()
}

fn char_after(line: &[u8], i: usize) -> Option<char> {
    let tail = &line[i..line.len().min(i + 4)];
    tail.utf8_chunks().next()?.valid().chars().next()
}

#[cfg(test)]
mod tests {
    use super::Marker;

    #[test]
    fn word_markers_match_whole_tokens_only() {
        let error = Marker::new("ERROR").unwrap();
        for yes in [
            "ERROR: boom",
            "[ERROR] boom",
            "x ERROR y",
            "ERROR",
            "ERRORS ERROR",
            "é ERROR!",
        ] {
            assert!(error.found(yes.as_bytes()), "{yes}");
        }
        for no in [
            "ERROR_LOG=/var/log/x",
            "ERRORS",
            "errors",
            "Error",
            "XERROR",
            "ERRORé",
            "éERROR",
            "_ERROR",
        ] {
            assert!(!error.found(no.as_bytes()), "{no}");
        }
    }

    #[test]
    fn emoji_and_punctuation_markers_match_as_substrings() {
        let ok = Marker::new("✅").unwrap();
        assert!(ok.found("step done✅ok".as_bytes()));
        let fail = Marker::new("❌").unwrap();
        assert!(!fail.found("all good ✅".as_bytes()));
        let bang = Marker::new("!!FAIL").unwrap();
        assert!(bang.found(b"x!!FAIL y"));
        assert!(!bang.found(b"x!!FAILED"));
        assert!(Marker::new("").is_none());
    }

    #[test]
    fn invalid_utf8_around_a_marker_does_not_panic() {
        let error = Marker::new("ERROR").unwrap();
        assert!(error.found(b"\xff\xfeERROR\xc3"));
        assert!(!error.found(b"\xffERRORS\xc3"));
    }
}
