//! Where secret values come from: the agent's environment and the pipeline
//! root's `.env`. A value is a secret when its variable's name says so
//! (PASSWORD, TOKEN, ...) or when the value itself has the shape of one (a
//! GitHub token, a PEM key, a URL with a password); the password inside a
//! secret URL is a secret on its own too, as steps print it alone.

use std::path::Path;

/// Words in an environment variable's name that make its value a secret.
const SECRET_NAME_PARTS: &[&str] = &["PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL"];

/// Values too common to mask everywhere they appear (a flag, not a secret).
const NOT_SECRETS: &[&str] = &["true", "false", "yes", "no", "none", "null", "unset"];

/// Prefixes of provider tokens: secrets whatever their variable is called.
pub(super) const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
];

pub(super) fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
}

pub(super) fn is_secret_value(value: &str) -> bool {
    let v = value.trim();
    v.chars().count() >= 4 && !NOT_SECRETS.iter().any(|n| v.eq_ignore_ascii_case(n))
}

fn has_secret_shape(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with("-----BEGIN") || TOKEN_PREFIXES.iter().any(|p| v.starts_with(p))
}

/// The password of `scheme://user:password@host...`, as written and
/// percent-decoded.
pub(super) fn url_password(value: &str) -> Vec<String> {
    let Some((_, rest)) = value.split_once("://") else {
        return Vec::new();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let Some((userinfo, _host)) = authority.rsplit_once('@') else {
        return Vec::new();
    };
    let Some((_user, pass)) = userinfo.split_once(':') else {
        return Vec::new();
    };
    let mut out = vec![pass.to_string()];
    let decoded = percent_decode(pass);
    if decoded != pass {
        out.push(decoded);
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The secret values of one `name=value` pair: the value when the name or
/// the value says it is a secret, and the password of a URL in it.
pub(super) fn secrets_of(name: &str, value: &str) -> Vec<String> {
    let mut out = url_password(value);
    if is_secret_name(name) || has_secret_shape(value) {
        out.push(value.to_string());
    }
    out
}

/// Secret values among `vars` (name, value) pairs.
pub fn env_values<I>(vars: I) -> Vec<String>
where
    I: IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
{
    vars.into_iter()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .flat_map(|(k, v)| secrets_of(&k, &v))
        .collect()
}

/// Secret values assigned in a dotenv file (`NAME=value`, `export NAME=value`,
/// quoted or not); nothing when it cannot be read.
pub fn dotenv_values(path: &Path) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            if line.starts_with('#') {
                return None;
            }
            let value = value.trim();
            let unquoted = value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(value);
            Some(secrets_of(name.trim(), unquoted))
        })
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_secret_names_from_the_environment_and_dotenv() {
        let vars = [
            ("DB_PASSWORD", "pw-from-env"),
            ("GITHUB_TOKEN", "ghp_x"),
            ("HOME", "/root"),
            ("api_key", "k-123"),
            ("FEATURE_KEY", "yes"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        assert_eq!(
            env_values(vars),
            vec!["pw-from-env", "ghp_x", "k-123", "yes"]
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".env");
        std::fs::write(
            &p,
            "# c\nexport SECRET_KEY=\"s k\"\nUSER=etl\nMY_TOKEN='tok1'\n",
        )
        .unwrap();
        assert_eq!(dotenv_values(&p), vec!["s k", "tok1"]);
    }

    #[test]
    fn regression_shaped_values_and_url_passwords_are_secrets_whatever_the_name() {
        let vars = [
            ("DEPLOY_HELPER", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            ("DEPLOY_CERT", "-----BEGIN PRIVATE KEY-----\nMIIB\n"),
            ("DATABASE_URL", "postgres://etl:p%40ss-w0rd@db:5432/etl"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.into(), v.into()));
        assert_eq!(
            env_values(vars),
            vec![
                "ghp_0123456789abcdefghijABCDEFGHIJ012345",
                "-----BEGIN PRIVATE KEY-----\nMIIB\n",
                "p%40ss-w0rd",
                "p@ss-w0rd",
            ]
        );
        assert!(url_password("https://example.com/a@b").is_empty());
        assert!(url_password("https://user@example.com/").is_empty());
    }
}
