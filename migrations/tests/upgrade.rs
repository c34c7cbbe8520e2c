//! Upgrading a database of the first release keeps every row.
//!
//! On SQLite and on PostgreSQL: only the first release's migrations are applied, every table is
//! filled through raw SQL (each kind of column, NULLs, Unicode, fractional seconds), then the
//! database is migrated to the current version. Every row must still be there with its values,
//! read back typed (as the entities read them) and compared column by column with a snapshot
//! taken before the upgrade; columns added since have their documented defaults. Nothing here
//! counts the migrations after the first release, so the test holds as new ones are appended.

use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    prelude::ChronoDateTimeUtc, ConnectionTrait, Database, DatabaseConnection, DbBackend,
    FromQueryResult, JsonValue, Statement, Value,
};
use std::collections::BTreeMap;

/// The migrations of the first release: m20261127_000001 … m20261127_000005.
const FIRST_RELEASE: u32 = 5;

/// A value as inserted, and as it must read back.
#[derive(Debug, Clone, Copy)]
enum V {
    I(i64),
    F(f64),
    S(&'static str),
    B(bool),
    /// A timestamp, RFC 3339.
    T(&'static str),
    N,
}
use V::{B, F, I, N, S, T};

const T1: &str = "2026-11-27T10:00:00+00:00";
const T2: &str = "2026-11-27T11:30:15.250+00:00";
const T3: &str = "2026-11-28T00:00:01.000123+00:00";
const T4: &str = "2026-12-01T09:00:00+00:00";
const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
const PROMPT_JSON: &str = r#"[{"role":"user","content":"What is 2+2?"}]"#;

struct Table {
    name: &'static str,
    /// The primary key columns (the snapshot's order, and how a row is found again).
    key: &'static [&'static str],
    columns: &'static [&'static str],
    rows: Vec<Vec<V>>,
}

