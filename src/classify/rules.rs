//! Rule definitions and the compiled rule set (built-in rules first in
//! priority, then the config's).

use super::FailureClass;
use regex::bytes::Regex;
use serde::Serialize;

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSource {
    Builtin,
    Config,
}

/// One classification rule as written (before compilation).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub id: String,
    pub class: FailureClass,
    pub pattern: String,
    pub retryable: bool,
    pub source: RuleSource,
}

/// A rule that failed to compile.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("rule `{id}`: invalid pattern: {message}")]
    InvalidPattern { id: String, message: String },
    #[error("rule `{id}` is defined twice")]
    DuplicateId { id: String },
}

/// The rules in force, compiled once.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    compiled: Vec<Regex>,
}

impl RuleSet {
    /// Only the built-in rules.
    pub fn builtin() -> RuleSet {
        RuleSet::with_user_rules(Vec::new()).expect("built-in rules compile")
    }

    /// The config's rules (checked first, so they win ties) plus the built-ins.
    pub fn with_user_rules(user: Vec<Rule>) -> Result<RuleSet, RuleError> {
        let mut rules = user;
        rules.extend(super::builtin::rules());
        let mut seen = std::collections::HashSet::new();
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in &rules {
            if !seen.insert(rule.id.clone()) {
                return Err(RuleError::DuplicateId {
                    id: rule.id.clone(),
                });
            }
            compiled.push(compile(rule)?);
        }
        Ok(RuleSet { rules, compiled })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub(crate) fn compiled(&self) -> &[Regex] {
        &self.compiled
    }
}

/// Compiles one rule's pattern; used by config validation to point at the line.
pub fn compile(rule: &Rule) -> Result<Regex, RuleError> {
    regex::bytes::RegexBuilder::new(&rule.pattern)
        .size_limit(10 << 20)
        .build()
        .map_err(|e| RuleError::InvalidPattern {
            id: rule.id.clone(),
            message: e.to_string(),
        })
}
