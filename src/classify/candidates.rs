//! The literal prefilter: finds the lines of a block that hold a required
//! literal of some rule (or a marker), without touching the other lines.
//!
//! Two levels. A multi-literal searcher (Teddy, from the aho-corasick
//! crate's packed searchers) looks for short anchor words (`error`,
//! `refused`, see `literal::ANCHORS`) in a lowercased copy of the block: few,
//! short literals keep it fast, and it says which literal it found. Anchor
//! words are common in harmless lines too (`(0 errors)`, `ERROR_LOG=`), so
//! each hit is then confirmed against the whole required literals that
//! contain that anchor (`error 1146 (42s02)`, `outofmemoryerror`). The byte
//! before and the byte after the hit pick, through two tables, the few
//! needles that can hold it there (few or none, for `(0 errors)`); each of
//! those is first checked against the four bytes on either side of the hit,
//! two word compares, and only then compared whole. A block full of harmless
//! failure words so costs one searcher pass and a few lookups per hit, with
//! no regex call and almost no `memcmp`.

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, Input, MatchKind};

/// One string a candidate line must hold.
pub(crate) struct Needle {
    /// Lowercase ASCII; compared against the lowercased block.
    pub lower: Vec<u8>,
    /// For case-sensitive needles (markers): the exact bytes, compared
    /// against the raw block.
    pub exact: Option<Vec<u8>>,
}

/// A needle to confirm around a searcher hit: it holds the searched literal
/// at `offset`.
struct Confirm {
    offset: usize,
    lower: Vec<u8>,
    exact: Option<Vec<u8>>,
    /// Up to 4 of the needle's bytes just before the literal and just after
    /// it, as little-endian words with masks: a hit whose neighbourhood
    /// differs is rejected with two word compares instead of a `memcmp`.
    before: (u32, u32),
    after: (u32, u32),
}

impl Confirm {
    fn new(needle: &Needle, offset: usize, literal_len: usize) -> Confirm {
        let n = &needle.lower;
        let k = offset.min(4);
        let mut before = ([0u8; 4], [0u8; 4]);
        before.0[4 - k..].copy_from_slice(&n[offset - k..offset]);
        before.1[4 - k..].fill(0xff);
        let end = offset + literal_len;
        let m = (n.len() - end).min(4);
        let mut after = ([0u8; 4], [0u8; 4]);
        after.0[..m].copy_from_slice(&n[end..end + m]);
        after.1[..m].fill(0xff);
        let word =
            |(v, mask): ([u8; 4], [u8; 4])| (u32::from_le_bytes(v), u32::from_le_bytes(mask));
        Confirm {
            offset,
            lower: n.clone(),
            exact: needle.exact.clone(),
            before: word(before),
            after: word(after),
        }
    }

    fn holds(&self, lower: &[u8], raw: &[u8], hit: usize, literal_len: usize) -> bool {
        let Some(start) = hit.checked_sub(self.offset) else {
            return false;
        };
        let end = start + self.lower.len();
        if end > lower.len() {
            return false;
        }
        let tail = hit + literal_len;
        if hit >= 4 && tail + 4 <= lower.len() {
            let word =
                |at: usize| u32::from_le_bytes(lower[at..at + 4].try_into().expect("4 bytes"));
            if word(hit - 4) & self.before.1 != self.before.0
                || word(tail) & self.after.1 != self.after.0
            {
                return false;
            }
        }
        // Needles hold no newline, so a compare that fits the block cannot
        // straddle two lines.
        lower[start..end] == self.lower[..]
            && self.exact.as_ref().is_none_or(|e| raw[start..end] == e[..])
    }
}

/// The needles holding one searched literal, with a bitmask per byte value
/// of those that allow it just before the literal, and just after: a hit
/// is compared only against the needles both masks keep.
struct Confirms {
    literal_len: usize,
    needles: Vec<Confirm>,
    /// `u64` words per byte value in the masks.
    words: usize,
    before: Vec<u64>,
    after: Vec<u64>,
}

impl Confirms {
    fn new(literal: &[u8], needles: Vec<Confirm>) -> Confirms {
        let words = needles.len().div_ceil(64).max(1);
        let mut before = vec![0u64; 256 * words];
        let mut after = vec![0u64; 256 * words];
        for (i, c) in needles.iter().enumerate() {
            let (w, bit) = (i / 64, 1u64 << (i % 64));
            let end = c.offset + literal.len();
            let allow = |table: &mut Vec<u64>, byte: Option<u8>| match byte {
                Some(b) => table[usize::from(b) * words + w] |= bit,
                None => (0..256).for_each(|b| table[b * words + w] |= bit),
            };
            allow(&mut before, c.offset.checked_sub(1).map(|k| c.lower[k]));
            allow(&mut after, c.lower.get(end).copied());
        }
        Confirms {
            literal_len: literal.len(),
            needles,
            words,
            before,
            after,
        }
    }