/// One or more rows in every table of the first release, in foreign-key order.
fn first_release_rows() -> Vec<Table> {
    vec![
        Table {
            name: "users",
            key: &["id"],
            columns: &[
                "id",
                "username",
                "role",
                "password_hash",
                "active",
                "auth_epoch",
                "created_at",
            ],
            rows: vec![
                vec![I(1), S("admin"), S("admin"), S(HASH), B(true), I(0), T(T1)],
                vec![
                    I(2),
                    S("annotator-ñ"),
                    S("annotator"),
                    S(HASH),
                    B(false),
                    I(3),
                    T(T2),
                ],
                vec![
                    I(3),
                    S("reviewer"),
                    S("reviewer"),
                    S(HASH),
                    B(true),
                    I(1),
                    T(T1),
                ],
            ],
        },
        Table {
            name: "api_tokens",
            key: &["id"],
            columns: &[
                "id",
                "user_id",
                "name",
                "token_hash",
                "prefix",
                "created_at",
                "last_used_at",
                "revoked_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("ci token"),
                    S("7f3a9c"),
                    S("pw_ab12"),
                    T(T1),
                    T(T2),
                    N,
                ],
                vec![
                    I(2),
                    I(2),
                    S("old"),
                    S("0b1e44"),
                    S("pw_cd34"),
                    T(T1),
                    N,
                    T(T3),
                ],
            ],
        },
        Table {
            name: "sessions",
            key: &["id"],
            columns: &["id", "user_id", "data", "expires_at"],
            rows: vec![
                vec![S("sess-1"), I(1), S(r#"{"user":1,"csrf":"x"}"#), T(T4)],
                vec![S("sess-anon"), N, S("{}"), T(T4)],
            ],
        },
        Table {
            name: "projects",
            key: &["id"],
            columns: &["id", "name", "description", "created_by", "created_at"],
            rows: vec![
                vec![
                    I(1),
                    S("helpful-chat"),
                    S("Chat «assistant» data\nline two"),
                    I(1),
                    T(T1),
                ],
                vec![I(2), S("empty"), S(""), N, T(T2)],
            ],
        },
        Table {
            name: "prompts",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "external_id",
                "text",
                "messages",
                "source",
                "domain",
                "split",
                "metadata",
                "hash",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("ext-1"),
                    S("What is 2+2?"),
                    S(PROMPT_JSON),
                    S("gsm"),
                    S("math"),
                    S("train"),
                    S(r#"{"k":"v"}"#),
                    S("hash-p1"),
                    T(T1),
                ],
                vec![
                    I(2),
                    I(1),
                    N,
                    S("Say \"hi\" 'quoted' 🙂"),
                    N,
                    N,
                    N,
                    S("eval"),
                    S("{}"),
                    S("hash-p2"),
                    T(T2),
                ],
            ],
        },
        Table {
            name: "audit_log",
            key: &["id"],
            columns: &["id", "at", "actor_id", "action", "target", "detail"],
            rows: vec![
                vec![
                    I(1),
                    T(T1),
                    I(1),
                    S("project.create"),
                    S("project:1"),
                    S(r#"{"name":"helpful-chat"}"#),
                ],
                vec![I(2), T(T2), N, S("user.create"), S("user:2"), S("{}")],
            ],
        },
        Table {
            name: "pairs",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "hash",
                "prompt",
                "prompt_text",
                "chosen",
                "rejected",
                "strategy",
                "margin",
                "score_chosen",
                "score_rejected",
                "source",
                "provenance",
                "metadata",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("pair-hash-1"),
                    S(PROMPT_JSON),
                    S("What is 2+2?"),
                    S("4"),
                    S("5"),
                    S("imported"),
                    F(0.75),
                    F(1.5),
                    F(-0.25),
                    S("upload.jsonl"),
                    S(r#"{"file":"upload.jsonl"}"#),
                    S("{}"),
                    T(T1),
                ],
                vec![
                    I(2),
                    I(1),
                    S("pair-hash-2"),
                    S(PROMPT_JSON),
                    S("What is 2+2?"),
                    S("Four."),
                    S("Five?"),
                    S("best_of_n"),
                    N,
                    N,
                    N,
                    S("run:1"),
                    S("{}"),
                    S(r#"{"tag":"x"}"#),
                    T(T2),
                ],
            ],
        },
        Table {
            name: "dataset_versions",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "tag",
                "parent_id",
                "recipe",
                "content_hash",
                "pair_count",
                "created_by",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("v1"),
                    N,
                    S(r#"{"eval_fraction":0.1}"#),
                    S("sha256:abc"),
                    I(2),
                    I(1),
                    T(T2),
                ],
                vec![
                    I(2),
                    I(1),
                    S("v2"),
                    I(1),
                    S("{}"),
                    S("sha256:def"),
                    I(1),
                    N,
                    T(T3),
                ],
            ],
        },
        Table {
            name: "dataset_members",
            key: &["version_id", "position"],
            columns: &["version_id", "position", "pair_id"],
            rows: vec![
                vec![I(1), I(0), I(1)],
                vec![I(1), I(1), I(2)],
                vec![I(2), I(0), I(2)],
            ],
        },
        Table {
            name: "models",
            key: &["id"],
            columns: &[
                "id",
                "name",
                "kind",
                "path",
                "version",
                "device",
                "created_by",
                "created_at",
                "checked_at",
            ],
            rows: vec![vec![
                I(1),
                S("tiny"),
                S("generator"),
                S("/models/tiny"),
                S("sha256:m1"),
                S("cpu"),
                I(1),
                T(T1),
                T(T2),
            ]],
        },
        Table {
            name: "rubrics",
            key: &["id"],
            columns: &["id", "name", "version", "spec", "created_by", "created_at"],
            rows: vec![vec![
                I(10),
                S("strict"),
                I(2),
                S(r#"{"dimensions":[]}"#),
                I(1),
                T(T1),
            ]],
        },
        Table {
            name: "jobs",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "kind",
                "status",
                "payload",
                "total",
                "done",
                "tokens",
                "attempts",
                "max_attempts",
                "lease_owner",
                "lease_expires_at",
                "heartbeat_at",
                "error",
                "warnings",
                "summary",
                "created_by",
                "created_at",
                "started_at",
                "finished_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("generate"),
                    S("done"),
                    S(r#"{"n":4}"#),
                    I(8),
                    I(8),
                    I(1234),
                    I(1),
                    I(3),
                    N,
                    N,
                    N,
                    N,
                    S("[]"),
                    S(r#"{"ok":true}"#),
                    I(1),
                    T(T1),
                    T(T2),
                    T(T3),
                ],
                vec![
                    I(2),
                    I(1),
                    S("judge"),
                    S("running"),
                    S("{}"),
                    I(10),
                    I(3),
                    I(0),
                    I(2),
                    I(3),
                    S("worker-a"),
                    T(T4),
                    T(T3),
                    S("boom"),
                    S(r#"["w"]"#),
                    S("{}"),
                    N,
                    T(T2),
                    T(T3),
                    N,
                ],
            ],
        },
        Table {
            name: "candidates",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "job_id",
                "prompt_id",
                "path",
                "idx",
                "transform",
                "text",
                "params",
                "seed",
                "model_version",
                "provider",
                "finish_reason",
                "token_count",
                "mean_logprob",
                "prefill_ms",
                "decode_ms",
                "ref_logprob",
                "ref_model_version",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    I(1),
                    I(1),
                    S("sample"),
                    I(0),
                    N,
                    S("4"),
                    S(r#"{"temperature":0.7}"#),
                    S("42"),
                    S("sha256:m1"),
                    S("onnx"),
                    S("stop"),
                    I(3),
                    F(-0.5),
                    F(12.5),
                    F(40.25),
                    N,
                    N,
                    T(T2),
                ],
                vec![
                    I(2),
                    I(1),
                    I(1),
                    I(1),
                    S("sample"),
                    I(1),
                    S("paraphrase"),
                    S("5"),
                    S("{}"),
                    S("43"),
                    S("sha256:m1"),
                    S("onnx"),
                    S("length"),
                    I(64),
                    F(-1.75),
                    F(12.5),
                    F(300.0),
                    F(-2.5),
                    S("sha256:ref"),
                    T(T2),
                ],
            ],
        },
        Table {
            name: "judgments",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "job_id",
                "rubric_id",
                "mode",
                "item_key",
                "candidate_id",
                "other_candidate_id",
                "scores",
                "overall",
                "winner_ab",
                "winner_ba",
                "consistent",
                "needs_review",
                "parse_ok",
                "attempts",
                "raw_output",
                "judge_version",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    I(2),
                    I(10),
                    S("pairwise"),
                    S("c1-c2"),
                    I(1),
                    I(2),
                    N,
                    N,
                    S("a"),
                    S("b"),
                    B(false),
                    B(true),
                    B(true),
                    I(1),
                    S("A"),
                    S("judge:1"),
                    T(T3),
                ],
                // Rubric 1 is the built-in `default` the first release inserts.
                vec![
                    I(2),
                    I(1),
                    I(2),
                    I(1),
                    S("pointwise"),
                    S("c1"),
                    I(1),
                    N,
                    S(r#"{"helpful":0.5}"#),
                    F(0.625),
                    N,
                    N,
                    N,
                    B(false),
                    B(false),
                    I(2),
                    S("garbage"),
                    S("judge:1"),
                    T(T3),
                ],
            ],
        },
        Table {
            name: "annotation_settings",
            key: &["project_id"],
            columns: &[
                "project_id",
                "overlap",
                "repeat_rate",
                "gold_rate",
                "max_pending",
                "lease_seconds",
                "kappa_threshold",
                "updated_at",
            ],
            rows: vec![vec![
                I(1),
                I(3),
                F(0.1),
                F(0.05),
                I(3),
                I(600),
                F(0.6),
                T(T1),
            ]],
        },
        Table {
            name: "comparisons",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "hash",
                "prompt",
                "prompt_text",
                "answer_x",
                "answer_y",
                "source",
                "pair_id",
                "judgment_id",
                "rank",
                "reference_label",
                "reference",
                "gold_answer",
                "redteam",
                "saturated",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("cmp-hash-1"),
                    S(PROMPT_JSON),
                    S("What is 2+2?"),
                    S("4"),
                    S("5"),
                    S("pair"),
                    I(1),
                    N,
                    F(0.5),
                    S("x"),
                    S("pair:1"),
                    N,
                    B(false),
                    B(true),
                    T(T1),
                ],
                vec![
                    I(2),
                    I(1),
                    S("cmp-hash-2"),
                    S(PROMPT_JSON),
                    S("What is 2+2?"),
                    S("Four."),
                    S("Five?"),
                    S("judgment"),
                    N,
                    I(1),
                    F(0.25),
                    N,
                    N,
                    S("y"),
                    B(true),
                    B(false),
                    T(T2),
                ],
            ],
        },
        Table {
            name: "assignments",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "comparison_id",
                "annotator_id",
                "kind",
                "slot",
                "left_side",
                "repeat_of",
                "status",
                "skip_reason",
                "lease_expires_at",
                "created_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    I(1),
                    I(2),
                    S("main"),
                    I(0),
                    S("x"),
                    N,
                    S("voted"),
                    N,
                    T(T4),
                    T(T2),
                ],
                vec![
                    I(2),
                    I(1),
                    I(1),
                    I(2),
                    S("repeat"),
                    N,
                    S("y"),
                    I(1),
                    S("pending"),
                    N,
                    T(T4),
                    T(T2),
                ],
                vec![
                    I(3),
                    I(1),
                    I(2),
                    I(3),
                    S("gold"),
                    N,
                    S("x"),
                    N,
                    S("skipped"),
                    S("distressing"),
                    T(T4),
                    T(T3),
                ],
            ],
        },
        Table {
            name: "votes",
            key: &["id"],
            columns: &[
                "id",
                "assignment_id",
                "project_id",
                "comparison_id",
                "annotator_id",
                "kind",
                "left_side",
                "choice",
                "label",
                "dimensions",
                "rationale",
                "duration_ms",
                "created_at",
            ],
            rows: vec![vec![
                I(1),
                I(1),
                I(1),
                I(1),
                I(2),
                S("main"),
                S("x"),
                S("a"),
                S("x"),
                S(r#"{"helpful":"a"}"#),
                S("clearer «answer»"),
                I(4200),
                T(T3),
            ]],
        },
        Table {
            name: "annotator_prefs",
            key: &["user_id"],
            columns: &["user_id", "redteam_opt_out", "updated_at"],
            rows: vec![vec![I(2), B(true), T(T2)]],
        },
        Table {
            name: "quarantines",
            key: &["id"],
            columns: &[
                "id",
                "project_id",
                "subject_kind",
                "subject_id",
                "metric",
                "reason",
                "created_at",
                "released_by",
                "released_at",
            ],
            rows: vec![
                vec![
                    I(1),
                    I(1),
                    S("annotator"),
                    I(2),
                    F(0.31),
                    S("kappa below 0.6"),
                    T(T3),
                    I(1),
                    T(T4),
                ],
                vec![
                    I(2),
                    I(1),
                    S("item"),
                    I(2),
                    N,
                    S("gold mismatch"),
                    T(T3),
                    N,
                    N,
                ],
            ],
        },
    ]
}

