//! The literal prefilter: finds the lines of a block that hold a required
//! literal of some rule (or a marker), without touching the other lines.
//!
//! Two levels. A multi-literal searcher (the regex crate's Teddy) looks for
//! short anchor words (`error`, `refused`, see `literal::ANCHORS`) in a
//! lowercased copy of the block: few, short literals keep it fast. Anchor
//! words are common in harmless lines too (`(0 errors)`, `ERROR_LOG=`), so
//! each hit is then confirmed by comparing the bytes around it with the
//! whole required literals that contain that anchor (`error 1146 (42s02)`,
//! `outofmemoryerror`): a plain byte compare, no regex call, so a block full
//! of harmless failure words costs one searcher pass and a few compares per
//! hit instead of a regex run per line.

use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;

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
}

impl Confirm {
    fn holds(&self, lower: &[u8], raw: &[u8], hit: usize) -> bool {
        let Some(start) = hit.checked_sub(self.offset) else {
            return false;
        };
        let end = start + self.lower.len();
        // Needles hold no newline, so a compare that fits the block cannot
        // straddle two lines.
        end <= lower.len()
            && lower[start..end] == self.lower[..]
            && self
                .exact
                .as_ref()
                .map_or(true, |e| raw[start..end] == e[..])
    }
}

/// One multi-literal searcher and the needles to confirm around its hits.
pub(crate) struct Searcher {
    re: Regex,
    confirm: HashMap<Vec<u8>, Vec<Confirm>>,
}

impl Searcher {
    /// The position of the first confirmed hit at or after `at`: a needle
    /// occurs on the line holding it. `lower` is `raw` lowercased.
    pub fn next_hit(&self, lower: &[u8], raw: &[u8], mut at: usize) -> Option<usize> {
        while let Some(m) = self.re.find_at(lower, at) {
            let p = m.start();
            if self
                .confirm
                .get(&lower[m.range()])
                .is_some_and(|cs| cs.iter().any(|c| c.holds(lower, raw, p)))
            {
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

/// Literals per searcher: the regex crate's SIMD multi-literal searcher
/// (Teddy) takes up to 64; past that the regex falls back to a much slower
/// automaton, so more literals get more searchers, each one pass over the
/// cache-resident block. Anchor words (see `literal::ANCHORS`) keep the
/// built-ins plus dozens of user rules under one searcher.
const LITERALS_PER_SEARCHER: usize = 64;

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
        .map(|group| {
            let alternation: Vec<String> = group
                .iter()
                .map(|l| regex::escape(&String::from_utf8_lossy(l)))
                .collect();
            let re = RegexBuilder::new(&alternation.join("|"))
                .unicode(false)
                .size_limit(64 << 20)
                .build()
                .expect("an alternation of escaped literals compiles");
            Searcher {
                re,
                confirm: confirms(group, needles),
            }
        })
        .collect()
}

/// For each searched literal, every needle holding it, at every offset:
/// whichever searched literal of a needle the searcher reports, the needle
/// gets confirmed.
fn confirms(group: &[Vec<u8>], needles: &[Needle]) -> HashMap<Vec<u8>, Vec<Confirm>> {
    let mut out: HashMap<Vec<u8>, Vec<Confirm>> = HashMap::new();
    for s in group {
        let list = out.entry(s.clone()).or_default();
        for n in needles {
            let mut from = 0;
            while let Some(i) = find(&n.lower[from..], s) {
                list.push(Confirm {
                    offset: from + i,
                    lower: n.lower.clone(),
                    exact: n.exact.clone(),
                });
                from += i + 1;
            }
        }
        // Shorter needles first: they are likelier to be the one present.
        list.sort_by_key(|c| c.lower.len());
    }
    out
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
}
