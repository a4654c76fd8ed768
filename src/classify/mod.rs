//! Failure classification: regex rules (built-in and the config's) run over a
//! log in one streaming pass, together with the verify markers.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A failure class. The built-in ones drive adjustments; `Custom` classes come
/// from user rules and are only recorded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureClass {
    Timeout,
    ConnectionRefused,
    DnsFailure,
    PortInUse,
    AlreadyExists,
    DuplicateConnector,
    NoSuchTable,
    OutOfMemory,
    DiskFull,
    ImageNotFound,
    FileNotFound,
    PermissionDenied,
    AuthFailed,
    SyntaxError,
    /// A database or file lock held by another session: waiting may help.
    LockConflict,
    /// A data test (dbt, Great Expectations) found bad rows.
    DataTestFailed,
    /// The data itself is wrong: division by zero, invalid input, a
    /// constraint violation.
    DataError,
    /// Settings that cannot work: unknown database/profile/option, SSL
    /// required, a bad connection string.
    ConfigError,
    /// A column that does not exist or has the wrong type.
    SchemaMismatch,
    Custom(String),
}

/// When a class stops the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopPolicy {
    /// Retrying may help: never stops the loop by itself.
    Retry,
    /// Stop as soon as the class is seen `n` iterations in a row (1 = at once).
    AfterConsecutive(u32),
}

impl FailureClass {
    /// Every built-in class, in DESIGN.md order.
    pub const BUILTIN: [FailureClass; 19] = [
        FailureClass::Timeout,
        FailureClass::ConnectionRefused,
        FailureClass::DnsFailure,
        FailureClass::PortInUse,
        FailureClass::AlreadyExists,
        FailureClass::DuplicateConnector,
        FailureClass::NoSuchTable,
        FailureClass::OutOfMemory,
        FailureClass::DiskFull,
        FailureClass::ImageNotFound,
        FailureClass::FileNotFound,
        FailureClass::PermissionDenied,
        FailureClass::AuthFailed,
        FailureClass::SyntaxError,
        FailureClass::LockConflict,
        FailureClass::DataTestFailed,
        FailureClass::DataError,
        FailureClass::ConfigError,
        FailureClass::SchemaMismatch,
    ];

    pub fn as_str(&self) -> &str {
        match self {
            FailureClass::Timeout => "timeout",
            FailureClass::ConnectionRefused => "connection_refused",
            FailureClass::DnsFailure => "dns_failure",
            FailureClass::PortInUse => "port_in_use",
            FailureClass::AlreadyExists => "already_exists",
            FailureClass::DuplicateConnector => "duplicate_connector",
            FailureClass::NoSuchTable => "no_such_table",
            FailureClass::OutOfMemory => "out_of_memory",
            FailureClass::DiskFull => "disk_full",
            FailureClass::ImageNotFound => "image_not_found",
            FailureClass::FileNotFound => "file_not_found",
            FailureClass::PermissionDenied => "permission_denied",
            FailureClass::AuthFailed => "auth_failed",
            FailureClass::SyntaxError => "syntax_error",
            FailureClass::LockConflict => "lock_conflict",
            FailureClass::DataTestFailed => "data_test_failed",
            FailureClass::DataError => "data_error",
            FailureClass::ConfigError => "config_error",
            FailureClass::SchemaMismatch => "schema_mismatch",
            FailureClass::Custom(name) => name,
        }
    }

    /// Parses a class name; unknown names become `Custom`.
    pub fn parse(name: &str) -> FailureClass {
        FailureClass::BUILTIN
            .iter()
            .find(|c| c.as_str() == name)
            .cloned()
            .unwrap_or_else(|| FailureClass::Custom(name.to_string()))
    }

    /// Whether a single hit of this class still allows another attempt.
    pub fn default_retryable(&self) -> bool {
        self.default_policy() != StopPolicy::AfterConsecutive(1)
    }

    /// The built-in stop policy of the class (DESIGN.md "Failure classes").
    pub fn default_policy(&self) -> StopPolicy {
        match self {
            FailureClass::ImageNotFound
            | FailureClass::AuthFailed
            | FailureClass::SyntaxError
            | FailureClass::DataTestFailed
            | FailureClass::DataError
            | FailureClass::ConfigError => StopPolicy::AfterConsecutive(1),
            // Not retryable until a remedy for it can be configured (DESIGN.md
            // "Remedies"); that feature will make this depend on the config.
            FailureClass::SchemaMismatch => StopPolicy::AfterConsecutive(1),
            FailureClass::FileNotFound | FailureClass::PermissionDenied => {
                StopPolicy::AfterConsecutive(2)
            }
            _ => StopPolicy::Retry,
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FailureClass {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for FailureClass {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(FailureClass::parse(&s))
    }
}

/// One classification hit: the DESIGN.md `classify --format json` shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    pub class: FailureClass,
    pub rule_id: String,
    pub retryable: bool,
    /// 1-based line number in the scanned log.
    pub line: u64,
    /// The matching line, trimmed and cut to a bounded length.
    pub excerpt: String,
    /// What the error is about: a path, table, column, host:port, image,
    /// user, connector or slot (the rule's `subject` capture group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `file:line` inside the repository named by a traceback or compiler
    /// message just before the line (`etl/load.py:8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Distinct classes of `matches`, in order of first appearance.
pub fn classes_of(matches: &[Match]) -> Vec<FailureClass> {
    let mut out: Vec<FailureClass> = Vec::new();
    for m in matches {
        if !out.contains(&m.class) {
            out.push(m.class.clone());
        }
    }
    out
}

impl Match {
    /// What the error is about, for summaries: `data/sales.csv
    /// (etl/load.py:8)`, `data/sales.csv`, `(etl/load.py:8)` or `None`.
    pub fn about(&self) -> Option<String> {
        match (&self.subject, &self.source) {
            (Some(s), Some(src)) => Some(format!("{s} ({src})")),
            (Some(s), None) => Some(s.clone()),
            (None, Some(src)) => Some(format!("({src})")),
            (None, None) => None,
        }
    }

    /// `retryable` or `not retryable`, as messages say it.
    pub fn retryability(&self) -> &'static str {
        if self.retryable {
            "retryable"
        } else {
            "not retryable"
        }
    }
}

pub mod benign;
pub mod builtin;
mod candidates;
pub mod cause;
pub mod command;
pub mod explain;
pub mod literal;
pub mod marker;
pub mod rules;
pub mod scan;
pub mod subject;
mod vendor;

#[cfg(test)]
mod tests;

pub use command::{run_classify, run_rules, Style};
pub use rules::{Prefilter, Rule, RuleError, RuleSet, RuleSource};
pub use scan::{MarkerHit, Markers, ScanReport, Scanner};
