//! `[cleanup] paths` entries read lexically, before anything touches the
//! disk: split into components with no `.`, `..`, empty or absolute parts,
//! so no spelling (`link/.`, `link//`, `a/../..`) can name something other
//! than what the components say. Pure; the fuzz target drives it.

/// A cleanup pattern split into the components the walker matches one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupPattern {
    /// Non-empty components, none of them `.` or `..`; `**` is its own component.
    pub components: Vec<Component>,
    /// The entry ended in `/` or `/.`: it asks for a directory, so a symbolic
    /// link found there is refused rather than unlinked (the shell would have
    /// followed it).
    pub wants_dir: bool,
}

/// One component of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Component {
    /// A plain name, matched exactly.
    Literal(String),
    /// A glob over one name (`*`, `?`, `[...]`).
    Glob(String),
    /// `**`: any number of directories, including none.
    AnyDepth,
}

/// Why a pattern is refused; the message names the pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    #[error("cleanup pattern `{0}` is empty or names the repository itself")]
    Empty(String),
    #[error("cleanup pattern `{0}` is absolute: paths are relative to the repository")]
    Absolute(String),
    #[error("cleanup pattern `{0}` uses `..`: it may not leave the repository")]
    Parent(String),
    #[error("cleanup pattern `{0}` holds a NUL byte")]
    Nul(String),
    #[error("cleanup pattern `{0}` is not a valid glob: {1}")]
    Glob(String, String),
    #[error("cleanup pattern `{0}` ends in `**`, which would remove every directory under it")]
    TrailingAnyDepth(String),
}

/// Longest pattern accepted: longer ones are a mistake, not a path.
pub const MAX_PATTERN_LEN: usize = 4096;

/// Splits `raw` into its components, refusing what could leave the root.
pub fn parse(raw: &str) -> Result<CleanupPattern, PatternError> {
    let err_name = || raw.chars().take(200).collect::<String>();
    if raw.contains('\0') {
        return Err(PatternError::Nul(err_name()));
    }
    if raw.starts_with('/') || raw.starts_with('\\') {
        return Err(PatternError::Absolute(err_name()));
    }
    if raw.len() > MAX_PATTERN_LEN {
        return Err(PatternError::Glob(err_name(), "too long".into()));
    }
    let mut components = Vec::new();
    let mut wants_dir = false;
    for part in raw.split('/') {
        wants_dir = part.is_empty() || part == ".";
        match part {
            "" | "." => continue,
            ".." => return Err(PatternError::Parent(err_name())),
            "**" => components.push(Component::AnyDepth),
            p if p.contains(['*', '?', '[']) => {
                glob::Pattern::new(p).map_err(|e| PatternError::Glob(err_name(), e.to_string()))?;
                components.push(Component::Glob(p.to_string()));
            }
            p => components.push(Component::Literal(p.to_string())),
        }
    }
    match components.last() {
        None => Err(PatternError::Empty(err_name())),
        Some(Component::AnyDepth) => Err(PatternError::TrailingAnyDepth(err_name())),
        Some(_) => Ok(CleanupPattern {
            components,
            wants_dir,
        }),
    }
}

impl CleanupPattern {
    /// The pattern written back with single slashes (for messages).
    pub fn display(&self) -> String {
        let parts: Vec<&str> = self
            .components
            .iter()
            .map(|c| match c {
                Component::Literal(s) | Component::Glob(s) => s.as_str(),
                Component::AnyDepth => "**",
            })
            .collect();
        parts.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Component {
        Component::Literal(s.into())
    }

    #[test]
    fn dot_and_double_slash_spellings_name_the_link_itself_as_a_directory() {
        // Issue 14, reproduction 1: `link/.` and `link//` were joined to the
        // root, and `Path::parent` of `root/link/.` is the root.
        for raw in ["link/.", "link//", "./link/", "link/./"] {
            let p = parse(raw).unwrap();
            assert_eq!(p.components, [lit("link")], "{raw}");
            assert!(p.wants_dir, "{raw}");
        }
        assert!(!parse("link").unwrap().wants_dir);
        assert!(!parse("./a//b").unwrap().wants_dir);
    }

    #[test]
    fn what_could_leave_the_root_is_refused() {
        let table = [
            ("..", "`..`"),
            ("a/../..", "`..`"),
            ("out/../../etc", "`..`"),
            ("/etc", "absolute"),
            (".", "empty"),
            ("./", "empty"),
            ("", "empty"),
            ("//", "absolute"),
            ("out/**", "ends in `**`"),
            ("a\0b", "NUL"),
            ("[", "not a valid glob"),
        ];
        for (raw, want) in table {
            let e = parse(raw).unwrap_err().to_string();
            assert!(e.contains(want), "{raw:?}: {e}");
        }
    }

    #[test]
    fn globs_and_any_depth_are_their_own_components() {
        let p = parse("**/gen/*.json").unwrap();
        assert_eq!(
            p.components,
            [
                Component::AnyDepth,
                lit("gen"),
                Component::Glob("*.json".into())
            ]
        );
        assert_eq!(p.display(), "**/gen/*.json");
    }
}
