//! Cause over consequence on multi-line real excerpts.

use super::*;
use crate::classify::{RuleSet, ScanReport, Scanner};
use std::sync::Arc;

fn scan(log: &str) -> ScanReport {
    let mut s = Scanner::new(Arc::new(RuleSet::builtin()), Default::default());
    s.feed(log.as_bytes());
    s.finish()
}

/// https://github.com/immich-app/immich/issues/29582 (psql restoring a
/// dump): the client reports the dropped connection first, the disk comes
/// after.
const DISK_FULL_THEN_DROPPED: &str = "Error: /usr/lib/postgresql/14/bin/psql non-zero exit code (2)
server closed the connection unexpectedly
\tThis probably means the server terminated abnormally
\tbefore or while processing the request.
ERROR:  could not extend file \"base/16384/18885\": No space left on device
HINT:  Check free disk space.
CONTEXT:  COPY face_search, line 60665
WARNING:  terminating connection because of crash of another server process
no connection to the server
connection to server was lost
";

/// Produced here by psql 15.20 (`psql -f c.sql`): a CREATE that fails
/// leaves "does not exist" behind it, after a harmless NOTICE.
const FAILED_CREATE_CASCADE: &str = r#"psql:c.sql:1: NOTICE:  relation "raw_customers" already exists, skipping
CREATE TABLE
psql:c.sql:2: ERROR:  syntax error at or near ","
LINE 1: CREATE TABLE stg_orders (id int,, amount numeric);
                                        ^
psql:c.sql:3: ERROR:  relation "stg_orders" does not exist
LINE 1: INSERT INTO stg_orders VALUES (1, 2.5);
                    ^
psql:c.sql:4: ERROR:  relation "stg_orders" does not exist
LINE 1: SELECT count(*) FROM stg_orders;
"#;

#[test]
fn disk_full_wins_over_the_connection_it_dropped() {
    let r = scan(DISK_FULL_THEN_DROPPED);
    let classes: Vec<&str> = r.matches.iter().map(|m| m.class.as_str()).collect();
    assert_eq!(classes[0], "connection_refused", "{classes:?}");
    let p = r.primary().unwrap();
    assert_eq!(p.class, FailureClass::DiskFull);
    assert_eq!(p.line, 5);
    assert_eq!(
        standings(&r.matches)[0],
        Standing::Consequence {
            cause: FailureClass::DiskFull,
            line: 5
        }
    );
}

#[test]
fn a_failed_create_wins_over_its_does_not_exist_cascade() {
    let r = scan(FAILED_CREATE_CASCADE);
    let p = r.primary().unwrap();
    assert_eq!(p.class, FailureClass::SyntaxError);
    assert_eq!(p.source.as_deref(), Some("c.sql:2"));
    // The harmless NOTICE on line 1 neither fires nor hides the rest.
    assert!(r.matches.iter().all(|m| m.line != 1));
    let tables: Vec<_> = r
        .matches
        .iter()
        .filter(|m| m.class == NoSuchTable)
        .collect();
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].subject.as_deref(), Some("stg_orders"));
}

#[test]
fn without_a_cause_the_first_stop_then_the_first_match_wins() {
    let m = |class: FailureClass, line: u64| Match {
        retryable: class.default_retryable(),
        rule_id: format!("t-{class}"),
        class,
        line,
        excerpt: String::new(),
        subject: None,
        source: None,
    };
    let ms = [m(Timeout, 1), m(AuthFailed, 2), m(SyntaxError, 3)];
    assert_eq!(primary_index(&ms), Some(1));
    // auth_failed also explains the timeout: still the primary.
    assert_eq!(
        standings(&ms),
        [
            Standing::Consequence {
                cause: AuthFailed,
                line: 2
            },
            Standing::Primary,
            Standing::Outranked
        ]
    );
    assert_eq!(
        primary_index(&[m(Timeout, 1), m(ConnectionRefused, 2)]),
        Some(0)
    );
    assert_eq!(primary_index(&[]), None);
}

#[test]
fn the_consequence_table_has_no_cycle() {
    for (cause, effects) in CONSEQUENCES {
        for effect in *effects {
            let back = CONSEQUENCES
                .iter()
                .any(|(c, e)| c == effect && e.contains(cause));
            assert!(!back, "{cause} and {effect} explain each other");
        }
    }
}