/// Columns added after the first release, with their documented value on rows that existed
/// before (`null`: "rows written before this migration keep NULL"). Columns added later and not
/// listed here are checked against the default the schema declares.
fn documented_new_columns() -> Vec<(&'static str, &'static str, JsonValue)> {
    vec![
        // m20261127_000006: versions frozen before keep NULL and derive the split on read.
        ("dataset_members", "split", JsonValue::Null),
        // m20261129_000007: entries written before keep NULL in both columns.
        ("audit_log", "actor_name", JsonValue::Null),
        ("audit_log", "project", JsonValue::Null),
        // m20261206_000012: projects keep the default reading speed, and the gate leaves fast votes
        // alone until a reviewer says otherwise.
        (
            "annotation_settings",
            "fast_vote_chars_per_s",
            serde_json::json!(60.0),
        ),
        (
            "annotation_settings",
            "gate_fast_votes",
            JsonValue::Bool(false),
        ),
    ]
}

/// New columns whose value on an old row depends on the row: m20261210_000018 counts each
/// item's main votes that hold a slot (item 1: a voted main showing in slot 0 and a pending
/// repeat; item 2: a skipped gold showing).
fn documented_row_values(
    table: &str,
    column: &str,
    row: &serde_json::Map<String, JsonValue>,
) -> Option<JsonValue> {
    match (table, column) {
        ("comparisons", "main_votes") => match row.get("id").and_then(JsonValue::as_i64) {
            Some(1) => Some(serde_json::json!(1)),
            Some(2) => Some(serde_json::json!(0)),
            other => panic!("no documented main_votes for item {other:?}"),
        },
        _ => None,
    }
}