    /// Whether a needle holds the literal found at `hit`.
    fn any(&self, lower: &[u8], raw: &[u8], hit: usize) -> bool {
        // At the block's edges every needle is a candidate; `holds` checks
        // the bounds.
        let before = hit.checked_sub(1).map(|k| lower[k]);
        let after = lower.get(hit + self.literal_len).copied();
        let (Some(b), Some(a)) = (before, after) else {
            return self
                .needles
                .iter()
                .any(|c| c.holds(lower, raw, hit, self.literal_len));
        };
        let (b, a) = (usize::from(b) * self.words, usize::from(a) * self.words);
        for w in 0..self.words {
            let mut mask = self.before[b + w] & self.after[a + w];
            while mask != 0 {
                let i = w * 64 + mask.trailing_zeros() as usize;
                if self.needles[i].holds(lower, raw, hit, self.literal_len) {
                    return true;
                }
                mask &= mask - 1;
            }
        }
        false
    }
}

/// The multi-literal search itself: Teddy where the CPU has the vector
/// instructions it needs, else an Aho-Corasick automaton.
enum Engine {
    Teddy(packed::Searcher),
    Automaton(AhoCorasick),
}

impl Engine {
    fn new(literals: &[Vec<u8>]) -> Engine {
        let teddy = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(literals)
            .build();
        match teddy {
            Some(t) => Engine::Teddy(t),
            None => Engine::Automaton(
                AhoCorasick::builder()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(literals)
                    .expect("a few dozen short literals fit an automaton"),
            ),
        }
    }

    /// The first literal at or after `at`: (position, literal index).
    fn find(&self, hay: &[u8], at: usize) -> Option<(usize, usize)> {
        let m = match self {
            Engine::Teddy(t) => t.find_in(hay, aho_corasick::Span::from(at..hay.len()))?,
            Engine::Automaton(a) => a.find(Input::new(hay).range(at..))?,
        };
        Some((m.start(), m.pattern().as_usize()))
    }
}

/// One multi-literal searcher and the needles to confirm around its hits.
pub(crate) struct Searcher {
    engine: Engine,
    /// By literal index.
    confirm: Vec<Confirms>,
}

impl Searcher {
    /// The position of the first confirmed hit at or after `at`: a needle
    /// occurs on the line holding it. `lower` is `raw` lowercased.
    pub fn next_hit(&self, lower: &[u8], raw: &[u8], mut at: usize) -> Option<usize> {
        while at < lower.len() {
            let (p, literal) = self.engine.find(lower, at)?;
            if self.confirm[literal].any(lower, raw, p) {
                return Some(p);
            }
            // No searched literal contains another, so at most one matches
            // at a position: stepping one byte sees every occurrence.
            at = p + 1;
        }
        None
    }
}

/// Shortest shared prefix worth merging literals on.
const MERGE_PREFIX: usize = 5;

/// Literals per searcher. Teddy takes up to 64, but past 32 it switches to
/// its "fat" form, which scans half as many bytes per step, and the more
/// literals share its 8 buckets, the more false candidates each step
/// verifies. On the benchmark log (BENCHMARKS.md) the built-ins' 59 literals
/// run fastest as three searchers of ~20 (0.76 s per GiB), against two of
/// ~30 (0.85 s), four of ~15 (0.87 s) or one fat one (1.2-1.8 s); each
/// searcher is one pass over the cache-resident block.
const LITERALS_PER_SEARCHER: usize = 24;

/// Searchers over `searched` (one string per needle, each a part of its
/// needle's `lower`); none when there are no needles.
pub(crate) fn searchers(needles: &[Needle], searched: Vec<Vec<u8>>) -> Vec<Searcher> {
    let mut lits = searched;
    lits.retain(|l| !l.is_empty());
    // Literals sharing a long prefix (`ora-01001: `, `ora-01002: `...) are
    // searched as that prefix: a part of a required literal is required too.
    lits.sort();
    let mut merged: Vec<Vec<u8>> = Vec::new();
    for l in lits {
        if let Some(last) = merged.last_mut() {
            let common = last.iter().zip(&l).take_while(|(a, b)| a == b).count();
            if common >= MERGE_PREFIX {
                last.truncate(common);
                continue;
            }
        }
        merged.push(l);
    }
    let mut lits = merged;
    lits.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    lits.dedup();
    // A literal containing a shorter one adds nothing to the search.
    let mut kept: Vec<Vec<u8>> = Vec::new();
    for l in lits {
        if !kept.iter().any(|k| find(&l, k).is_some()) {
            kept.push(l);
        }
    }
    if kept.is_empty() {
        return Vec::new();
    }
    kept.sort();
    let groups = kept.len().div_ceil(LITERALS_PER_SEARCHER).max(1);
    let per = kept.len().div_ceil(groups).max(1);
    kept.chunks(per)
        .map(|group| Searcher {
            engine: Engine::new(group),
            confirm: group.iter().map(|s| confirms(s, needles)).collect(),
        })
        .collect()
}

