//! Built-in rules for the second-round classes (lock_conflict,
//! data_test_failed, data_error, config_error, schema_mismatch) and for
//! wording that must be read before the first-round rules see a substring of
//! it: `column "x" of relation "t" does not exist` is a missing column, not a
//! missing relation; `database "x" does not exist` at connection time is a
//! setting, not a table to recreate; `server does not support SSL, but SSL
//! was required` will not go away by waiting.
//!
//! Standard codes come first where the tools print them (SQLSTATE 55P03 and
//! 40P01, MySQL 1205/1213/1054/1048, gRPC and HTTP statuses), then each
//! tool's wording. Every example line is in `tests.rs` beside its source.

use super::builtin::rule;
use super::rules::Rule;
use super::FailureClass;

/// Rules checked before the first-round built-ins, in priority order.
pub fn first() -> Vec<Rule> {
    use FailureClass::*;
    vec![
        // --- replication slots and binlog readers left by an earlier run ----
        rule(
            "pg-replication-slot-taken",
            DuplicateConnector,
            r#"replication slot "(?P<subject>[^"]+)" (?:already exists|is active for PID \d+)|Creation of replication slot failed"#,
        ),
        rule(
            "mysql-binlog-server-id",
            DuplicateConnector,
            r"A (?:slave|replica) with the same server_uuid/server_id as this (?:slave|replica) has connected",
        ),
        // --- settings that cannot work ----------------------------------------
        rule(
            "pg-unknown-database",
            ConfigError,
            r#"\bdatabase "(?P<subject>[^"]+)" does not exist"#,
        ),
        rule(
            "mysql-unknown-database",
            ConfigError,
            r"(?:ERROR 1049 \(42000\): )?Unknown database '(?P<subject>[^']+)'|ERROR 1049 \(42000\)",
        ),
        rule(
            "ssl-required",
            ConfigError,
            r"server does not support SSL, but SSL was required",
        ),
        rule(
            "pg-unknown-parameter",
            ConfigError,
            r#"unrecognized configuration parameter "(?P<subject>[^"]+)"|invalid value for parameter "(?P<p2>[^"]+)""#,
        ),
        rule(
            "dbt-profile-missing",
            ConfigError,
            r"Could not find profile named '(?P<subject>[^']+)'|no profile was specified for this dbt project",
        ),
        rule(
            "yaml-parse-error",
            ConfigError,
            r"\byaml\.(?:scanner|parser|composer|constructor)\.\w+Error\b|\b(?:ScannerError|ParserError): (?:mapping values|while (?:scanning|parsing))",
        ),
        // --- locks held by another session -------------------------------------
        rule(
            "duckdb-file-lock",
            LockConflict,
            r#"Could not set lock on file "(?P<subject>[^"]+)""#,
        ),
        rule(
            "pg-lock-not-available",
            LockConflict,
            r#"could not obtain lock on (?:relation|row in relation) "(?P<subject>[^"]+)"|canceling statement due to lock timeout"#,
        ),
        rule("pg-deadlock", LockConflict, r"\bdeadlock detected\b"),
        rule(
            "mysql-lock-wait",
            LockConflict,
            r"ERROR 1205 \(HY000\)|Lock wait timeout exceeded",
        ),
        rule(
            "sqlite-locked",
            LockConflict,
            r"database is locked|\bSQLITE_BUSY\b",
        ),
        // --- data tests --------------------------------------------------------
        rule(
            "dbt-test-failure",
            DataTestFailed,
            r"\bFailure in (?:test|unit_test) (?P<subject>\S+)|Got \d+ results?, configured to fail if",
        ),
        // --- columns and types -------------------------------------------------
        rule(
            "pg-undefined-column",
            SchemaMismatch,
            r#"column "(?P<subject>[^"]+)" (?:of relation "[^"]+" )?does not exist"#,
        ),
        rule(
            "pg-wrong-type",
            SchemaMismatch,
            r#"column "(?P<subject>[^"]+)" is of type \S+ but expression is of type|operator does not exist: "#,
        ),
        rule(
            "mysql-unknown-column",
            SchemaMismatch,
            r"(?:ERROR 1054 \(42S22\): )?Unknown column '(?P<subject>[^']+)'|ERROR 1054 \(42S22\)",
        ),
        rule(
            "sqlite-no-such-column",
            SchemaMismatch,
            r"no such column: (?P<subject>\S+)|table \S+ has no column named (?P<c2>\S+)",
        ),
        rule(
            "warehouse-unknown-column",
            SchemaMismatch,
            r#"invalid identifier '(?P<subject>[^']+)'|Referenced column "(?P<duck>[^"]+)" not found"#,
        ),
        rule(
            "spark-unresolved-column",
            SchemaMismatch,
            r"\[UNRESOLVED_COLUMN\.\w+\] A column or function parameter with name `(?P<subject>[^`]+)`|\[UNRESOLVED_COLUMN\.\w+\]|cannot resolve '(?P<old>[^']+)' given input columns",
        ),
        rule(
            "schema-registry-incompatible",
            SchemaMismatch,
            r"Schema being registered is incompatible with (?:an? (?:earlier|previous)|the latest) schema",
        ),
        // --- the data itself ---------------------------------------------------
        rule(
            "division-by-zero",
            DataError,
            r"(?i)\bdivision by zero\b|\bZeroDivisionError\b",
        ),
        rule(
            "pg-invalid-input",
            DataError,
            r#"invalid input syntax for (?:type )?\w+|value "[^"]*" is out of range for type|date/time field value out of range|numeric field overflow|value too long for type|invalid input value for enum"#,
        ),
        rule(
            "pg-not-null-violation",
            DataError,
            r#"null value in column "(?P<subject>[^"]+)"[^\n]* violates not-null constraint"#,
        ),
        rule(
            "constraint-violation",
            DataError,
            r#"violates (?:check|foreign key|exclusion) constraint "(?P<subject>[^"]+)"|CHECK constraint failed|NOT NULL constraint failed: (?P<col>\S+)"#,
        ),
        rule(
            "bad-number-or-date",
            DataError,
            r"invalid literal for int\(\) with base|could not convert string to float|\bJSONDecodeError\b|Conversion Error: Could not convert string",
        ),
        // --- warehouse and cloud wording of first-round classes ----------------
        rule(
            "warehouse-table-not-found",
            NoSuchTable,
            r#"Not found: (?:Table|Dataset|View) (?P<subject>[^\s,]+)|(?:Object|Table|View|Schema) '(?P<sf>[^']+)' does not exist or not authorized|Table with name (?P<duck>\S+) does not exist"#,
        ),
        rule(
            "warehouse-permission-denied",
            PermissionDenied,
            r"Insufficient privileges to operate on (?:\w+ )?'?(?P<subject>[^'\s]+)|Access Denied: (?:Table|Dataset|Project) (?P<bq>[^:\s]+(?::[^:\s]+)?)|Permission [\w.]+ denied on|does not have [\w.]+ permission|\bPERMISSION_DENIED\b",
        ),
        rule(
            "pg-permission-denied",
            PermissionDenied,
            r"permission denied for (?:table|schema|relation|database|sequence|function|view) (?P<subject>\S+)|cannot execute \w+(?: \w+)? in a read-only transaction|running with the --read-only option",
        ),
        rule(
            "sasl-and-token-auth-failed",
            AuthFailed,
            r"WRONGPASS invalid username-password pair|NOAUTH Authentication required|SaslAuthentication(?:Exception|FailedError)|invalid credentials with SASL mechanism",
        ),
        rule(
            "warehouse-timeout",
            Timeout,
            r"reached its statement or warehouse timeout|Could not execute broadcast in \d+ secs",
        ),
        rule(
            "kubernetes-evicted-memory",
            OutOfMemory,
            r"The node was low on resource: memory",
        ),
        rule(
            "pg-undefined-function",
            SyntaxError,
            r"function (?P<subject>\S+\([^)]*\)) does not exist",
        ),
        rule(
            "grpc-unavailable",
            ConnectionRefused,
            r"StatusCode\.UNAVAILABLE|\b14 UNAVAILABLE: ",
        ),
    ]
}

#[cfg(test)]
pub(crate) mod tests;
