//! Table-driven tests of the rules, the benign filter, the markers and the
//! streaming scanner.

use super::*;
use std::sync::Arc;

fn scan_with(rules: &Arc<RuleSet>, markers: &Markers, chunks: &[&[u8]]) -> ScanReport {
    let mut s = Scanner::new(rules.clone(), Arc::new(markers.clone()));
    for c in chunks {
        s.feed(c);
    }
    s.finish()
}

fn builtin() -> Arc<RuleSet> {
    static SET: std::sync::OnceLock<Arc<RuleSet>> = std::sync::OnceLock::new();
    SET.get_or_init(|| Arc::new(RuleSet::builtin())).clone()
}

fn scan(log: &[u8]) -> ScanReport {
    scan_with(&builtin(), &Markers::default(), &[log])
}

/// Real lines from the tools a pipeline runs, and the class each must get.
const FAILURES: &[(&str, &str)] = &[
    // MySQL / MariaDB
    ("ERROR 1146 (42S02) at line 3: Table 'etl.sales' doesn't exist", "no_such_table"),
    ("ERROR 1050 (42S01): Table 'x' already exists", "already_exists"),
    ("ERROR 1050 (42S01) at line 1: Table 'sales' already exists", "already_exists"),
    ("ERROR 1064 (42000): You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'SELEC * FROM x' at line 1", "syntax_error"),
    ("ERROR 2003 (HY000): Can't connect to MySQL server on '127.0.0.1:3306' (111)", "connection_refused"),
    ("ERROR 2002 (HY000): Can't connect to local MySQL server through socket '/var/run/mysqld/mysqld.sock' (2)", "connection_refused"),
    ("ERROR 1045 (28000): Access denied for user 'etl'@'localhost' (using password: YES)", "auth_failed"),
    ("pymysql.err.OperationalError: (1045, \"Access denied for user 'root'@'172.18.0.3' (using password: YES)\")", "auth_failed"),
    ("ERROR 1044 (42000): Access denied for user 'etl'@'%' to database 'warehouse'", "permission_denied"),
    ("ERROR 1049 (42000): Unknown database 'etl'", "config_error"),
    ("ERROR 2005 (HY000): Unknown MySQL server host 'mysqldb' (-2)", "dns_failure"),
    ("pymysql.err.OperationalError: (2003, \"Can't connect to MySQL server on 'db' ([Errno -2] Name or service not known)\")", "dns_failure"),
    ("ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction", "lock_conflict"),
    ("ERROR 1062 (23000): Duplicate entry '42' for key 'PRIMARY'", "data_error"),
    ("ERROR 1114 (HY000): The table 'staging' is full", "disk_full"),
    ("ERROR 2013 (HY000): Lost connection to MySQL server during query", "connection_refused"),
    // PostgreSQL / psycopg2
    ("psycopg2.OperationalError: connection to server at \"localhost\" (127.0.0.1), port 5432 failed: Connection refused", "connection_refused"),
    ("psycopg2.OperationalError: could not translate host name \"db\" to address: Temporary failure in name resolution", "dns_failure"),
    ("psycopg2.errors.UndefinedTable: relation \"staging.orders\" does not exist", "no_such_table"),
    ("ERROR:  relation \"sales\" does not exist at character 15", "no_such_table"),
    ("ERROR:  relation \"sales\" already exists", "already_exists"),
    ("psycopg2.errors.SyntaxError: syntax error at or near \"SELEC\"", "syntax_error"),
    ("LINE 1: SELEC * FROM x; ERROR:  syntax error at end of input", "syntax_error"),
    ("psycopg2.OperationalError: connection to server at \"db\" (172.18.0.2), port 5432 failed: FATAL:  password authentication failed for user \"etl\"", "auth_failed"),
    ("FATAL:  password authentication failed for user \"postgres\"", "auth_failed"),
    ("FATAL:  database \"warehouse\" does not exist", "config_error"),
    ("FATAL:  role \"etl\" does not exist", "auth_failed"),
    ("FATAL:  the database system is starting up", "connection_refused"),
    ("ERROR:  permission denied for table sales", "permission_denied"),
    ("ERROR:  canceling statement due to statement timeout", "timeout"),
    ("ERROR:  duplicate key value violates unique constraint \"sales_pkey\"", "data_error"),
    ("ERROR:  could not extend file \"base/16384/16385\": No space left on device", "disk_full"),
    ("psycopg2.OperationalError: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory", "connection_refused"),
    // ClickHouse
    ("Code: 60. DB::Exception: Table default.x doesn't exist. (UNKNOWN_TABLE)", "no_such_table"),
    ("Received exception from server (version 23.8.1):\nCode: 60. DB::Exception: Table default.events does not exist. (UNKNOWN_TABLE)", "no_such_table"),
    ("Code: 57. DB::Exception: Table default.events already exists. (TABLE_ALREADY_EXISTS)", "already_exists"),
    ("Code: 62. DB::Exception: Syntax error: failed at position 1 ('SELEC'): SELEC 1. Expected one of: Query, SELECT. (SYNTAX_ERROR)", "syntax_error"),
    ("Code: 241. DB::Exception: Memory limit (total) exceeded: would use 3.50 GiB (attempt to allocate chunk of 4194304 bytes), maximum: 3.47 GiB. (MEMORY_LIMIT_EXCEEDED)", "out_of_memory"),
    ("Code: 210. DB::NetException: Connection refused (localhost:9000). (NETWORK_ERROR)", "connection_refused"),
    ("Code: 516. DB::Exception: default: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED)", "auth_failed"),
    ("Code: 159. DB::Exception: Timeout exceeded: elapsed 30.0 seconds, maximum: 30. (TIMEOUT_EXCEEDED)", "timeout"),
    ("Code: 243. DB::Exception: Cannot reserve 1.00 MiB, not enough space. (NOT_ENOUGH_SPACE)", "disk_full"),
    // SQLite
    ("sqlite3.OperationalError: no such table: sales", "no_such_table"),
    ("sqlite3.OperationalError: table sales already exists", "already_exists"),
    ("sqlite3.OperationalError: near \"SELEC\": syntax error", "syntax_error"),
    ("sqlite3.OperationalError: database or disk is full", "disk_full"),
    ("sqlite3.IntegrityError: UNIQUE constraint failed: sales.id", "data_error"),
    // Kafka Connect / Debezium
    ("{\"error_code\":409,\"message\":\"Connector jdbc-sink-orders already exists\"}", "duplicate_connector"),
    ("Connector debezium-mysql already exists", "duplicate_connector"),
    ("requests.exceptions.HTTPError: 409 Client Error: Conflict for url: http://connect:8083/connectors", "duplicate_connector"),
    ("POST http://localhost:8083/connectors -> 409 Conflict", "duplicate_connector"),
    ("org.apache.kafka.common.errors.TimeoutException: Topic orders not present in metadata after 60000 ms.", "timeout"),
    ("WARN [Producer clientId=p-1] Connection to node -1 (localhost/127.0.0.1:9092) could not be established. Broker may not be available.", "connection_refused"),
    // Airflow
    ("airflow.exceptions.AirflowTaskTimeout: Timeout, PID: 1234", "timeout"),
    ("ERROR: You need to initialize the database. Please run `airflow db init`.", "no_such_table"),
    ("[2025-01-09, 12:00:00 UTC] {local_task_job_runner.py:234} INFO - Task exited with return code Negsignal.SIGKILL", "out_of_memory"),
    ("sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) no such table: dag", "no_such_table"),
    // dbt
    ("  Compilation Error in model stg_orders (models/staging/stg_orders.sql)", "syntax_error"),
    ("Parsing Error in model stg_orders", "syntax_error"),
    // Spark
    ("java.lang.OutOfMemoryError: Java heap space", "out_of_memory"),
    ("Exception in thread \"main\" java.lang.OutOfMemoryError: GC overhead limit exceeded", "out_of_memory"),
    ("pyspark.sql.utils.AnalysisException: Table or view not found: staging.orders; line 1 pos 14", "no_such_table"),
    ("pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view `orders` cannot be found.", "no_such_table"),
    ("pyspark.errors.exceptions.captured.ParseException: [PARSE_SYNTAX_ERROR] Syntax error at or near 'SELEC'", "syntax_error"),
    ("org.apache.spark.sql.AnalysisException: [PATH_NOT_FOUND] Path does not exist: file:/data/in.csv.", "file_not_found"),
    ("Container killed by YARN for exceeding memory limits. 5.5 GB of 5.5 GB physical memory used.", "out_of_memory"),
    // Docker
    ("Error response from daemon: driver failed programming external connectivity on endpoint etl-db (3f2a): Bind for 0.0.0.0:5432 failed: port is already allocated", "port_in_use"),
    ("Error starting userland proxy: listen tcp4 0.0.0.0:3306: bind: address already in use", "port_in_use"),
    ("Error response from daemon: Conflict. The container name \"/etl-db\" is already in use by container \"3f2a\". You have to remove (or rename) that container to be able to reuse that name.", "already_exists"),
    ("Error response from daemon: pull access denied for etl/worker, repository does not exist or may require 'docker login': denied: requested access to the resource is denied", "image_not_found"),
    ("Error response from daemon: manifest for postgres:99 not found: manifest unknown: manifest unknown", "image_not_found"),
    ("Error: No such image: etl-worker:latest", "image_not_found"),
    ("failed to register layer: write /usr/lib/x.so: no space left on device", "disk_full"),
    ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", "connection_refused"),
    ("etl-worker-1 exited with code 137", "out_of_memory"),
    ("dial tcp: lookup db on 127.0.0.11:53: no such host", "dns_failure"),
    ("Error response from daemon: Get \"https://registry-1.docker.io/v2/\": context deadline exceeded", "timeout"),
    ("unauthorized: authentication required", "auth_failed"),
    // Python
    ("FileNotFoundError: [Errno 2] No such file or directory: 'data/input.csv'", "file_not_found"),
    ("PermissionError: [Errno 13] Permission denied: '/var/lib/etl/out.csv'", "permission_denied"),
    ("ConnectionRefusedError: [Errno 111] Connection refused", "connection_refused"),
    ("socket.gaierror: [Errno -3] Temporary failure in name resolution", "dns_failure"),
    ("socket.gaierror: [Errno -2] Name or service not known", "dns_failure"),
    ("MemoryError", "out_of_memory"),
    ("numpy.core._exceptions._ArrayMemoryError: Unable to allocate 7.45 GiB for an array with shape (1000000000,) and data type float64", "out_of_memory"),
    ("SyntaxError: invalid syntax", "syntax_error"),
    ("IndentationError: unexpected indent", "syntax_error"),
    ("TimeoutError: [Errno 110] Connection timed out", "timeout"),
    ("requests.exceptions.ReadTimeout: HTTPConnectionPool(host='api', port=80): Read timed out. (read timeout=10)", "timeout"),
    ("subprocess.TimeoutExpired: Command '['python3', 'load.py']' timed out after 600 seconds", "timeout"),
    ("requests.exceptions.ConnectionError: HTTPConnectionPool(host='connect', port=8083): Max retries exceeded with url: /connectors (Caused by NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))", "connection_refused"),
    ("ModuleNotFoundError: No module named 'pandas'", "file_not_found"),
    ("python3: can't open file '/app/etl.py': [Errno 2] No such file or directory", "file_not_found"),
    ("OSError: [Errno 98] Address already in use", "port_in_use"),
    ("OSError: [Errno 28] No space left on device", "disk_full"),
    ("FileExistsError: [Errno 17] File exists: 'output'", "already_exists"),
    // The kernel and the shell
    ("Killed", "out_of_memory"),
    ("./run_etl.sh: line 12:  4123 Killed                  python3 etl.py", "out_of_memory"),
    ("[12345.678] Out of memory: Killed process 4123 (python3) total-vm:8000000kB", "out_of_memory"),
    ("Process finished with exit code 137", "out_of_memory"),
    ("sh: 1: foo: not found", "file_not_found"),
    ("bash: dbt: command not found", "file_not_found"),
    ("cat: data/input.csv: No such file or directory", "file_not_found"),
    ("curl: (7) Failed to connect to localhost port 8083 after 0 ms: Connection refused", "connection_refused"),
    ("curl: (6) Could not resolve host: connect", "dns_failure"),
    ("mkdir: cannot create directory '/data': Permission denied", "permission_denied"),
    ("ETIMEDOUT: connect ETIMEDOUT 10.0.0.5:5432", "timeout"),
    ("Operation timed out after 30001 milliseconds", "timeout"),
    // Colour codes around the message do not hide it.
    ("\x1b[31mERROR\x1b[0m: \x1b[1mrelation \"sales\" does not exist\x1b[0m", "no_such_table"),
];

