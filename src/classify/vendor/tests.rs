//! Each second-round rule against the real lines it was written from:
//! (line, class, subject). "pg15" = produced here by psql 15.20 against
//! PostgreSQL 15.20 (`-v VERBOSITY=verbose`); "py311" = produced here by
//! Python 3.11.7 (sqlite3 module, builtins); "duckdb2" = produced here by
//! the duckdb 2.0.1 Python package; URLs are the public threads quoting them.

use crate::classify::{RuleSet, Scanner};
use std::sync::Arc;

/// (real line, class of the primary, subject)
pub(crate) const REAL: &[(&str, &str, Option<&str>)] = &[
    // --- issue 12's dbt + PostgreSQL lines, pg15 -----------------------------
    (r#"psql:t.sql:4: ERROR:  42703: column "first_name" of relation "raw_customers" does not exist"#, "schema_mismatch", Some("first_name")),
    (r#"psql:t.sql:3: ERROR:  42703: column "first_name" does not exist"#, "schema_mismatch", Some("first_name")),
    (r#"psql: error: connection to server at "127.0.0.1", port 55432 failed: FATAL:  database "jaffle_nope" does not exist"#, "config_error", Some("jaffle_nope")),
    (r#"psql: error: connection to server at "127.0.0.1", port 55432 failed: server does not support SSL, but SSL was required"#, "config_error", None),
    ("psql:t.sql:6: ERROR:  22012: division by zero", "data_error", None),
    (r#"psql:t.sql:7: ERROR:  22P02: invalid input syntax for type integer: "abc""#, "data_error", None),
    ("psql:t.sql:13: ERROR:  25006: cannot execute CREATE VIEW in a read-only transaction", "permission_denied", None),
    ("psql:t.sql:11: ERROR:  42883: function no_such_fn(integer) does not exist", "syntax_error", Some("no_such_fn(integer)")),
    // --- more pg15 ---------------------------------------------------------------
    (r#"psql:t.sql:10: ERROR:  23502: null value in column "id" of relation "raw_customers" violates not-null constraint"#, "data_error", Some("id")),
    (r#"psql:t.sql:15: ERROR:  23514: new row for relation "t2" violates check constraint "t2_a_check""#, "data_error", Some("t2_a_check")),
    (r#"ERROR:  insert or update on table "chi" violates foreign key constraint "chi_p_fkey""#, "data_error", Some("chi_p_fkey")),
    (r#"psql:t.sql:17: ERROR:  22008: date/time field value out of range: "2024-13-45""#, "data_error", None),
    (r#"psql:t.sql:18: ERROR:  22003: value "99999999999" is out of range for type integer"#, "data_error", None),
    ("ERROR:  55P03: canceling statement due to lock timeout", "lock_conflict", None),
    (r#"ERROR:  55P03: could not obtain lock on relation "raw_customers""#, "lock_conflict", Some("raw_customers")),
    ("ERROR:  deadlock detected", "lock_conflict", None),
    ("ERROR:  57014: canceling statement due to statement timeout", "timeout", None),
    (r#"ERROR:  42710: replication slot "debezium" already exists"#, "duplicate_connector", Some("debezium")),
    ("ERROR:  permission denied for table raw_customers", "permission_denied", Some("raw_customers")),
    (r#"ERROR:  unrecognized configuration parameter "statement_timeoutx""#, "config_error", Some("statement_timeoutx")),
    (r#"ERROR:  invalid value for parameter "work_mem": "abc""#, "config_error", Some("work_mem")),
    ("ERROR:  operator does not exist: integer = text", "schema_mismatch", None),
    (r#"ERROR:  column "a" is of type integer but expression is of type text"#, "schema_mismatch", Some("a")),
    (r#"psql: error: connection to server at "127.0.0.1", port 55432 failed: FATAL:  role "nobody" does not exist"#, "auth_failed", Some("nobody")),
    (r#"psql:t.sql:12: ERROR:  42P01: relation "nope" does not exist"#, "no_such_table", Some("nope")),
    // --- py311 ---------------------------------------------------------------------
    ("sqlite3.IntegrityError: NOT NULL constraint failed: t.a", "data_error", Some("t.a")),
    ("sqlite3.IntegrityError: CHECK constraint failed: b>0", "data_error", None),
    ("sqlite3.OperationalError: no such column: nope", "schema_mismatch", Some("nope")),
    ("sqlite3.OperationalError: table t has no column named zz", "schema_mismatch", Some("zz")),
    ("sqlite3.OperationalError: database is locked", "lock_conflict", None),
    ("ValueError: invalid literal for int() with base 10: 'abc'", "data_error", None),
    ("ZeroDivisionError: division by zero", "data_error", None),
    ("ValueError: could not convert string to float: 'x1'", "data_error", None),
    ("json.decoder.JSONDecodeError: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)", "syntax_error", None),
    ("yaml.scanner.ScannerError: mapping values are not allowed here", "syntax_error", None),
    ("FileNotFoundError: [Errno 2] No such file or directory: 'data/sales.csv'", "file_not_found", Some("data/sales.csv")),
    // --- duckdb2 -------------------------------------------------------------------
    ("_duckdb.CatalogException: Catalog Error: Table with name nope does not exist!", "no_such_table", Some("nope")),
    (r#"_duckdb.BinderException: Binder Error: Referenced column "zz" not found in FROM clause!"#, "schema_mismatch", Some("zz")),
    ("_duckdb.ConversionException: Conversion Error: Could not convert string 'abc' to INT32", "data_error", None),
    ("_duckdb.InvalidInputException: Invalid Input Error: Division by zero in expression (1 // 0). Use TRY(...) to return NULL for this expression, or SET error_on_division_by_zero=false to return NULL for all divisions by zero.", "data_error", None),
    // https://github.com/trinodb/trino/issues/25802
    (r#"SQL Error [67108864]: Query failed (#20250515_102353_00010_dqcgj): IO Error: Could not set lock on file "/storage/my_db.duckdb": Conflicting lock is held in PID 0. See also https://duckdb.org/docs/connect/concurrency"#, "lock_conflict", Some("/storage/my_db.duckdb")),
    // https://github.com/duckdb/duckdb/issues/6477
    (r#"Error: unable to open database "./water.duckdb": IO Error: Could not set lock on file "./water.duckdb": Resource temporarily unavailable"#, "lock_conflict", Some("./water.duckdb")),
    // --- replication slots, binlog readers ----------------------------------------
    // https://github.com/apache/flink-cdc/issues/1058
    (r#"org.postgresql.util.PSQLException: ERROR: replication slot "test_cc" is active for PID 79319"#, "duplicate_connector", Some("test_cc")),
    // https://github.com/apache/flink-cdc/issues/65
    ("Caused by: io.debezium.DebeziumException: Creation of replication slot failed; when setting up multiple connectors for the same database host, please make sure to use a distinct replication slot name for each", "duplicate_connector", None),
    // https://github.com/alibaba/canal/issues/644
    ("pid:31 nid:11 exception:canal:MiddleEast:java.io.IOException: Received error packet: errno = 1236, sqlstate = HY000 errmsg = A slave with the same server_uuid/server_id as this slave has connected to the master; the first event 'mysql-bin.000011' at 77235, the last event read from './mysql-bin.000012' at 150, the last byte read from './mysql-bin.000012' at 150.", "duplicate_connector", None),
    // https://github.com/go-mysql-org/go-mysql-elasticsearch/issues/388
    ("[2021/02/03 10:56:50] [error] binlogstreamer.go:77 close sync with err: ERROR 1236 (HY000): A slave with the same server_uuid/server_id as this slave has connected to the master; the first event 'mysql-bin.000470' at 775402324, the last event read from './mysql-bin.000470' at 882910125, the last byte read from './mysql-bin.000470' at 882910125.", "duplicate_connector", None),
    // --- warehouses ------------------------------------------------------------------
    // https://github.com/mozilla/bigquery-etl/issues/1698
    ("google.api_core.exceptions.NotFound: 404 Not found: Table moz-fx-data-shared-prod:telemetry_derived.scalar_percentiles_v1 was not found in location US", "no_such_table", Some("moz-fx-data-shared-prod:telemetry_derived.scalar_percentiles_v1")),
    // https://github.com/mozilla/bigquery-etl/issues/1400
    ("google.api_core.exceptions.NotFound: 404 Not found: Dataset moz-fx-data-derived-datasets:map was not found in location US", "no_such_table", Some("moz-fx-data-derived-datasets:map")),
    // https://github.com/vdesabou/kafka-docker-playground/issues/7348
    ("Object 'PGDBRUNNER810.PUBLIC.FOO' does not exist or not authorized.", "no_such_table", Some("PGDBRUNNER810.PUBLIC.FOO")),
    // https://github.com/sodadata/soda-core/issues/1436
    ("  | Schema 'database_name.schema_name' does not exist or not authorized.", "no_such_table", Some("database_name.schema_name")),
    // https://github.com/slingdata-io/sling-cli/issues/458
    ("Insufficient privileges to operate on database 'DEV_TIM_SHARE_DB'", "permission_denied", Some("DEV_TIM_SHARE_DB")),
    // https://github.com/googlecodelabs/feedback/issues/1066
    ("Forbidden: 403 Access Denied: Table hcls-testing-data:fhir_20k_patients_analytics.Encounter: User does not have permission to query table hcls-testing-data:fhir_20k_patients_analytics.Encounter.", "permission_denied", Some("hcls-testing-data:fhir_20k_patients_analytics.Encounter")),
    // https://github.com/kubernetes/k8s.io/issues/2729
    ("> Access Denied: Project kubernetes-public: User does not have bigquery.jobs.create permission in project kubernetes-public.", "permission_denied", Some("kubernetes-public")),
    // https://github.com/GoogleCloudDataproc/spark-bigquery-connector/issues/478
    ("Exception in thread \"main\" com.google.cloud.spark.bigquery.repackaged.com.google.cloud.bigquery.BigQueryException: Access Denied: Table project.dataset.table: Permission bigquery.tables.get denied on table project.dataset.table (or it may not exist).", "permission_denied", Some("project.dataset.table")),
    // https://github.com/Snowflake-Labs/semantic-model-generator/issues/221
    ("ProgrammingError: 000630 (57014): Statement reached its statement or warehouse timeout of 120 second(s) and was canceled.", "timeout", None),
    // https://github.com/lightdash/lightdash/issues/663
    ("invalid identifier 'ORDERS_UNIQUE_ORDER_COUNT'", "schema_mismatch", Some("ORDERS_UNIQUE_ORDER_COUNT")),
    // https://github.com/Meaningful-Data/vtlengine/issues/988
    (r#" Execution error: Binder Error: Referenced column "Me_str" not found in FROM clause!"#, "schema_mismatch", Some("Me_str")),
    // https://github.com/databrickslabs/overwatch/issues/1063
    ("[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column or function parameter with name `warehouse_state` cannot be resolved. Did you mean one of the following? [`warehouse_name`, `warehouse_type`, `warehouse_id`, `requestId`, `workspace_name`];", "schema_mismatch", Some("warehouse_state")),
    // https://github.com/tx7do/go-wind-admin/issues/9
    ("Error 1054 (42S22): Unknown column 'users.create_by' in 'field list'", "schema_mismatch", Some("users.create_by")),
    // https://github.com/apache/spark/pull/21727
    ("org.apache.spark.SparkException: Could not execute broadcast in 1 secs. You can increase the timeout for broadcasts via spark.sql.broadcastTimeout or disable broadcast join by setting spark.sql.autoBroadcastJoinThreshold to -1", "timeout", None),
    // https://github.com/confluentinc/schema-registry/issues/443
    ("Caused by: io.confluent.kafka.schemaregistry.client.rest.exceptions.RestClientException: Schema being registered is incompatible with the latest schema; error code: 409", "schema_mismatch", None),
    // --- credentials ---------------------------------------------------------------
    // https://github.com/docmost/docmost/issues/365
    ("ReplyError: WRONGPASS invalid username-password pair or user is disabled.", "auth_failed", None),
    // https://github.com/lujiajing1126/redis-cli/issues/54
    ("(error) Ready check failed: NOAUTH Authentication required.", "auth_failed", None),
    // https://github.com/didi/KnowStreaming/issues/878
    ("org.apache.kafka.common.errors.SaslAuthenticationException: Authentication failed due to invalid credentials with SASL mechanism SCRAM-SHA-512", "auth_failed", None),
    // https://github.com/canonical/kafka-operator/pull/493
    ("Error: 58] SaslAuthenticationFailedError: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512", "auth_failed", None),
    // --- dbt and configuration ------------------------------------------------------
    // https://github.com/sqlfluff/sqlfluff/issues/1042
    ("  Could not find profile named 'default'", "config_error", Some("default")),
    // https://github.com/dbt-labs/dbt-core/issues/2292
    ("  dbt cannot run because no profile was specified for this dbt project.", "config_error", None),
    // https://github.com/ClassmateLin/dm-ticket/issues/238
    ("ERROR: yaml.scanner.ScannerError: mapping values are not allowed here", "syntax_error", None),
    // https://github.com/dbt-labs/dbt-core/issues/4051
    ("Got 1 result, configured to fail if  != 0", "data_test_failed", None),
    // --- platforms ------------------------------------------------------------------
    // https://github.com/squat/kilo/issues/329
    ("The node was low on resource: memory. Container kilo was using 30332Ki, which exceeds its request of 0.", "out_of_memory", None),
    // https://github.com/CreditTone/mitmproxy-java/issues/2
    ("\tstatus = StatusCode.UNAVAILABLE", "connection_refused", None),
    // https://github.com/bushidocodes/chord-grpc/issues/41
    ("Error: 14 UNAVAILABLE: failed to connect to all addresses", "connection_refused", None),
    // --- from the team's corpus (fixtures/corpus/lines, split=tune) -----------
    // https://github.com/bitnami/charts/issues/8186
    ("psycopg2.OperationalError: could not connect to server: Connection timed out", "timeout", None),
    // https://github.com/dbt-labs/dbt-core/issues/4947
    ("  Env var required but not provided: 'DATABRICKS_HOST'", "config_error", Some("DATABRICKS_HOST")),
    // produced by Docker Engine 28.2.2 CLI, docker exec on a missing container
    ("Error response from daemon: No such container: h4a-missing", "file_not_found", Some("h4a-missing")),
    // https://github.com/coleam00/ai-agents-masterclass/issues/7
    ("Error response from daemon: Ports are not available: exposing port TCP 0.0.0.0:5432 -> 0.0.0.0:0: listen tcp 0.0.0.0:5432: bind: Only one usage of each socket address (protocol/network address/port) is normally permitted.", "port_in_use", Some("0.0.0.0:5432")),
    // https://github.com/kubernetes/kubernetes/pull/7981
    ("                      bar1           fooimage1                                   Waiting                    Error: image library/fooimage1:latest not found", "image_not_found", Some("library/fooimage1:latest")),
    // https://github.com/kubernetes/kubernetes/issues/91600
    ("Message:        The node was low on resource: ephemeral-storage. Container ebaogi-bff-app was using 34260Ki, which exceeds its request of 0.", "disk_full", None),
    // produced by Docker Engine 28.2.2, `docker events` for a container over its memory limit
    ("2026-12-01T17:53:01.982239266Z container oom 0a27f2d2faa44e344019fc42ab11887466d07b0c4ce4437a40bd0eb469695965 (image=h4a-corpus/busybox:1, name=h4a-oom)", "out_of_memory", None),
    // produced by OpenJDK 17.0.15 reading a missing file
    ("Exception in thread \"main\" java.nio.file.NoSuchFileException: conf/etl.properties", "file_not_found", Some("conf/etl.properties")),
];

fn primary(line: &str) -> Option<crate::classify::Match> {
    let mut s = Scanner::new(Arc::new(RuleSet::builtin()), Default::default());
    s.feed(line.as_bytes());
    s.feed(b"\n");
    s.finish().primary().cloned()
}

#[test]
fn every_real_line_gets_its_class_and_subject() {
    let mut wrong = Vec::new();
    for (line, class, subject) in REAL {
        let got = primary(line);
        let shown = got
            .as_ref()
            .map(|m| (m.class.to_string(), m.rule_id.clone(), m.subject.clone()));
        let ok = got
            .as_ref()
            .is_some_and(|m| m.class.as_str() == *class && m.subject.as_deref() == *subject);
        if !ok {
            wrong.push(format!("{line:?}: want {class} {subject:?}, got {shown:?}"));
        }
    }
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}
