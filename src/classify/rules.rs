//! Rule definitions and the compiled rule set: the config's rules first in
//! priority, then the built-ins, plus what the scanner needs to avoid running
//! every rule on every line (required literals, one `RegexSet`).

use super::literal;
use super::FailureClass;
use regex::bytes::{Regex, RegexSet, RegexSetBuilder};
use serde::Serialize;

/// Where a rule comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleSource {
    Builtin,
    Config,
}

impl RuleSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleSource::Builtin => "builtin",
            RuleSource::Config => "config",
        }
    }
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

/// How the scanner finds the lines a rule may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prefilter {
    /// One of these lowercase literals is on every line the rule matches.
    Literals(Vec<Vec<u8>>),
    /// No literal could be proven: the rule runs (multi-line mode) over whole
    /// blocks of the log to find its candidate lines.
    Block,
    /// The pattern uses `\A` or `\z`, which mean "start/end of the line" only
    /// when run line by line: every line is a candidate (slow, rare).
    EveryLine,
}

/// The rules in force, compiled once.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// One regex per rule: built at once when the set is too big to build
    /// (then they do the matching), else only if asked for.
    compiled: std::sync::OnceLock<Vec<Regex>>,
    /// One regex per rule, each built the first time that rule matches
    /// (for its subject): building all ~120 at the first match cost the
    /// scan about 50 ms, a twentieth of a GiB's time.
    each: Vec<std::sync::OnceLock<Regex>>,
    prefilters: Vec<Prefilter>,
    /// All patterns at once, for candidate lines; `None` if too big to build.
    set: Option<RegexSet>,
}

impl RuleSet {
    /// Only the built-in rules (compiled once per process, then cloned).
    pub fn builtin() -> RuleSet {
        static BUILTIN: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
        BUILTIN
            .get_or_init(|| RuleSet::with_user_rules(Vec::new()).expect("built-in rules compile"))
            .clone()
    }

    /// The config's rules (checked first, so they win ties) plus the
    /// built-ins. A config rule with a built-in rule's id replaces it.
    pub fn with_user_rules(user: Vec<Rule>) -> Result<RuleSet, RuleError> {
        let mut seen = std::collections::HashSet::new();
        for rule in &user {
            if !seen.insert(rule.id.clone()) {
                return Err(RuleError::DuplicateId {
                    id: rule.id.clone(),
                });
            }
        }
        let mut rules = user;
        rules.extend(
            super::builtin::rules()
                .into_iter()
                .filter(|r| !seen.contains(&r.id)),
        );
        // One compile of the set proves every pattern valid; compiling each
        // rule on its own as well would double the start-up cost. Only when
        // the set fails are the rules compiled one by one, to name the bad
        // one, or to match with when the set is merely too big.
        let set = RegexSetBuilder::new(rules.iter().map(|r| &r.pattern))
            .size_limit(256 << 20)
            .dfa_size_limit(16 << 20)
            .build()
            .ok();
        let compiled = std::sync::OnceLock::new();
        if set.is_none() {
            let _ = compiled.set(rules.iter().map(compile).collect::<Result<Vec<_>, _>>()?);
        }
        let prefilters = rules.iter().map(|r| prefilter(&r.pattern)).collect();
        Ok(RuleSet {
            each: vec![std::sync::OnceLock::new(); rules.len()],
            rules,
            compiled,
            prefilters,
            set,
        })
    }

    /// The rules in priority order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The compiled patterns, same order as `rules()`.
    pub fn compiled(&self) -> &[Regex] {
        self.compiled
            .get_or_init(|| self.rules.iter().map(|r| build(&r.pattern)).collect())
    }

    /// The compiled pattern of rule `i` alone (same order as `rules()`).
    pub fn compiled_rule(&self, i: usize) -> &Regex {
        if let Some(all) = self.compiled.get() {
            return &all[i];
        }
        self.each[i].get_or_init(|| build(&self.rules[i].pattern))
    }

    /// How each rule (same order as `rules()`) finds its candidate lines.
    pub fn prefilters(&self) -> &[Prefilter] {
        &self.prefilters
    }

    /// The index of the first rule (in priority order) matching `line`.
    pub fn first_match(&self, line: &[u8]) -> Option<usize> {
        match &self.set {
            Some(set) => set.matches(line).iter().next(),
            None => self.compiled().iter().position(|re| re.is_match(line)),
        }
    }
}

/// A pattern the set already compiled, alone.
fn build(pattern: &str) -> Regex {
    // The set's limit: it held this pattern, so this fits.
    regex::bytes::RegexBuilder::new(pattern)
        .size_limit(256 << 20)
        .build()
        .expect("the set proved every pattern valid")
}

fn prefilter(pattern: &str) -> Prefilter {
    if let Some(lits) = literal::required_full(pattern) {
        return Prefilter::Literals(lits);
    }
    if pattern.contains(r"\A") || pattern.contains(r"\z") {
        Prefilter::EveryLine
    } else {
        Prefilter::Block
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