/// Lines that mention a failure word but are not failures.
const HARMLESS: &[&str] = &[
    "0 errors",
    "Found 0 errors in 12 files",
    "errors: []",
    "ERROR_LOG=/var/log/x",
    "retrying in 5s",
    "Retrying (attempt 2)",
    "2025-01-09 12:00:03 WARNING tenacity: Retrying in 5 seconds after connection refused",
    "/usr/lib/python3/site-packages/x.py:10: DeprecationWarning: pkg_resources is deprecated as an API",
    "deprecation warning: --timeout is deprecated",
    "Done. PASS=5 WARN=0 ERROR=0 SKIP=0 TOTAL=5",
    "PLAY RECAP: localhost : ok=5 changed=1 unreachable=0 failed=0",
    "no errors found",
    "no syntax errors found",
    "running step load --timeout 30",
    "config: timeout=30s retries=3",
    "{\"timeout\": 30, \"retries\": 3}",
    "CREATE TABLE IF NOT EXISTS sales (id INT)",
    "DROP TABLE IF EXISTS staging_sales;",
    "psql:sql/create.sql:3: NOTICE:  relation \"sales\" already exists, skipping",
    "Note (Code 1050): Table 'sales' already exists",
    "2025-01-09 12:00:01,123 DEBUG sqlalchemy.pool connection refused, will reconnect",
    "[DEBUG] checking table exists: no such table: tmp (expected)",
    "DEBUG:urllib3.connectionpool:Starting new HTTP connection (1): connect:8083",
    "time=2025-01-09T12:00:00Z level=debug msg=\"dial tcp: connection refused\"",
    "2025-01-09 12:00:00 INFO Loaded 1000 rows into staging.sales in 0.53s",
    "Unable to find image 'postgres:15' locally",
    "INFO - Marking task as UP_FOR_RETRY. dag_id=etl, task_id=load",
    "INFO  Connector jdbc-sink-orders created",
    "INFO cleaning up killed_jobs table",
    "errors=0 warnings=2",
    "total failures: 0",
    "connect_timeout=10 sslmode=disable",
    "",
];

