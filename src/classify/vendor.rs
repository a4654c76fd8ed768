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
            "dbt-project-config",
            ConfigError,
            r#"No dbt_project\.yml found at expected path (?P<subject>\S+)|Env var required but not provided: '(?P<env>[^']+)'|Credentials in profile "(?P<profile>[^"]+)", target "[^"]+" invalid|\bprofile (?P<p2>\S+) doesn't exist|Catalog '(?P<catalog>[^']+)' does not exist|Database '(?P<db>[^']+)' does not exist or not authorized|ClassNotFoundException: (?P<class>\S+)"#,
        ),
        rule(
            "yaml-parse-error",
            SyntaxError,
            r"\byaml\.(?:scanner|parser|composer|constructor)\.\w+Error\b|\b(?:ScannerError|ParserError): (?:mapping values|while (?:scanning|parsing))",
        ),
        // --- locks held by another session -------------------------------------
        rule(
            "pg-connect-timed-out",
            Timeout,
            r"could not connect to server: Connection timed out|did not complete within the designated timeout",
        ),
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
            r"ERROR 1205 \(HY000\)|Lock wait timeout exceeded|Deadlock found when trying to get lock",
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
            r"\bFailure in (?:test|unit_test) (?P<subject>\S+)|\d+ of \d+ FAIL \d+ (?P<node>\S+) \.|Got \d+ results?, (?:configured to fail if|expected \d+)|Validation Failed!|\d+ of \d+ \([\d.]+%\) Expectations Failed",
        ),
        // --- columns and types -------------------------------------------------
        rule(
            "pg-undefined-column",
            SchemaMismatch,
            r#"column "(?P<subject>[^"]+)" (?:of relation "[^"]+" )?does not exist|column (?P<bare>[\w.]+) does not exist|AnalysisException: Column (?P<spark>\S+) does not exist|Column '(?P<trino>[^']+)' cannot be resolved|Name (?P<bq>\S+) not found inside \S+ at \["#,
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
            r#"\binteger out of range\b|invalid input syntax for (?:type )?\w+|value "[^"]*" is out of range for type|date/time field value out of range|numeric field overflow|value too long for type|invalid input value for enum"#,
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
            r"invalid literal for int\(\) with base|could not convert string to float|Conversion Error: Could not convert string|Error tokenizing data",
        ),
        // --- warehouse and cloud wording of first-round classes ----------------
        rule(
            "warehouse-table-not-found",
            NoSuchTable,
            r#"(?i:\btable not found\b)(?: '(?P<hive>[^']+)')?|Schema (?P<trino>\S+) does not exist|\(42S02\): SQL compilation error|Not found: (?:Table|Dataset|View) (?P<subject>[^\s,]+)|(?:Object|Table|View|Schema) '(?P<sf>[^']+)' does not exist or not authorized|Table with name (?P<duck>\S+) does not exist"#,
        ),
        rule(
            "warehouse-permission-denied",
            PermissionDenied,
            r"Insufficient privileges to operate on (?:\w+ )?'?(?P<subject>[^'\s]+)|Access Denied: (?:Table|Dataset|Project) (?P<bq>[^:\s]+(?::[^:\s]+)?)|Permission [\w.]+ denied on|does not have [\w.]+ permission|\bPERMISSION_DENIED\b|Access Denied: Cannot \w+ from table (?P<trino>\S+)",
        ),
        rule(
            "pg-permission-denied",
            PermissionDenied,
            r"permission denied for (?:table|schema|relation|database|sequence|function|view) (?P<subject>\S+)|cannot execute \w+(?: \w+)? in a read-only transaction|running with the --read-only option",
        ),
        rule(
            "sasl-and-token-auth-failed",
            AuthFailed,
            r"WRONGPASS invalid username-password pair|NOAUTH Authentication required|SaslAuthentication(?:Exception|FailedError)|invalid credentials with SASL mechanism|SASL authentication failure|Authentication token has expired",
        ),
        rule(
            "warehouse-timeout",
            Timeout,
            r"reached its statement or warehouse timeout|Could not execute broadcast in \d+ secs",
        ),
        rule(
            "kubernetes-evicted-memory",
            OutOfMemory,
            r"The node was low on resource: memory|\bcontainer oom [0-9a-f]{12}",
        ),
        rule(
            "kubernetes-evicted-disk",
            DiskFull,
            r"The node was low on resource: ephemeral-storage",
        ),
        rule(
            "container-missing-things",
            FileNotFound,
            r#"No such container: (?P<subject>\S+)|No files found that match the pattern "(?P<duck>[^"]+)"|unable to open database "(?P<db>[^"]+)": unable to open database file|NoSuchFileException: (?P<java>\S+)"#,
        ),
        rule(
            "ports-not-available",
            PortInUse,
            r"Ports are not available: exposing port \w+ (?P<subject>\S+)|Failed listening on port (?P<port>\d+)",
        ),
        rule(
            "compose-image-not-found",
            ImageNotFound,
            r"Error: image (?P<subject>\S+) not found",
        ),
        rule(
            "pg-undefined-function",
            SyntaxError,
            r"function (?P<subject>\S+\([^)]*\)) does not exist|Scalar Function with name (?P<duck>\S+) does not exist|depends on a node named '(?P<dbt>[^']+)' which was not found|\bJSONDecodeError\b",
        ),
        rule(
            "grpc-unavailable",
            ConnectionRefused,
            r"StatusCode\.UNAVAILABLE|\b14 UNAVAILABLE: |\d+/\d+ brokers are down|:\d+ - rejecting connections",
        ),
    ]
}

#[cfg(test)]
pub(crate) mod tests;
