//! Root cause over consequence: which of an iteration's matches is the
//! primary one. The ordering is data ([`CONSEQUENCES`]), not code: a disk
//! that fills makes the server drop its connections, an OOM-killed database
//! refuses connections, a CREATE that failed leaves "does not exist" errors
//! behind it. When the cause is anywhere in the output, its consequences are
//! not the primary, whichever line comes first (a client often prints the
//! dropped connection before the server's log says why).

use super::{FailureClass, Match};

use FailureClass::*;

/// Classes that fail their own statement and so leave the objects it was to
/// create missing for the statements after it.
const BREAKS_CREATION: &[FailureClass] = &[NoSuchTable];

/// `(cause, consequences)`: when a match of `cause` is in the output,
/// matches of the consequence classes are taken as its effects.
pub const CONSEQUENCES: &[(FailureClass, &[FailureClass])] = &[
    (
        DiskFull,
        &[ConnectionRefused, Timeout, NoSuchTable, LockConflict],
    ),
    (OutOfMemory, &[ConnectionRefused, Timeout, NoSuchTable]),
    (DnsFailure, &[ConnectionRefused, Timeout]),
    (PortInUse, &[ConnectionRefused, Timeout]),
    (ImageNotFound, &[ConnectionRefused, Timeout, NoSuchTable]),
    (AuthFailed, &[ConnectionRefused, Timeout, NoSuchTable]),
    (ConfigError, &[ConnectionRefused, Timeout, NoSuchTable]),
    (LockConflict, &[Timeout]),
    (SyntaxError, BREAKS_CREATION),
    (PermissionDenied, BREAKS_CREATION),
    (SchemaMismatch, BREAKS_CREATION),
    (DataError, BREAKS_CREATION),
    (FileNotFound, BREAKS_CREATION),
];

/// Why a match is or is not the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The primary match.
    Primary,
    /// A consequence of a match of `cause` (its first one, at `line`).
    Consequence { cause: FailureClass, line: u64 },
    /// A cause too, but the primary came first, or stops the loop and this
    /// one does not.
    Outranked,
}

/// The match of a cause of `m`'s class, if the output holds one.
fn cause_of<'a>(m: &Match, matches: &'a [Match]) -> Option<&'a Match> {
    CONSEQUENCES
        .iter()
        .filter(|(cause, effects)| *cause != m.class && effects.contains(&m.class))
        .find_map(|(cause, _)| matches.iter().find(|c| &c.class == cause))
}

/// The index of the primary match: among the matches that are no
/// consequence of another, the first one that stops the loop (not
/// retryable), else the first one. If every match is a consequence (a
/// cycle in user data), the same choice over all of them.
pub fn primary_index(matches: &[Match]) -> Option<usize> {
    let causes: Vec<usize> = (0..matches.len())
        .filter(|&i| cause_of(&matches[i], matches).is_none())
        .collect();
    let pool: Vec<usize> = if causes.is_empty() {
        (0..matches.len()).collect()
    } else {
        causes
    };
    pool.iter()
        .copied()
        .find(|&i| !matches[i].retryable)
        .or_else(|| pool.first().copied())
}

/// The primary match (see [`primary_index`]).
pub fn primary(matches: &[Match]) -> Option<&Match> {
    primary_index(matches).map(|i| &matches[i])
}

/// The standing of every match, same order as `matches`.
pub fn standings(matches: &[Match]) -> Vec<Standing> {
    let primary = primary_index(matches);
    (0..matches.len())
        .map(|i| {
            if Some(i) == primary {
                return Standing::Primary;
            }
            match cause_of(&matches[i], matches) {
                Some(c) => Standing::Consequence {
                    cause: c.class.clone(),
                    line: c.line,
                },
                None => Standing::Outranked,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