#[test]
fn every_real_error_line_gets_its_class() {
    let rules = RuleSet::builtin();
    let mut wrong = Vec::new();
    for (line, want) in FAILURES {
        let report = scan(line.as_bytes());
        let got = report
            .primary()
            .map(|m| format!("{} ({})", m.class, m.rule_id));
        if report.primary().map(|m| m.class.as_str()) != Some(*want) {
            wrong.push(format!("{line:?}: want {want}, got {got:?}"));
        }
        // The prefilter must not drop what the rules match line by line.
        let brute = rules
            .compiled()
            .iter()
            .any(|re| re.is_match(line.as_bytes()));
        assert!(brute || report.primary().is_none(), "{line}");
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

#[test]
fn harmless_lines_are_not_failures() {
    let markers = Markers {
        success: vec![],
        error: vec!["❌".into(), "FAILED".into(), "ERROR".into()],
    };
    let rules = builtin();
    for line in HARMLESS {
        let report = scan_with(&rules, &markers, &[line.as_bytes()]);
        assert!(
            report.matches.is_empty(),
            "{line:?} matched {:?}",
            report.matches
        );
        assert!(
            report.error_markers.is_empty(),
            "{line:?} hit {:?}",
            report.error_markers
        );
    }
}

#[test]
fn builtin_rules_cover_every_class_with_the_design_retryability() {
    let set = RuleSet::builtin();
    for class in FailureClass::BUILTIN.iter() {
        assert!(
            set.rules().iter().any(|r| &r.class == class),
            "no rule for {class}"
        );
    }
    for r in set.rules() {
        assert_eq!(r.retryable, r.class.default_retryable(), "{}", r.id);
        assert_eq!(r.source, RuleSource::Builtin);
    }
    let non_retryable: Vec<&str> = FailureClass::BUILTIN
        .iter()
        .filter(|c| !c.default_retryable())
        .map(|c| c.as_str())
        .collect();
    assert_eq!(
        non_retryable,
        [
            "image_not_found",
            "auth_failed",
            "syntax_error",
            "data_test_failed",
            "data_error",
            "config_error",
            "schema_mismatch"
        ]
    );
}

#[test]
fn every_builtin_rule_has_prefilter_literals() {
    let set = RuleSet::builtin();
    for (r, pf) in set.rules().iter().zip(set.prefilters()) {
        assert!(
            matches!(pf, Prefilter::Literals(_)),
            "{} has no literal: {pf:?}",
            r.id
        );
    }
}

#[test]
fn every_builtin_rule_is_exercised() {
    let rules = RuleSet::builtin();
    let mut hit = std::collections::HashSet::new();
    let vendor = super::vendor::tests::REAL.iter().map(|(line, _, _)| line);
    for line in FAILURES.iter().map(|(line, _)| line).chain(vendor) {
        for m in scan(line.as_bytes()).matches {
            hit.insert(m.rule_id);
        }
    }
    let unused: Vec<&str> = rules
        .rules()
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !hit.contains(*id))
        .collect();
    // A few rules only back up a more specific one on the lines above.
    let allowed = [
        "generic-auth-failed",
        "mysql-table-full",
        "mysql-database-exists",
        "spark-table-exists",
        "java-unknown-host",
        "clickhouse-dns-failure",
        "mysql-file-not-found",
        "mysql-command-denied",
        "clickhouse-access-denied",
        "pg-must-be-owner",
        "java-file-not-found",
        "generic-out-of-memory",
        "generic-syntax-error",
        "generic-already-exists",
        "python-file-not-found",
        "docker-no-such-image",
    ];
    let unexpected: Vec<&&str> = unused.iter().filter(|id| !allowed.contains(id)).collect();
    assert!(
        unexpected.is_empty(),
        "rules never hit by the table: {unexpected:?}"
    );
}

#[test]
fn user_rules_take_priority_and_can_replace_a_builtin() {
    let user = vec![
        Rule {
            id: "ch-unknown-table".into(),
            class: FailureClass::Custom("clickhouse_schema".into()),
            pattern: r"Code: 60\. DB::Exception: Table \S+ doesn't exist".into(),
            retryable: false,
            source: RuleSource::Config,
        },
        Rule {
            id: "mysql-no-such-table".into(),
            class: FailureClass::NoSuchTable,
            pattern: r"ERROR 1146".into(),
            retryable: false,
            source: RuleSource::Config,
        },
    ];
    let set = Arc::new(RuleSet::with_user_rules(user).unwrap());
    assert_eq!(
        set.rules()
            .iter()
            .filter(|r| r.id == "mysql-no-such-table")
            .count(),
        1
    );
    let r = scan_with(&set, &Markers::default(), &[b"Code: 60. DB::Exception: Table default.x doesn't exist.\nERROR 1146 (42S02): Table 'a.b' doesn't exist\n"]);
    assert_eq!(r.matches[0].rule_id, "ch-unknown-table");
    assert_eq!(r.matches[0].class.as_str(), "clickhouse_schema");
    assert_eq!(r.matches[1].rule_id, "mysql-no-such-table");
    assert!(!r.matches[1].retryable);

    let dup = |id: &str| Rule {
        id: id.into(),
        class: FailureClass::Timeout,
        pattern: "x".into(),
        retryable: true,
        source: RuleSource::Config,
    };
    assert!(matches!(
        RuleSet::with_user_rules(vec![dup("a"), dup("a")]),
        Err(RuleError::DuplicateId { .. })
    ));
    let bad = Rule {
        pattern: "(".into(),
        ..dup("bad")
    };
    assert!(matches!(
        rules::compile(&bad),
        Err(RuleError::InvalidPattern { .. })
    ));
}

#[test]
fn user_rules_without_literals_still_match() {
    let user = vec![
        Rule {
            id: "short-code".into(),
            class: FailureClass::Custom("vendor".into()),
            pattern: r"^E\d{4}\b".into(),
            retryable: true,
            source: RuleSource::Config,
        },
        Rule {
            id: "anchored".into(),
            class: FailureClass::Custom("anchored".into()),
            pattern: r"\AZ\d\z".into(),
            retryable: true,
            source: RuleSource::Config,
        },
    ];
    let set = Arc::new(RuleSet::with_user_rules(user).unwrap());
    assert_eq!(set.prefilters()[0], Prefilter::Block);
    assert_eq!(set.prefilters()[1], Prefilter::EveryLine);
    let log = b"ok\nxE1234\nE1234 vendor failure\nZ1\nZZ1\n";
    for chunk in [1usize, 3, log.len()] {
        let chunks: Vec<&[u8]> = log.chunks(chunk).collect();
        let r = scan_with(&set, &Markers::default(), &chunks);
        let got: Vec<(u64, &str)> = r
            .matches
            .iter()
            .map(|m| (m.line, m.rule_id.as_str()))
            .collect();
        assert_eq!(got, [(3, "short-code"), (4, "anchored")], "chunk {chunk}");
    }
}

#[test]
fn markers_are_found_in_the_same_pass() {
    let markers = Markers {
        success: vec!["✅".into(), "SUCCESS".into(), "COMPLETADA".into()],
        error: vec!["❌".into(), "FAILED".into(), "ERROR".into()],
    };
    let log = "step 1 ✅\nERROR_LOG=/var/log/x\n[ERROR] load failed\nerrors: []\nETL COMPLETADA\nSUCCESSFUL? no\nstep 2 ❌ FAILED\nDEBUG ERROR ignored\nDone. PASS=4 WARN=0 ERROR=1 SKIP=0 TOTAL=5\nPASS=5 WARN=0 ERROR=0\n";
    let r = scan_with(&builtin(), &markers, &[log.as_bytes()]);
    let s: Vec<(u64, &str)> = r
        .success_markers
        .iter()
        .map(|h| (h.line, h.marker.as_str()))
        .collect();
    assert_eq!(s, [(1, "✅"), (5, "COMPLETADA")]);
    let e: Vec<(u64, &str)> = r
        .error_markers
        .iter()
        .map(|h| (h.line, h.marker.as_str()))
        .collect();
    assert_eq!(e, [(3, "ERROR"), (7, "❌"), (7, "FAILED"), (9, "ERROR")]);
    assert_eq!(r.error_markers[0].excerpt, "[ERROR] load failed");
}

fn sample_log() -> Vec<u8> {
    let mut log = Vec::new();
    for i in 0..300 {
        log.extend_from_slice(
            format!(
                "2025-01-09 12:00:{:02} INFO step {i} loaded {} rows ✅\r\n",
                i % 60,
                i * 7
            )
            .as_bytes(),
        );
        if i % 37 == 0 {
            log.extend_from_slice(FAILURES[i % FAILURES.len()].0.as_bytes());
            log.push(b'\n');
        }
        if i % 53 == 0 {
            log.extend_from_slice(
                b"\xff\xfe binary \x00 junk ERROR 1050 (42S01): Table 'x' already exists\n",
            );
        }
    }
    log.extend_from_slice(b"tail without newline: Connection refused");
    log
}

fn summary(r: &ScanReport) -> (Vec<Match>, u64, Vec<MarkerHit>, Vec<MarkerHit>, u64, u64) {
    (
        r.matches.clone(),
        r.total_matches,
        r.success_markers.clone(),
        r.error_markers.clone(),
        r.lines,
        r.bytes,
    )
}

#[test]
fn chunking_does_not_change_the_report() {
    let log = sample_log();
    let rules = builtin();
    let markers = Markers {
        success: vec!["✅".into()],
        error: vec!["ERROR".into()],
    };
    let whole = scan_with(&rules, &markers, &[&log]);
    assert!(whole.total_matches > 10);
    assert_eq!(whole.lines, 300 + 9 + 6 + 1);
    assert_eq!(
        whole.matches.last().unwrap().class,
        FailureClass::ConnectionRefused
    );
    for size in [1usize, 7, 4096] {
        let chunks: Vec<&[u8]> = log.chunks(size).collect();
        let got = scan_with(&rules, &markers, &chunks);
        assert_eq!(summary(&got), summary(&whole), "chunk size {size}");
    }
}

#[test]
fn line_numbers_count_every_line() {
    assert_eq!(scan(b"").lines, 0);
    assert_eq!(scan(b"a\n").lines, 1);
    assert_eq!(scan(b"a\nb").lines, 2);
    assert_eq!(scan(b"\n\n\n").lines, 3);
    let r = scan(b"\n\nKilled\n\n");
    assert_eq!((r.lines, r.matches[0].line), (4, 3));
}

#[test]
fn invalid_utf8_and_binary_do_not_panic() {
    let mut log: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    log.extend_from_slice(b"\n\xc3\x28 ERROR 1146 (42S02): Table 'a.b' doesn't exist \xe2\x82\n");
    let r = scan(&log);
    let m = r
        .matches
        .iter()
        .find(|m| m.class == FailureClass::NoSuchTable)
        .unwrap();
    assert!(m.excerpt.contains("ERROR 1146"));
    assert!(m.excerpt.chars().count() <= scan::MAX_EXCERPT + 1);
}

#[test]
fn a_huge_line_without_newline_keeps_memory_bounded_and_numbers_right() {
    let big = vec![b'x'; 10 << 20];
    let rules = builtin();
    for chunk in [64 * 1024, 1 << 20, big.len()] {
        let mut s = Scanner::new(rules.clone(), Arc::new(Markers::default()));
        s.feed(b"first line\n");
        for c in big.chunks(chunk) {
            s.feed(c);
        }
        s.feed(b" Connection refused far past the first window\n");
        s.feed(b"ERROR 1146 (42S02): Table 'etl.sales' doesn't exist\n");
        let r = s.finish();
        assert_eq!(r.lines, 3, "chunk {chunk}");
        assert_eq!(r.matches.len(), 2, "chunk {chunk}: {:?}", r.matches);
        assert_eq!(r.matches[0].line, 2);
        assert_eq!(r.matches[0].class, FailureClass::ConnectionRefused);
        assert_eq!(r.matches[1].line, 3);
        assert_eq!(r.matches[1].class, FailureClass::NoSuchTable);
    }
}

#[test]
fn the_carry_never_grows_past_the_examined_head() {
    let mut s = Scanner::new(builtin(), Arc::new(Markers::default()));
    let chunk = vec![b'y'; 1 << 20];
    for _ in 0..20 {
        s.feed(&chunk);
    }
    assert!(s.carry_len() <= scan::MAX_LINE);
    assert_eq!(s.finish().lines, 1);
}

#[test]
fn matches_are_bounded_but_all_counted() {
    let log = "Killed\n".repeat(1000);
    let r = scan(log.as_bytes());
    assert_eq!(r.matches.len(), scan::MAX_KEPT);
    assert_eq!(r.total_matches, 1000);
    let long = format!("ERROR 1064 (42000): {}\n", "é".repeat(10_000));
    let r = scan(long.as_bytes());
    assert!(r.matches[0].excerpt.chars().count() <= scan::MAX_EXCERPT + 1);
}

#[test]
fn primary_prefers_the_first_non_retryable_cause() {
    let r = scan(b"Connection refused\nsh: 1: foo: not found\nERROR 1064 (42000): You have an error in your SQL syntax\npull access denied for x\n");
    assert_eq!(r.primary().unwrap().class, FailureClass::SyntaxError);
    assert_eq!(
        r.classes(),
        [
            FailureClass::ConnectionRefused,
            FailureClass::FileNotFound,
            FailureClass::SyntaxError,
            FailureClass::ImageNotFound
        ]
    );
    // The OOM kill is the cause of the refused connection (see `cause`).
    let r = scan(b"Connection refused\nKilled\n");
    assert_eq!(r.primary().unwrap().class, FailureClass::OutOfMemory);
    assert!(scan(b"all fine\n").primary().is_none());
}