/// Every needle holding the searched literal `s`, at every offset:
/// whichever searched literal of a needle the searcher reports, the needle
/// gets confirmed.
fn confirms(s: &[u8], needles: &[Needle]) -> Confirms {
    let mut list = Vec::new();
    for n in needles {
        let mut from = 0;
        while let Some(i) = find(&n.lower[from..], s) {
            list.push(Confirm::new(n, from + i, s.len()));
            from += i + 1;
        }
    }
    // Shorter needles first: they are likelier to be the one present.
    list.sort_by_key(|c| c.lower.len());
    Confirms::new(s, list)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needle(s: &str) -> Needle {
        Needle {
            lower: s.as_bytes().to_vec(),
            exact: None,
        }
    }

    fn hits(s: &[Searcher], text: &str) -> Vec<usize> {
        let raw = text.as_bytes();
        let lower = raw.to_ascii_lowercase();
        let mut out = Vec::new();
        for searcher in s {
            let mut at = 0;
            while let Some(p) = searcher.next_hit(&lower, raw, at) {
                out.push(p);
                at = p + 1;
            }
        }
        out
    }

    #[test]
    fn an_anchor_hit_counts_only_when_a_whole_needle_is_around_it() {
        let needles = [
            needle("error 1146 ("),
            needle("outofmemoryerror"),
            needle("ora-01001: "),
            needle("ora-01002: "),
        ];
        let s = searchers(
            &needles,
            vec![
                b"error".to_vec(),
                b"error".to_vec(),
                b"ora-01001: ".to_vec(),
                b"ora-01002: ".to_vec(),
            ],
        );
        assert!(hits(&s, "batch 7 committed (0 errors)\nERROR_LOG=/x\n").is_empty());
        assert_eq!(hits(&s, "ERROR 1146 (42S02)"), [0]);
        assert_eq!(hits(&s, "java.lang.OutOfMemoryError: x"), [21]);
        assert_eq!(hits(&s, "x ORA-01002: y ora-01003: z"), [2]);
        // A needle cut by the end of the block, or by a line end, is absent.
        assert!(hits(&s, "outofmemory\nerror").is_empty());
        assert!(hits(&s, "ERROR 1146").is_empty());
    }

    #[test]
    fn exact_needles_compare_the_raw_bytes() {
        let needles = [Needle {
            lower: b"error".to_vec(),
            exact: Some(b"ERROR".to_vec()),
        }];
        let s = searchers(&needles, vec![b"error".to_vec()]);
        assert!(hits(&s, "0 errors, Error").is_empty());
        assert_eq!(hits(&s, "x ERROR_LOG"), [2]);
    }

    #[test]
    fn more_needles_on_one_anchor_than_a_mask_word_holds() {
        // 100 needles hold `error` at different offsets with different
        // neighbours: the masks span two words and each needle is still found.
        let texts: Vec<String> = (0..100).map(|i| format!("job{i:03} error{i:03}")).collect();
        let needles: Vec<Needle> = texts.iter().map(|t| needle(t)).collect();
        let s = searchers(&needles, vec![b"error".to_vec(); 100]);
        assert_eq!(s.len(), 1);
        for (i, t) in texts.iter().enumerate() {
            let line = format!("at {t} now");
            assert_eq!(hits(&s, &line), [3 + 7], "needle {i}");
        }
        assert!(hits(&s, "job001 error002 job003 error").is_empty());
    }

    #[test]
    fn literals_past_one_searcher_are_all_searched() {
        let texts: Vec<String> = (0..90).map(|i| format!("w{i:02}x")).collect();
        let needles: Vec<Needle> = texts.iter().map(|t| needle(t)).collect();
        let searched = texts.iter().map(|t| t.as_bytes().to_vec()).collect();
        let s = searchers(&needles, searched);
        assert!(s.len() > 1, "{} searchers", s.len());
        for t in &texts {
            assert_eq!(hits(&s, &format!("x {t}")).len(), 1, "{t}");
        }
        assert!(hits(&s, "w9x w100x").is_empty());
    }

    #[test]
    fn the_automaton_finds_what_teddy_finds() {
        // Machines without the vector instructions Teddy needs get the
        // automaton; both must report the same literal at the same place.
        let lits = [b"error".to_vec(), b"refused".to_vec(), b"db::".to_vec()];
        let automaton = Engine::Automaton(
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostFirst)
                .build(&lits)
                .unwrap(),
        );
        let teddy = Engine::new(&lits);
        let hay = b"x db::exception, then connection refused; 0 errors".repeat(4);
        for at in 0..hay.len() {
            assert_eq!(automaton.find(&hay, at), teddy.find(&hay, at), "at {at}");
        }
    }
}
