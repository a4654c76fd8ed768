//! Regression tests of issue 14, reproduction 8: nothing a step prints is
//! hidden from the classifier by the length of its line, by where a read
//! ends, or by a `\r` progress bar.

use super::*;
use crate::classify::FailureClass;

fn scanner(markers: Markers) -> Scanner {
    Scanner::new(Arc::new(RuleSet::builtin()), Arc::new(markers))
}

fn scan_in(chunks: &[&[u8]], markers: Markers) -> ScanReport {
    let mut s = scanner(markers);
    for c in chunks {
        s.feed(c);
    }
    s.finish()
}

/// A `\r` progress bar past the window, then the failure on the same line.
fn progress_bar_then(tail: &str) -> Vec<u8> {
    let mut log = b"loading\n".to_vec();
    while log.len() < 3 * MAX_LINE {
        log.extend_from_slice(b"\r[=====>      ] 41% 12034/29000 rows");
    }
    log.extend_from_slice(tail.as_bytes());
    log
}

#[test]
fn regression_a_failure_after_a_progress_bar_longer_than_the_window_is_found() {
    let log = progress_bar_then("\rFAILED: could not connect: Connection refused\n");
    let markers = Markers {
        success: vec![],
        error: vec!["FAILED".into()],
    };
    for chunk in [7 * 1024, MAX_LINE, log.len()] {
        let pieces: Vec<&[u8]> = log.chunks(chunk).collect();
        let r = scan_in(&pieces, markers.clone());
        assert_eq!(r.lines, 2, "chunk {chunk}");
        assert_eq!(r.matches.len(), 1, "chunk {chunk}: {:?}", r.matches);
        assert_eq!(r.matches[0].class, FailureClass::ConnectionRefused);
        assert_eq!(r.matches[0].line, 2);
        // The excerpt is the piece after the last `\r`, not the bar.
        assert!(
            r.matches[0]
                .excerpt
                .starts_with("FAILED: could not connect"),
            "{}",
            r.matches[0].excerpt
        );
        assert_eq!(r.error_markers.len(), 1, "chunk {chunk}");
    }
}

#[test]
fn regression_failure_text_split_across_a_window_boundary_is_found() {
    // Place "Connection refused" across every window edge of a long line.
    for cut in [MAX_LINE - 8, MAX_LINE - 1, MAX_LINE, 2 * MAX_LINE - 4096] {
        let mut line = vec![b'x'; cut - 15];
        line.extend_from_slice(b" ... Connection refused ");
        line.extend(std::iter::repeat_n(b'y', MAX_LINE));
        line.push(b'\n');
        let (a, b) = line.split_at(cut);
        let r = scan_in(&[a, b], Markers::default());
        assert_eq!(r.matches.len(), 1, "cut {cut}: {:?}", r.matches);
        assert_eq!(r.matches[0].line, 1);
        // And the same line in one piece, longer than a block.
        let r = scan_in(&[&line[..]], Markers::default());
        assert_eq!(r.matches.len(), 1, "cut {cut}, one piece");
    }
}

#[test]
fn regression_a_marker_split_across_a_window_boundary_counts_once() {
    let mut line = vec![b'x'; MAX_LINE - 3];
    line.extend_from_slice(b" FAILED ");
    line.extend(std::iter::repeat_n(b'z', MAX_LINE));
    line.extend_from_slice(b"\nnext FAILED\n");
    let markers = Markers {
        success: vec![],
        error: vec!["FAILED".into()],
    };
    for chunk in [1000, MAX_LINE, line.len()] {
        let pieces: Vec<&[u8]> = line.chunks(chunk).collect();
        let r = scan_in(&pieces, markers.clone());
        let lines: Vec<u64> = r.error_markers.iter().map(|m| m.line).collect();
        assert_eq!(lines, [1, 2], "chunk {chunk}");
        assert_eq!(r.lines, 2);
    }
}

#[test]
fn a_long_line_with_a_failure_in_many_windows_is_one_match() {
    let mut line = Vec::new();
    while line.len() < 5 * MAX_LINE {
        line.extend_from_slice(b"Connection refused; ");
    }
    line.push(b'\n');
    let r = scan_in(&[&line[..], b"ok\n"], Markers::default());
    assert_eq!(r.matches.len(), 1);
    assert_eq!(r.total_matches, 1);
    assert_eq!(r.lines, 2);
}

#[test]
fn a_carriage_return_starts_a_piece_for_anchored_rules() {
    let rules = RuleSet::with_user_rules(vec![crate::classify::Rule {
        id: "anchored".into(),
        class: FailureClass::parse("custom_anchored"),
        pattern: "^BOOM".into(),
        retryable: false,
        source: crate::classify::RuleSource::Config,
    }])
    .unwrap();
    let mut s = Scanner::new(Arc::new(rules), Arc::new(Markers::default()));
    s.feed(b"10%\r50%\rBOOM went the loader\n");
    let r = s.finish();
    assert_eq!(r.matches.len(), 1, "{:?}", r.matches);
    assert_eq!(r.matches[0].rule_id, "anchored");
}

#[test]
fn the_carry_stays_bounded_on_an_endless_line() {
    let mut s = scanner(Markers::default());
    let chunk = vec![b'y'; 3 * MAX_LINE + 17];
    for _ in 0..40 {
        s.feed(&chunk);
        assert!(s.carry_len() <= MAX_LINE, "{}", s.carry_len());
    }
    s.feed(b" Connection refused");
    let r = s.finish();
    assert_eq!(r.lines, 1);
    assert_eq!(r.matches.len(), 1);
}
