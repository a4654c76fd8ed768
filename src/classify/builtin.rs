//! Built-in rules, one per real-world error shape, written against what
//! MySQL/MariaDB, PostgreSQL/psycopg2, ClickHouse, SQLite, Kafka Connect,
//! Airflow, dbt, Spark, Docker, Python and the shell actually print.
//!
//! Order is priority: the first rule that matches a line names its class.
//! Specific, coded messages come first, so that a line carrying two stories
//! ("can't connect ... (Name or service not known)") gets the one that says
//! what to do (dns, not connection refused); catch-all phrases come last.
//! Every pattern must keep a literal the prefilter can find (see `literal`);
//! a test checks that.

use super::rules::{Rule, RuleSource};
use super::FailureClass;

pub(crate) fn rule(id: &str, class: FailureClass, pattern: &str) -> Rule {
    let retryable = class.default_retryable();
    Rule {
        id: id.to_string(),
        class,
        pattern: pattern.to_string(),
        retryable,
        source: RuleSource::Builtin,
    }
}

/// The built-in rules, in priority order.
pub fn rules() -> Vec<Rule> {
    use FailureClass::*;
    let mut rules = super::vendor::first();
    rules.extend(vec![
        // --- credentials: a failed login is never fixed by waiting -------------
        rule(
            "mysql-access-denied",
            AuthFailed,
            r"(?:ERROR (?:1045|1698) \(28000\): )?Access denied for user '?(?P<subject>[^'@\s]+)'?@\S* \(using password: (?:YES|NO)\)|ERROR (?:1045|1698) \(28000\)",
        ),
        rule(
            "pg-password-auth-failed",
            AuthFailed,
            r#"(?:password|Peer|Ident|SCRAM|md5) authentication failed for user(?: "(?P<subject>[^"]+)")?|no password supplied|no pg_hba\.conf entry for"#,
        ),
        rule(
            "pg-role-missing",
            AuthFailed,
            r#"role "(?P<subject>[^"]*)" does not exist"#,
        ),
        rule(
            "clickhouse-auth-failed",
            AuthFailed,
            r"Code: (?:516|192)\. DB::Exception|AUTHENTICATION_FAILED",
        ),
        rule(
            "docker-registry-unauthorized",
            AuthFailed,
            r"(?i)unauthorized: (?:authentication required|incorrect username or password)",
        ),
        rule(
            "generic-auth-failed",
            AuthFailed,
            r"(?i)\bauthentication failed\b|\bincorrect username or password\b|\binvalid (?:username or password|credentials)\b|\b401 Unauthorized\b|\bLogin failed for user\b",
        ),
        // --- missing tables and databases ---------------------------------------
        rule(
            "mysql-no-such-table",
            NoSuchTable,
            r"(?:ERROR (?:1146|1051) \(42S02\)[^']*)?Table '(?P<subject>[^']+)' doesn't exist|ERROR (?:1146|1051) \(42S02\)|Unknown table '[^']+'",
        ),
        rule(
            "pg-relation-missing",
            NoSuchTable,
            r#"(?:UndefinedTable: )?(?:relation|table|view|schema) "(?P<subject>[^"]*)" does not exist|\bUndefinedTable\b"#,
        ),
        rule(
            "clickhouse-unknown-table",
            NoSuchTable,
            r"Code: (?:60|81)\. DB::Exception[^\n]*?(?:Table|Database) (?P<subject>\S+) does(?:n't| not) exist|(?:Table|Database) (?P<name>\S+) does(?:n't| not) exist|Code: (?:60|81)\. DB::Exception|UNKNOWN_TABLE|UNKNOWN_DATABASE",
        ),
        rule(
            "sqlite-no-such-table",
            NoSuchTable,
            r"no such table: (?P<subject>\S+)",
        ),
        rule(
            "spark-table-not-found",
            NoSuchTable,
            r"(?i)Table or view not found(?:: (?P<subject>[^;\s]+))?|\[TABLE_OR_VIEW_NOT_FOUND\]|NoSuchTableException|\[SCHEMA_NOT_FOUND\]|NoSuchDatabaseException",
        ),
        rule(
            "airflow-db-not-initialized",
            NoSuchTable,
            r"(?i)You need to (?:initialize|upgrade) the database",
        ),
        // --- name resolution ------------------------------------------------------
        rule(
            "pg-dns-failure",
            DnsFailure,
            r#"could not translate host name "(?P<subject>[^"]*)" to address"#,
        ),
        rule(
            "mysql-unknown-host",
            DnsFailure,
            r"ERROR 2005 \(HY000\)|Unknown (?:MySQL|MariaDB) server host",
        ),
        rule(
            "clickhouse-dns-failure",
            DnsFailure,
            r"Code: 198\. DB::|Not found address of host|DNS_ERROR",
        ),
        rule("java-unknown-host", DnsFailure, r"UnknownHostException"),
        rule(
            "python-gaierror",
            DnsFailure,
            r"\bgaierror\b|\[Errno -[235]\]|\[Errno 11001\] getaddrinfo failed",
        ),
        rule(
            "generic-dns-failure",
            DnsFailure,
            r"(?i)temporary failure in name resolution|name or service not known|nodename nor servname provided, or not known|no address associated with hostname|name does not resolve|could not resolve host(?:: (?P<subject>[\w.-]+))?|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|lookup \S+(?: on \S+)?: (?:no such host|server misbehaving)",
        ),
        // --- SQL and code that cannot run ----------------------------------------
        rule(
            "mysql-syntax-error",
            SyntaxError,
            r"ERROR 1064 \(42000\)|You have an error in your SQL syntax",
        ),
        rule(
            "pg-syntax-error",
            SyntaxError,
            r"syntax error at or near|syntax error at end of input",
        ),
        rule(
            "clickhouse-syntax-error",
            SyntaxError,
            r"Code: 62\. DB::Exception|\(SYNTAX_ERROR\)",
        ),
        rule(
            "sqlite-syntax-error",
            SyntaxError,
            r#"near "[^"]*": syntax error|sqlite3\.OperationalError: incomplete input"#,
        ),
        rule(
            "spark-parse-error",
            SyntaxError,
            r"\bParseException\b|\[PARSE_SYNTAX_ERROR\]",
        ),
        rule(
            "dbt-compilation-error",
            SyntaxError,
            r"\b(?:Compilation|Parsing) Error\b",
        ),
        rule(
            "python-syntax-error",
            SyntaxError,
            r"\b(?:SyntaxError|IndentationError|TabError): ",
        ),
        // --- things left over from an earlier attempt ----------------------------
        rule(
            "kafka-connect-duplicate",
            DuplicateConnector,
            r"(?i)\bConnector (?:with name )?(?P<subject>\S+) already exists|connector (?:with name )?\S+ is already (?:running|registered)",
        ),
        rule(
            "kafka-connect-409",
            DuplicateConnector,
            r#""error_code"\s*:\s*409\b|(?i)/connectors\b.*\b(?:409|Conflict)\b|(?i)\b409\b.*/connectors\b"#,
        ),
        rule(
            "docker-port-allocated",
            PortInUse,
            r"(?:Bind for (?P<subject>\S+) failed: )?port is already allocated",
        ),
        rule(
            "generic-address-in-use",
            PortInUse,
            r"(?i)address already in use|\[Errno (?:98|48)\]|java\.net\.BindException",
        ),
        rule(
            "mysql-table-exists",
            AlreadyExists,
            r"ERROR 1050 \(42S01\)|Table '[^']+' already exists",
        ),
        rule(
            "mysql-database-exists",
            AlreadyExists,
            r"ERROR 1007 \(HY000\)|database exists",
        ),
        rule(
            "clickhouse-already-exists",
            AlreadyExists,
            r"Code: (?:57|82)\. DB::Exception|TABLE_ALREADY_EXISTS|DATABASE_ALREADY_EXISTS",
        ),
        rule(
            "docker-name-conflict",
            AlreadyExists,
            r#"(?i)The container name "[^"]*" is already in use|is already in use by container"#,
        ),
        rule(
            "spark-table-exists",
            AlreadyExists,
            r"TableAlreadyExistsException|\[TABLE_OR_VIEW_ALREADY_EXISTS\]",
        ),
        rule(
            "duplicate-key",
            DataError,
            r#"ERROR 1062 \(23000\)|Duplicate entry '[^']*' for key|duplicate key value violates unique constraint "(?P<subject>[^"]+)"|UNIQUE constraint failed: (?P<col>\S+)|PRIMARY KEY or UNIQUE constraint violation|\bE11000 duplicate key error\b"#,
        ),
        rule(
            "python-file-exists",
            AlreadyExists,
            r"FileExistsError|\[Errno 17\] File exists",
        ),
        // --- resources ------------------------------------------------------------
        rule(
            "java-out-of-memory",
            OutOfMemory,
            r"OutOfMemoryError|GC overhead limit exceeded",
        ),
        rule(
            "clickhouse-memory-limit",
            OutOfMemory,
            r"Code: 241\. DB::Exception|MEMORY_LIMIT_EXCEEDED|Memory limit \([^)]*\) exceeded",
        ),
        rule(
            "python-memory-error",
            OutOfMemory,
            r"\bMemoryError\b|Unable to allocate [\d.]+ [KMGTP]i?B",
        ),
        rule(
            "oom-killer",
            OutOfMemory,
            r"(?i)out of memory: kill|\boom-?kill(?:er|ed)?\b|\binvoked oom-killer\b|exceeding (?:physical )?memory limits|running beyond physical memory limits",
        ),
        rule("airflow-sigkill", OutOfMemory, r"Negsignal\.SIGKILL"),
        rule(
            "shell-killed",
            OutOfMemory,
            r"(?:^|:\s*|\d\s+)Killed(?:\s|$)",
        ),
        rule(
            "exit-137",
            OutOfMemory,
            r"(?i)\b(?:exit code|exit status|exited with code|exit_code[=:]|returned non-zero exit status)\s*:?\s*137\b",
        ),
        rule(
            "generic-out-of-memory",
            OutOfMemory,
            r"(?i)\bout of memory\b|cannot allocate memory|\[Errno 12\]",
        ),
        rule(
            "sqlite-disk-full",
            DiskFull,
            r"database or disk is full|SQLITE_FULL",
        ),
        rule(
            "mysql-table-full",
            DiskFull,
            r"ERROR 1114 \(HY000\)|The table '[^']+' is full|Errcode: 28\b|OS errno 28\b",
        ),
        rule(
            "clickhouse-not-enough-space",
            DiskFull,
            r"NOT_ENOUGH_SPACE|Cannot reserve [\d.]+ \w+, not enough space",
        ),
        rule(
            "generic-disk-full",
            DiskFull,
            r#"(?i)(?:file "(?P<subject>[^"]+)"[^\n]*?: |(?P<path>/\S+)': )?no space left on device|\[Errno 28\]|disk quota exceeded|\bdisk (?:is )?full\b"#,
        ),
        // --- images -----------------------------------------------------------------
        rule(
            "docker-pull-access-denied",
            ImageNotFound,
            r#"(?:Failed to pull image "(?P<subject>[^"]+)"[^\n]*?)?pull access denied for (?P<repo>[^\s,]+)"#,
        ),
        rule(
            "docker-manifest-unknown",
            ImageNotFound,
            r"manifest for (?P<subject>\S+) not found|manifest unknown",
        ),
        rule(
            "docker-no-such-image",
            ImageNotFound,
            r"(?i)No such image: (?P<subject>\S+)|\brepository \S+ not found\b|failed to resolve reference .*: not found|\b(?:ErrImagePull|ImagePullBackOff|InvalidImageName)\b",
        ),
        // --- connections (after dns and auth, which say more) --------------------
        rule(
            "mysql-cant-connect",
            ConnectionRefused,
            r"ERROR (?:2002|2003|2013) \(HY000\)|Can't connect to (?:local )?(?:MySQL|MariaDB) server(?: on '(?P<subject>[^']+)')?|Lost connection to (?:MySQL|MariaDB) server|CommunicationsException|Communications link failure",
        ),
        rule(
            "pg-connection-failed",
            ConnectionRefused,
            r#"connection to server (?:at|on) (?:(?:socket )?"(?P<subject>[^"]*)"(?: \([^)]*\))?(?:, port (?P<port>\d+))?)?.* failed|could not connect to server|the database system is (?:starting up|shutting down|in recovery mode)|server closed the connection unexpectedly"#,
        ),
        rule(
            "kafka-broker-unavailable",
            ConnectionRefused,
            r"Broker may not be available|NoBrokersAvailable",
        ),
        rule(
            "docker-daemon-unreachable",
            ConnectionRefused,
            r"Cannot connect to the Docker daemon",
        ),
        rule(
            "python-connection-refused",
            ConnectionRefused,
            r"ConnectionRefusedError|\[Errno (?:111|61)\]",
        ),
        rule(
            "generic-connection-refused",
            ConnectionRefused,
            r"(?i)(?:\bat (?P<subject>[\w.-]+:\d+): |Connecting to (?P<wget>[\w.-]+:\d+)\.\.\. failed: )?\bconnection refused\b|\bECONNREFUSED\b|connection reset by peer|\bECONNRESET\b|\b503 Service (?:Temporarily )?Unavailable\b",
        ),
        // --- timeouts ---------------------------------------------------------------
        rule(
            "pg-statement-timeout",
            Timeout,
            r"canceling statement due to (?:statement|idle[- ]in[- ]transaction[- ]session) timeout|\btimeout expired\b",
        ),
        rule(
            "clickhouse-timeout",
            Timeout,
            r"Code: (?:159|209)\. DB::|TIMEOUT_EXCEEDED|SOCKET_TIMEOUT",
        ),
        rule(
            "airflow-task-timeout",
            Timeout,
            r"Airflow(?:Task|Sensor)Timeout",
        ),
        rule(
            "python-timeout-error",
            Timeout,
            r"\b(?:TimeoutError|socket\.timeout|TimeoutExpired|ReadTimeout|ConnectTimeout|ReadTimeoutError|ConnectTimeoutError)\b|\w*TimeoutException\b",
        ),
        rule(
            "generic-timeout",
            Timeout,
            r"(?i)\btimed out\b|\btimeout (?:exceeded|expired|occurred|reached|error)\b|\bETIMEDOUT\b|\bdeadline[ _]exceeded\b|\b504 Gateway Time-?out\b|\btimeout waiting for\b",
        ),
        // --- missing files, commands and rights ----------------------------------
        rule(
            "python-file-not-found",
            FileNotFound,
            r"(?:FileNotFoundError: )?\[Errno 2\] No such file or directory(?:: '(?P<subject>[^']+)')?|FileNotFoundError",
        ),
        rule(
            "python-module-not-found",
            FileNotFound,
            r"No module named '?(?P<subject>[\w.]+)|ModuleNotFoundError",
        ),
        rule(
            "java-file-not-found",
            FileNotFound,
            r"FileNotFoundException(?:: (?P<subject>[^\s(]+))?|\[PATH_NOT_FOUND\]|Path does not exist: (?P<path>\S+)",
        ),
        rule(
            "shell-command-not-found",
            FileNotFound,
            r"(?i)\bcommand not found\b|^(?:/bin/)?(?:ba|da|z)?sh: (?:\d+: |line \d+: )?\S+: not found|no configuration file provided",
        ),
        rule(
            "mysql-file-not-found",
            FileNotFound,
            r"Failed to open file '[^']*', error: 2\b",
        ),
        rule(
            "generic-no-such-file",
            FileNotFound,
            r#"(?i)(?:file "(?P<pg>[^"]+)" for \w+: |(?P<subject>[^\s:'"]+): )?no such file or directory"#,
        ),
        rule(
            "mysql-command-denied",
            PermissionDenied,
            r"ERROR (?:1044|1142|1227) \(42000\)|command denied to user|Access denied for user \S+ to database",
        ),
        rule(
            "python-permission-error",
            PermissionDenied,
            r"(?:PermissionError: )?\[Errno 13\] Permission denied(?:: '(?P<subject>[^']+)')?|PermissionError",
        ),
        rule(
            "clickhouse-access-denied",
            PermissionDenied,
            r"Code: 497\. DB::Exception|Not enough privileges|\bACCESS_DENIED\b",
        ),
        rule(
            "pg-must-be-owner",
            PermissionDenied,
            r"must be owner of (?:table|relation|database|schema)",
        ),
        rule(
            "generic-permission-denied",
            PermissionDenied,
            r"(?i)permission denied|operation not permitted|read-only file system|AccessDenied(?:Exception)?\b",
        ),
        // --- catch-all syntax and already-exists phrases -------------------------
        rule(
            "generic-already-exists",
            AlreadyExists,
            r#"(?i)(?:(?:schema|database|relation|table|view|role) "(?P<subject>[^"]+)" |(?:table|(?:network|table) with name|topic) ['"]?(?P<name>[\w.-]+)['"]? )?already exists\b"#,
        ),
        rule("generic-syntax-error", SyntaxError, r"(?i)\bsyntax error\b"),
    ]);
    rules
}
