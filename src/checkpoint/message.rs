//! Checkpoint commit and tag messages: formatting them, and reading back the
//! trailers that `checkpoints` and `restore` rely on. Pure text, no git.

use super::CheckpointContext;

/// Trailer naming the run (execution_id).
pub const TRAILER_RUN: &str = "Auto-Etl-Run";
/// Trailer naming the iteration the checkpoint was taken before.
pub const TRAILER_ITERATION: &str = "Auto-Etl-Iteration";
/// Trailer with the previous iteration's status.
pub const TRAILER_PREVIOUS: &str = "Auto-Etl-Previous-Status";
/// Trailer with the outcome of the iteration (on the per-iteration tag).
pub const TRAILER_STATUS: &str = "Auto-Etl-Status";

/// Status of an iteration whose outcome is not known yet.
pub const STATUS_PENDING: &str = "pending";

/// How many errors or adjustments the message lists before "and N more".
const MAX_ITEMS: usize = 5;
/// Longest line kept from one error or adjustment, in characters.
const MAX_ITEM_CHARS: usize = 120;

/// The commit message of a checkpoint: a subject naming run and iteration,
/// the previous iteration in short, and machine-readable trailers.
pub fn commit_message(ctx: &CheckpointContext) -> String {
    let mut m = format!(
        "auto-etl checkpoint: run {}, iteration {}\n\n",
        ctx.run_id, ctx.iteration
    );
    match &ctx.previous {
        None => m.push_str("first iteration of the run\n"),
        Some(p) => {
            let prev = ctx.iteration.saturating_sub(1);
            m.push_str(&format!(
                "previous iteration {prev}: {}\n",
                one_line(&p.status)
            ));
            push_list(&mut m, "errors", &p.errors);
            push_list(&mut m, "adjustments", &p.adjustments);
        }
    }
    m.push('\n');
    m.push_str(&format!("{TRAILER_RUN}: {}\n", ctx.run_id));
    m.push_str(&format!("{TRAILER_ITERATION}: {}\n", ctx.iteration));
    if let Some(p) = &ctx.previous {
        m.push_str(&format!("{TRAILER_PREVIOUS}: {}\n", one_line(&p.status)));
    }
    m
}

/// The message of the per-iteration tag that carries the outcome.
pub fn tag_message(run_id: &str, iteration: u32, status: &str) -> String {
    format!(
        "auto-etl run {run_id} iteration {iteration}: {status}\n\n\
         {TRAILER_RUN}: {run_id}\n{TRAILER_ITERATION}: {iteration}\n{TRAILER_STATUS}: {status}\n"
    )
}

/// The value of the last `key: value` trailer line in `message`, if any.
pub fn trailer<'m>(message: &'m str, key: &str) -> Option<&'m str> {
    message
        .lines()
        .rev()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
}

fn push_list(m: &mut String, what: &str, items: &[String]) {
    if items.is_empty() {
        m.push_str(&format!("{what}: none\n"));
        return;
    }
    m.push_str(&format!("{what} ({}):\n", items.len()));
    for item in items.iter().take(MAX_ITEMS) {
        m.push_str(&format!("- {}\n", one_line(item)));
    }
    if items.len() > MAX_ITEMS {
        m.push_str(&format!("- and {} more\n", items.len() - MAX_ITEMS));
    }
}

/// Folds `text` to one line of at most `MAX_ITEM_CHARS` characters, so a
/// multi-line log excerpt cannot break the message's shape or fake a trailer.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_ITEM_CHARS {
        return flat;
    }
    let mut cut: String = flat.chars().take(MAX_ITEM_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::PreviousIteration;

    fn ctx(iteration: u32, previous: Option<PreviousIteration>) -> CheckpointContext {
        CheckpointContext {
            run_id: "20250109_123456".into(),
            iteration,
            previous,
        }
    }

    #[test]
    fn first_iteration_says_so_and_has_trailers() {
        let m = commit_message(&ctx(1, None));
        assert!(m.starts_with("auto-etl checkpoint: run 20250109_123456, iteration 1\n\n"));
        assert!(m.contains("first iteration of the run"));
        assert_eq!(trailer(&m, TRAILER_RUN), Some("20250109_123456"));
        assert_eq!(trailer(&m, TRAILER_ITERATION), Some("1"));
        assert_eq!(trailer(&m, TRAILER_PREVIOUS), None);
    }

    #[test]
    fn previous_iteration_is_summarised() {
        let prev = PreviousIteration {
            status: "failed".into(),
            errors: vec!["connection_refused: could not connect\nto server (line 41)".into()],
            adjustments: vec![],
        };
        let m = commit_message(&ctx(2, Some(prev)));
        assert!(m.contains("previous iteration 1: failed\n"));
        assert!(m.contains(
            "errors (1):\n- connection_refused: could not connect to server (line 41)\n"
        ));
        assert!(m.contains("adjustments: none\n"));
        assert_eq!(trailer(&m, TRAILER_PREVIOUS), Some("failed"));
        assert_eq!(trailer(&m, TRAILER_ITERATION), Some("2"));
    }

    #[test]
    fn long_lists_and_lines_are_cut() {
        let prev = PreviousIteration {
            status: "failed".into(),
            errors: (0..8)
                .map(|i| format!("e{i} {}", "x".repeat(300)))
                .collect(),
            adjustments: vec!["timeout 10s -> 15s (timeout)".into()],
        };
        let m = commit_message(&ctx(3, Some(prev)));
        assert!(m.contains("errors (8):"));
        assert!(m.contains("- and 3 more\n"));
        assert!(!m.contains("e5 "));
        let longest = m.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(longest <= MAX_ITEM_CHARS + 2, "{longest}");
        assert!(m.contains("adjustments (1):\n- timeout 10s -> 15s (timeout)\n"));
    }

    #[test]
    fn a_fake_trailer_in_an_error_cannot_override_the_real_one() {
        let prev = PreviousIteration {
            status: "failed".into(),
            errors: vec!["boom\nAuto-Etl-Iteration: 99".into()],
            adjustments: vec![],
        };
        let m = commit_message(&ctx(2, Some(prev)));
        assert_eq!(trailer(&m, TRAILER_ITERATION), Some("2"));
    }

    #[test]
    fn tag_message_round_trips() {
        let m = tag_message("r1", 4, "success");
        assert_eq!(trailer(&m, TRAILER_STATUS), Some("success"));
        assert_eq!(trailer(&m, TRAILER_RUN), Some("r1"));
        assert_eq!(trailer(&m, TRAILER_ITERATION), Some("4"));
    }
}