fn ts(s: &str) -> ChronoDateTimeUtc {
    s.parse().expect("an RFC 3339 timestamp")
}

fn stmt(db: &DatabaseConnection, sql: String, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(db.get_database_backend(), sql, values)
}

fn placeholder(db: &DatabaseConnection, n: usize) -> String {
    match db.get_database_backend() {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    }
}

async fn insert(db: &DatabaseConnection, t: &Table) {
    for row in &t.rows {
        assert_eq!(row.len(), t.columns.len(), "{}: a row of the test", t.name);
        let mut values = Vec::new();
        let mut exprs = Vec::new();
        for v in row {
            let value = match *v {
                I(i) => Value::from(i),
                F(f) => Value::from(f),
                S(s) => Value::from(s.to_owned()),
                B(b) => Value::from(b),
                T(s) => Value::from(ts(s)),
                N => {
                    exprs.push("NULL".to_owned());
                    continue;
                }
            };
            values.push(value);
            exprs.push(placeholder(db, values.len()));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            t.name,
            t.columns.join(", "),
            exprs.join(", ")
        );
        db.execute_raw(stmt(db, sql.clone(), values))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// Reads every inserted row again by its key, typed, and compares each value.
async fn check_values(db: &DatabaseConnection, t: &Table, when: &str) {
    let backend = db.get_database_backend();
    for row in &t.rows {
        let select: Vec<String> = t
            .columns
            .iter()
            .zip(row)
            .enumerate()
            .map(|(i, (c, v))| match v {
                // PostgreSQL keeps `integer` and `bigint` apart; read both as i64.
                I(_) => format!("CAST({c} AS BIGINT) AS c{i}"),
                N => format!("CASE WHEN {c} IS NULL THEN 1 ELSE 0 END AS c{i}"),
                _ => format!("{c} AS c{i}"),
            })
            .collect();
        let mut values = Vec::new();
        let mut filter = Vec::new();
        for k in t.key {
            let i = t.columns.iter().position(|c| c == k).expect("key column");
            values.push(match row[i] {
                I(v) => Value::from(v),
                S(v) => Value::from(v.to_owned()),
                other => panic!("unexpected key {other:?}"),
            });
            filter.push(format!("{k} = {}", placeholder(db, values.len())));
        }
        let sql = format!(
            "SELECT {} FROM {} WHERE {}",
            select.join(", "),
            t.name,
            filter.join(" AND ")
        );
        let found = db
            .query_one_raw(stmt(db, sql.clone(), values))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{backend:?} {when}: a row of {} is gone: {row:?}", t.name));
        for (i, (c, v)) in t.columns.iter().zip(row).enumerate() {
            let col = format!("c{i}");
            let at = format!("{backend:?} {when}: {}.{c} of {row:?}", t.name);
            match *v {
                I(e) => assert_eq!(found.try_get::<i64>("", &col).expect(&at), e, "{at}"),
                F(e) => assert_eq!(found.try_get::<f64>("", &col).expect(&at), e, "{at}"),
                S(e) => assert_eq!(found.try_get::<String>("", &col).expect(&at), e, "{at}"),
                B(e) => assert_eq!(found.try_get::<bool>("", &col).expect(&at), e, "{at}"),
                T(e) => assert_eq!(
                    found.try_get::<ChronoDateTimeUtc>("", &col).expect(&at),
                    ts(e),
                    "{at}"
                ),
                N => assert_eq!(found.try_get::<i32>("", &col).expect(&at), 1, "{at}"),
            }
        }
    }
}

/// Every row of `table` as JSON objects, in key order.
async fn snapshot(db: &DatabaseConnection, table: &str, key: &[&str]) -> Vec<JsonValue> {
    let sql = format!("SELECT * FROM {table} ORDER BY {}", key.join(", "));
    JsonValue::find_by_statement(stmt(db, sql.clone(), vec![]))
        .all(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Column name → declared default expression (`None`: no default) of `table`.
async fn declared_defaults(
    db: &DatabaseConnection,
    table: &str,
) -> BTreeMap<String, Option<String>> {
    let sql = match db.get_database_backend() {
        DbBackend::Postgres => format!(
            "SELECT column_name::text AS name, column_default::text AS dflt FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        _ => format!("SELECT name, dflt_value AS dflt FROM pragma_table_info('{table}')"),
    };
    db.query_all_raw(stmt(db, sql.clone(), vec![]))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .map(|r| {
            (
                r.try_get::<String>("", "name").expect("name"),
                r.try_get::<Option<String>>("", "dflt").expect("default"),
            )
        })
        .collect()
}

/// Two JSON values of one column are the same value (SQLite reports booleans as 0/1 and may
/// type a literal default as an integer where the column holds a real).
fn same(a: &JsonValue, b: &JsonValue) -> bool {
    let num = |v: &JsonValue| match v {
        JsonValue::Bool(b) => Some(f64::from(u8::from(*b))),
        JsonValue::Number(n) => n.as_f64(),
        _ => None,
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The value a column added later must have on a row written before it: the documented one,
/// else the declared default (`None` where that default is not a constant, e.g. the time).
async fn expected_new_value(
    db: &DatabaseConnection,
    table: &str,
    column: &str,
    default: Option<&str>,
) -> Option<JsonValue> {
    if let Some((_, _, v)) = documented_new_columns()
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
    {
        return Some(v.clone());
    }
    let Some(default) = default else {
        return Some(JsonValue::Null);
    };
    let lower = default.to_ascii_lowercase();
    if ["now", "current", "nextval", "random"]
        .iter()
        .any(|f| lower.contains(f))
    {
        eprintln!("{table}.{column}: default `{default}` is not a constant; not compared");
        return None;
    }
    let sql = format!("SELECT {default} AS v");
    let row = JsonValue::find_by_statement(stmt(db, sql.clone(), vec![]))
        .one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .expect("one row");
    Some(row["v"].clone())
}

/// The whole test on the (empty) database at `url`.
async fn upgrade_keeps_every_row(url: &str) {
    let old_release = Database::connect(url).await.expect("open the database");
    let db = &old_release;
    let backend = db.get_database_backend();
    Migrator::up(db, Some(FIRST_RELEASE))
        .await
        .expect("first release migrations");
    let applied = Migrator::get_applied_migrations(db).await.expect("applied");
    assert_eq!(
        applied
            .iter()
            .map(|m| m.name().to_owned())
            .collect::<Vec<_>>(),
        [
            "m20261127_000001_create_accounts",
            "m20261127_000002_create_projects_and_prompts",
            "m20261127_000003_create_pairs_and_datasets",
            "m20261127_000004_create_pipeline",
            "m20261127_000005_create_annotation",
        ],
        "{backend:?}: the first release"
    );

    let tables = first_release_rows();
    for t in &tables {
        insert(db, t).await;
    }
    let mut before = Vec::new();
    for t in &tables {
        check_values(db, t, "before the upgrade").await;
        let rows = snapshot(db, t.name, t.key).await;
        // Only the built-in `default` rubric was there before the rows of this test.
        let builtin = usize::from(t.name == "rubrics");
        assert_eq!(
            rows.len(),
            t.rows.len() + builtin,
            "{backend:?}: {}",
            t.name
        );
        before.push(rows);
    }

    // The new release opens the database afresh (prepared statements of the old schema would
    // not survive the change of their tables) and upgrades it.
    old_release.close().await.expect("close");
    let new_release = Database::connect(url)
        .await
        .expect("open the database again");
    let db = &new_release;
    Migrator::up(db, None)
        .await
        .expect("upgrade to the current version");
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .expect("pending")
            .is_empty(),
        "{backend:?}"
    );
    assert_eq!(
        Migrator::get_applied_migrations(db)
            .await
            .expect("applied")
            .len(),
        Migrator::migrations().len(),
        "{backend:?}: every migration applied"
    );

    let mut new_columns = Vec::new();
    for (t, old) in tables.iter().zip(&before) {
        check_values(db, t, "after the upgrade").await;
        let now = snapshot(db, t.name, t.key).await;
        assert_eq!(now.len(), old.len(), "{backend:?}: rows of {}", t.name);
        let defaults = declared_defaults(db, t.name).await;
        for (old, now) in old.iter().zip(&now) {
            let (old, now) = (
                old.as_object().expect("a row object"),
                now.as_object().expect("a row object"),
            );
            for (column, value) in old {
                assert_eq!(
                    now.get(column),
                    Some(value),
                    "{backend:?}: {}.{column} changed in {old:?}",
                    t.name
                );
            }
            for (column, value) in now.iter().filter(|(c, _)| !old.contains_key(*c)) {
                let default = defaults.get(column).cloned().flatten();
                let expected = match documented_row_values(t.name, column, now) {
                    Some(v) => Some(v),
                    None => expected_new_value(db, t.name, column, default.as_deref()).await,
                };
                if let Some(expected) = expected {
                    assert!(
                        same(value, &expected),
                        "{backend:?}: new column {}.{column} is {value} on an old row, \
                         expected {expected} (default {default:?})",
                        t.name
                    );
                }
                new_columns.push(format!("{}.{column}", t.name));
            }
        }
    }
    for (table, column, _) in documented_new_columns() {
        assert!(
            new_columns.contains(&format!("{table}.{column}")),
            "{backend:?}: {table}.{column} was not added by the upgrade"
        );
    }
    // Migrating again changes nothing.
    Migrator::up(db, None).await.expect("re-migrate");
    new_release.close().await.expect("close");
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}_{nanos}", std::process::id())
}

#[tokio::test]
async fn sqlite_database_of_the_first_release_upgrades_with_every_row() {
    let path = std::env::temp_dir().join(format!("pairwise-upgrade-{}.db", unique_suffix()));
    upgrade_keeps_every_row(&format!("sqlite://{}?mode=rwc", path.display())).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn postgres_database_of_the_first_release_upgrades_with_every_row() {
    let admin_url = std::env::var("PAIRWISE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let admin = Database::connect(&admin_url)
        .await
        .expect("PostgreSQL must run on 127.0.0.1:5432 (make setup starts it)");
    let name = format!("pairwise_upgrade_{}", unique_suffix());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url.as_str(), |(base, _)| base);
    upgrade_keeps_every_row(&format!("{base}/{name}")).await;
    let _ = admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    admin.close().await.ok();
}
