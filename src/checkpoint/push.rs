//! Pushing checkpoints to a remote, with credentials from the usual places
//! and a hard bound on attempts: libgit2 calls the credential callback again
//! after every rejection, and answering forever would hang the run.
//!
//! One push is one attempt; its error says whether another attempt can help
//! (a network failure can pass, a refused credential or a rejected ref
//! cannot). Retrying and giving up for the run are the session's call.

use git2::{
    Config, Cred, CredentialType, ErrorClass, ErrorCode, PushOptions, RemoteCallbacks, Repository,
};
use std::cell::RefCell;
use std::sync::Once;

/// Most credential callbacks answered before giving up.
const MAX_CREDENTIAL_ATTEMPTS: u32 = 4;
/// Seconds to wait for a connection, then for the server.
const CONNECT_TIMEOUT_MS: i32 = 15_000;
const SERVER_TIMEOUT_MS: i32 = 60_000;

/// Where a credential comes from, in the order they are tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    SshAgent,
    /// `AUTO_ETL_GIT_TOKEN` or `GITHUB_TOKEN`, sent as user/password.
    Token,
    /// git's configured credential helper.
    Helper,
    /// Only a user name was asked for (ssh before the key).
    Username,
    /// Negotiated authentication (NTLM, Kerberos).
    Default,
}

/// The credential sources still to try; each is offered once. Pure, so the
/// bound is tested without a server.
#[derive(Debug, Default)]
pub struct CredentialPlan {
    attempts: u32,
    tried: Vec<CredentialSource>,
}

impl CredentialPlan {
    /// The next source for what the server `allowed`, or `None` to give up.
    pub fn next(&mut self, allowed: CredentialType, has_token: bool) -> Option<CredentialSource> {
        self.attempts += 1;
        if self.attempts > MAX_CREDENTIAL_ATTEMPTS {
            return None;
        }
        let wanted = [
            (
                CredentialSource::Username,
                allowed.contains(CredentialType::USERNAME),
            ),
            (
                CredentialSource::SshAgent,
                allowed.contains(CredentialType::SSH_KEY),
            ),
            (
                CredentialSource::Token,
                has_token && allowed.contains(CredentialType::USER_PASS_PLAINTEXT),
            ),
            (
                CredentialSource::Helper,
                allowed.contains(CredentialType::USER_PASS_PLAINTEXT),
            ),
            (
                CredentialSource::Default,
                allowed.contains(CredentialType::DEFAULT),
            ),
        ];
        let pick = wanted
            .iter()
            .find(|(s, ok)| *ok && !self.tried.contains(s))
            .map(|(s, _)| *s)?;
        self.tried.push(pick);
        Some(pick)
    }

    /// Forgets that `source` was tried, when it could not even produce a
    /// credential (no helper configured), so it does not count as used.
    fn unavailable(&mut self) {
        self.attempts = self.attempts.saturating_sub(1);
    }
}

/// The token for HTTPS pushes, if the environment has one.
fn token() -> Option<String> {
    ["AUTO_ETL_GIT_TOKEN", "GITHUB_TOKEN"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
}

/// Why a push failed, sorted by whether trying again can help. The text is
/// the report's `push_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The network or the server failed for now (refused connection, timeout,
    /// DNS, a 5xx): worth another attempt.
    #[error("{0}")]
    Transient(String),
    /// Credentials missing or refused: the same answer every time.
    #[error("{0}")]
    Auth(String),
    /// The remote refused a ref (not a fast-forward, a hook said no).
    #[error("{0}")]
    Rejected(String),
    /// The remote is not configured, or not a repository.
    #[error("{0}")]
    Remote(String),
}

impl PushError {
    /// Whether another attempt can succeed.
    pub fn retryable(&self) -> bool {
        matches!(self, PushError::Transient(_))
    }

