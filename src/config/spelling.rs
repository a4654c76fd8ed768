//! Names an option in an error the way the user spelled it: the flag when
//! it is on the command line, else its `AUTO_ETL_*` environment variable.
//! `AUTO_ETL_MAX_ITERATIONS=zero` used to be reported as `--max-iterations`,
//! which the user never typed.

use crate::cli::Cli;
use clap::error::{ContextKind, ContextValue};
use clap::CommandFactory;

/// The environment variable of the option whose long flag is `long`
/// (`--max-iterations`), in any subcommand.
pub fn env_of(long: &str) -> Option<String> {
    let name = long.trim_start_matches("--");
    let root = Cli::command();
    let mut commands = vec![&root];
    let mut found = None;
    while let Some(cmd) = commands.pop() {
        if let Some(arg) = cmd.get_arguments().find(|a| a.get_long() == Some(name)) {
            found = arg.get_env().map(|e| e.to_string_lossy().into_owned());
            break;
        }
        commands.extend(cmd.get_subcommands());
    }
    found
}

/// `long` (`--max-iterations`) is given on the command line `argv`.
pub fn on_command_line(long: &str, argv: &[String]) -> bool {
    argv.iter()
        .take_while(|a| a.as_str() != "--")
        .any(|a| a == long || a.strip_prefix(long).is_some_and(|r| r.starts_with('=')))
}

/// Where the value of `long` came from and how to name it there:
/// `("command line", "--max-iterations")` or
/// `("environment", "AUTO_ETL_MAX_ITERATIONS")`.
pub fn source_of(long: &str, argv: &[String]) -> (&'static str, String) {
    match env_of(long) {
        Some(env) if !on_command_line(long, argv) => ("environment", env),
        _ => ("command line", long.to_string()),
    }
}

/// For a clap error about a bad value that came from the environment, the
/// message naming the variable; None for every other error.
pub fn env_value_error(err: &clap::Error, argv: &[String]) -> Option<String> {
    use clap::error::ErrorKind;
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let ContextValue::String(arg) = err.get(ContextKind::InvalidArg)? else {
        return None;
    };
    // "--max-iterations <MAX_ITERATIONS>" -> "--max-iterations"
    let long = arg.split_whitespace().next()?;
    let (origin, key) = source_of(long, argv);
    if origin != "environment" {
        return None;
    }
    let value = match err.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(v)) => v.clone(),
        _ => String::new(),
    };
    let why = std::error::Error::source(err)
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    Some(format!("environment: {key}: invalid value `{value}`{why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn argv(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_are_named_where_they_were_given() {
        let table: &[(&str, &[&str], (&str, &str))] = &[
            (
                "--max-iterations",
                &["auto-etl"],
                ("environment", "AUTO_ETL_MAX_ITERATIONS"),
            ),
            (
                "--max-iterations",
                &["auto-etl", "--max-iterations", "0"],
                ("command line", "--max-iterations"),
            ),
            (
                "--max-elapsed",
                &["auto-etl", "run", "--max-elapsed=zz"],
                ("command line", "--max-elapsed"),
            ),
            (
                "--max-elapsed",
                &["auto-etl", "--max-elapsedx"],
                ("environment", "AUTO_ETL_MAX_ELAPSED"),
            ),
            (
                "--no-such-flag",
                &["auto-etl"],
                ("command line", "--no-such-flag"),
            ),
        ];
        for (long, args, (origin, key)) in table {
            let got = source_of(long, &argv(args));
            assert_eq!((got.0, got.1.as_str()), (*origin, *key), "{long} {args:?}");
        }
    }

    #[test]
    fn a_bad_value_from_the_environment_names_the_variable() {
        // clap reads the variable itself and the error it makes names the
        // flag; an argv without the flag is what an environment value
        // looks like (no set_var here: tests share the process).
        let err = Cli::try_parse_from(["auto-etl", "--max-iterations", "zero"]).unwrap_err();
        let msg = env_value_error(&err, &argv(&["auto-etl"])).unwrap();
        assert!(
            msg.starts_with("environment: AUTO_ETL_MAX_ITERATIONS: invalid value `zero`"),
            "{msg}"
        );
        let on_line = Cli::try_parse_from(["auto-etl", "--max-iterations", "zero"]).unwrap_err();
        assert_eq!(
            env_value_error(&on_line, &argv(&["auto-etl", "--max-iterations", "zero"])),
            None
        );
    }
}
