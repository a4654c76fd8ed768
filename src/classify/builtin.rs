//! Built-in rules, one per real-world error shape.

use super::rules::{Rule, RuleSource};
use super::FailureClass;

fn rule(id: &str, class: FailureClass, pattern: &str) -> Rule {
    let retryable = class.default_retryable();
    Rule {
        id: id.to_string(),
        class,
        pattern: pattern.to_string(),
        retryable,
        source: RuleSource::Builtin,
    }
}

/// The built-in rules.
pub fn rules() -> Vec<Rule> {
    use FailureClass::*;
    vec![
        rule("generic-timeout", Timeout, r"(?i)\btimed? ?out\b"),
        rule(
            "generic-connection-refused",
            ConnectionRefused,
            r"(?i)connection refused",
        ),
        rule(
            "generic-already-exists",
            AlreadyExists,
            r"(?i)already exists",
        ),
        rule("generic-syntax-error", SyntaxError, r"(?i)syntax error"),
        rule(
            "mysql-no-such-table",
            NoSuchTable,
            r"ERROR 1146 .*doesn't exist",
        ),
    ]
}