    /// Sorts a libgit2 error of a push. Pure, so the table is tested without
    /// a server.
    pub fn classify(class: ErrorClass, code: ErrorCode, message: &str) -> fn(String) -> PushError {
        let lower = message.to_ascii_lowercase();
        let auth_words = [
            "authentication",
            "credential",
            "401",
            "403",
            "permission denied (publickey",
        ];
        if code == ErrorCode::Auth
            || code == ErrorCode::Certificate
            || auth_words.iter().any(|w| lower.contains(w))
        {
            return PushError::Auth;
        }
        if code == ErrorCode::NotFastForward || lower.contains("rejected") {
            return PushError::Rejected;
        }
        // A path that is no repository (any more) reads as "unsupported URL
        // protocol" to libgit2's transport lookup: waiting will not help.
        let missing = [
            "unsupported url protocol",
            "could not find repository",
            "not a git repository",
        ];
        if code == ErrorCode::NotFound || missing.iter().any(|w| lower.contains(w)) {
            return PushError::Remote;
        }
        if code == ErrorCode::Timeout {
            return PushError::Transient;
        }
        match class {
            ErrorClass::Net | ErrorClass::Ssl | ErrorClass::Ssh => PushError::Transient,
            // Only a server error passes: 4xx (not found, gone) will not.
            ErrorClass::Http if !lower.contains("status code: 4") => PushError::Transient,
            ErrorClass::Os
                if ["connect", "timed out", "reset", "broken pipe", "resolve"]
                    .iter()
                    .any(|w| lower.contains(w)) =>
            {
                PushError::Transient
            }
            _ => PushError::Remote,
        }
    }
}

/// Pushes `refspecs` to `remote` (a configured remote's name, or a URL or
/// path), once.
pub fn push(repo: &Repository, remote: &str, refspecs: &[String]) -> Result<(), PushError> {
    set_timeouts();
    let mut remote = match repo.find_remote(remote) {
        Ok(r) => r,
        Err(_) if looks_like_url(remote) => repo
            .remote_anonymous(remote)
            .map_err(|e| PushError::Remote(format!("remote `{remote}`: {}", e.message())))?,
        Err(_) => {
            return Err(PushError::Remote(format!(
                "no remote named `{remote}` in this repository (git remote -v)"
            )))
        }
    };
    let config = repo.config().ok();
    let token = token();
    let plan = RefCell::new(CredentialPlan::default());
    let rejected = RefCell::new(Vec::<String>::new());
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|url, user, allowed| {
        credential(&plan, config.as_ref(), token.as_deref(), url, user, allowed)
    });
    callbacks.push_update_reference(|name, status| {
        if let Some(s) = status {
            rejected.borrow_mut().push(format!("{name}: {s}"));
        }
        Ok(())
    });
    let mut opts = PushOptions::new();
    opts.remote_callbacks(callbacks);
    let result = remote.push(refspecs, Some(&mut opts));
    drop(opts);
    let rejected = rejected.into_inner();
    let name = remote.name().or(remote.url()).unwrap_or("").to_string();
    match result {
        Err(e) => {
            let kind = PushError::classify(e.class(), e.code(), e.message());
            Err(kind(format!("push to `{name}` failed: {}", e.message())))
        }
        Ok(()) if !rejected.is_empty() => Err(PushError::Rejected(format!(
            "the remote rejected {}",
            rejected.join(", ")
        ))),
        Ok(()) => Ok(()),
    }
}

fn credential(
    plan: &RefCell<CredentialPlan>,
    config: Option<&Config>,
    token: Option<&str>,
    url: &str,
    user: Option<&str>,
    allowed: CredentialType,
) -> Result<Cred, git2::Error> {
    loop {
        let Some(source) = plan.borrow_mut().next(allowed, token.is_some()) else {
            return Err(git2::Error::from_str(
                "authentication failed: no credential was accepted (ssh agent, AUTO_ETL_GIT_TOKEN/GITHUB_TOKEN, credential helper)",
            ));
        };
        let cred = match source {
            CredentialSource::Username => Cred::username(user.unwrap_or("git")),
            CredentialSource::SshAgent => Cred::ssh_key_from_agent(user.unwrap_or("git")),
            CredentialSource::Token => {
                Cred::userpass_plaintext(user.unwrap_or("x-access-token"), token.unwrap_or(""))
            }
            CredentialSource::Helper => match config {
                Some(c) => Cred::credential_helper(c, url, user),
                None => Err(git2::Error::from_str("no git config")),
            },
            CredentialSource::Default => Cred::default(),
        };
        match cred {
            Ok(c) => return Ok(c),
            Err(_) => plan.borrow_mut().unavailable(),
        }
    }
}

fn looks_like_url(remote: &str) -> bool {
    remote.contains("://")
        || remote.contains(':')
        || remote.starts_with('/')
        || remote.starts_with('.')
}

/// Bounds how long a dead or silent server can hold the run.
fn set_timeouts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: process-wide libgit2 options, set once, before any
        // transport in this process reads them concurrently.
        unsafe {
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(CONNECT_TIMEOUT_MS);
            let _ = git2::opts::set_server_timeout_in_milliseconds(SERVER_TIMEOUT_MS);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_source_is_offered_once_then_the_plan_gives_up() {
        let mut plan = CredentialPlan::default();
        let https = CredentialType::USER_PASS_PLAINTEXT;
        assert_eq!(plan.next(https, true), Some(CredentialSource::Token));
        assert_eq!(plan.next(https, true), Some(CredentialSource::Helper));
        assert_eq!(plan.next(https, true), None);
        assert_eq!(plan.next(https, true), None);
    }

    #[test]
    fn ssh_asks_for_the_user_name_then_the_agent() {
        let mut plan = CredentialPlan::default();
        assert_eq!(
            plan.next(CredentialType::USERNAME, false),
            Some(CredentialSource::Username)
        );
        assert_eq!(
            plan.next(CredentialType::SSH_KEY, false),
            Some(CredentialSource::SshAgent)
        );
        assert_eq!(plan.next(CredentialType::SSH_KEY, false), None);
    }

    #[test]
    fn the_attempts_are_bounded_even_when_everything_is_allowed() {
        let mut plan = CredentialPlan::default();
        let all = CredentialType::all();
        let answered = std::iter::from_fn(|| plan.next(all, true))
            .take(100)
            .count();
        assert!(answered as u32 <= MAX_CREDENTIAL_ATTEMPTS, "{answered}");
    }

    #[test]
    fn push_errors_sort_into_retry_or_not() {
        use ErrorClass as C;
        use ErrorCode as E;
        // (class, code, message, retryable)
        let table = [
            (
                C::Net,
                E::GenericError,
                "failed to connect to 127.0.0.1: Connection refused",
                true,
            ),
            (
                C::Net,
                E::GenericError,
                "failed to resolve address for example.invalid",
                true,
            ),
            (
                C::Http,
                E::GenericError,
                "unexpected http status code: 503",
                true,
            ),
            (
                C::Os,
                E::GenericError,
                "failed to connect: connection reset by peer",
                true,
            ),
            (C::Ssl, E::GenericError, "SSL error: syscall failure", true),
            (C::Net, E::Timeout, "timed out", true),
            (
                C::Http,
                E::GenericError,
                "unexpected http status code: 404",
                false,
            ),
            (
                C::Http,
                E::Auth,
                "authentication required but no callback set",
                false,
            ),
            (
                C::Callback,
                E::User,
                "authentication failed: no credential was accepted",
                false,
            ),
            (
                C::Http,
                E::GenericError,
                "unexpected http status code: 403",
                false,
            ),
            (
                C::Ssl,
                E::Certificate,
                "the SSL certificate is invalid",
                false,
            ),
            (
                C::Reference,
                E::NotFastForward,
                "cannot push non-fastforwardable reference",
                false,
            ),
            (
                C::Repository,
                E::NotFound,
                "could not find repository at '/gone.git'",
                false,
            ),
            (C::Net, E::GenericError, "unsupported URL protocol", false),
            (
                C::Os,
                E::GenericError,
                "failed to make directory '/ro/objects': Read-only file system",
                false,
            ),
        ];
        for (class, code, message, want) in table {
            let kind = PushError::classify(class, code, message);
            assert_eq!(
                kind(message.into()).retryable(),
                want,
                "{class:?} {code:?} {message}"
            );
        }
        let rejected = PushError::classify(C::Reference, E::NotFastForward, "x")("x".into());
        assert!(matches!(rejected, PushError::Rejected(_)));
        let auth = PushError::classify(C::Http, E::Auth, "x")("x".into());
        assert!(matches!(auth, PushError::Auth(_)));
    }

    #[test]
    fn no_token_means_the_helper_goes_first() {
        let mut plan = CredentialPlan::default();
        assert_eq!(
            plan.next(CredentialType::USER_PASS_PLAINTEXT, false),
            Some(CredentialSource::Helper)
        );
    }
}
