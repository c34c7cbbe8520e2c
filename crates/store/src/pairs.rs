//! Preference pairs: batched inserts that skip duplicates (same stable hash in the project).

use crate::{entities::pair, error::Result};
use pairwise_core::{pair_hash, ChatMessage, PairRecord};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, Value,
};

/// How a new pair was made and where it came from.
#[derive(Debug, Clone)]
pub struct PairOrigin {
    pub strategy: String,
    pub source: String,
    /// JSON object of versions, params and seeds (empty for imports).
    pub provenance: serde_json::Value,
}

/// A pair with its stable hash, computed by the caller (imports hash on a parsing thread).
#[derive(Debug, Clone)]
pub struct HashedPair {
    pub record: PairRecord,
    pub hash: String,
}

impl From<PairRecord> for HashedPair {
    fn from(record: PairRecord) -> Self {
        let hash = pair_hash(&record.prompt, &record.chosen, &record.rejected);
        Self { record, hash }
    }
}

/// The rubric version a pair rests on: its provenance's `rubric` (judge-built pairs), else none.
/// Part of the pair's identity, so answers judged under another rubric version are another pair.
pub fn rubric_of(provenance: &serde_json::Value) -> &str {
    provenance
        .get("rubric")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

/// The columns an insert writes, in bind order.
const INSERT_COLUMNS: [&str; 15] = [
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
    "rubric",
];

/// A batch of pairs as one `INSERT … ON CONFLICT (project_id, hash, rubric) DO NOTHING` with its
/// bound values: a pair already stored under the same key is kept as it is. Built wherever the
/// rows are made (an import builds it on its parsing thread), so the writer only executes it.
pub struct PairInsert {
    statement: Option<sea_orm::Statement>,
    rows: usize,
}

impl PairInsert {
    /// The insert of `items` into `project_id` for `backend`, stamped `now`.
    pub fn new<'a>(
        backend: DbBackend,
        project_id: i64,
        items: impl IntoIterator<Item = (&'a HashedPair, &'a PairOrigin)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let mut values: Vec<Value> = Vec::new();
        let mut rows = 0;
        // Consecutive items usually share one origin: its JSON is written once.
        let mut last: Option<(&PairOrigin, String)> = None;
        for (HashedPair { record: r, hash }, origin) in items {
            let provenance = match &last {
                Some((o, text)) if std::ptr::eq(*o, origin) => text.clone(),
                _ => {
                    let text = origin.provenance.to_string();
                    last = Some((origin, text.clone()));
                    text
                }
            };
            let margin = match (r.score_chosen, r.score_rejected) {
                (Some(c), Some(rj)) => Some(c - rj),
                _ => None,
            };
            values.extend([
                Value::BigInt(Some(project_id)),
                Value::String(Some(hash.clone())),
                Value::String(Some(serde_json::to_string(&r.prompt).unwrap_or_default())),
                Value::String(Some(ChatMessage::last_user_text(&r.prompt))),
                Value::String(Some(r.chosen.clone())),
                Value::String(Some(r.rejected.clone())),
                Value::String(Some(origin.strategy.clone())),
                Value::Double(margin),
                Value::Double(r.score_chosen),
                Value::Double(r.score_rejected),
                Value::String(Some(origin.source.clone())),
                Value::String(Some(provenance)),
                Value::String(Some(serde_json::to_string(&r.metadata).unwrap_or_default())),
                Value::ChronoDateTimeUtc(Some(now)),
                Value::String(Some(rubric_of(&origin.provenance).to_owned())),
            ]);
            rows += 1;
        }
        if rows == 0 {
            return Self {
                statement: None,
                rows,
            };
        }
        let width = INSERT_COLUMNS.len();
        let mut sql = format!(
            "INSERT INTO \"pairs\" (\"{}\") VALUES ",
            INSERT_COLUMNS.join("\", \"")
        );
        sql.reserve(rows * width * 6);
        for row in 0..rows {
            sql.push_str(if row == 0 { "(" } else { ", (" });
            for col in 0..width {
                if col > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    DbBackend::Postgres => {
                        use std::fmt::Write as _;
                        let _ = write!(sql, "${}", row * width + col + 1);
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push(')');
        }
        sql.push_str(" ON CONFLICT (\"project_id\", \"hash\", \"rubric\") DO NOTHING");
        Self {
            statement: Some(sea_orm::Statement::from_sql_and_values(
                backend, sql, values,
            )),
            rows,
        }
    }

    /// Pairs in the batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Runs the insert; returns how many pairs were new.
    pub async fn execute(self, db: &impl ConnectionTrait) -> Result<u64> {
        match self.statement {
            Some(statement) => Ok(db.execute_raw(statement).await?.rows_affected()),
            None => Ok(0),
        }
    }
}

/// Inserts pairs that each have their own origin (pairs built from candidates carry their own
/// seeds and versions), skipping (hash, rubric) keys the project has; returns how many were new.
pub async fn insert_each(
    db: &impl ConnectionTrait,
    project_id: i64,
    items: &[(HashedPair, PairOrigin)],
) -> Result<u64> {
    insert_now(db, project_id, items.iter().map(|(p, o)| (p, o))).await
}

/// Inserts `items` stamped with the current time; returns how many were new.
async fn insert_now<'a>(
    db: &impl ConnectionTrait,
    project_id: i64,
    items: impl IntoIterator<Item = (&'a HashedPair, &'a PairOrigin)>,
) -> Result<u64> {
    let now = chrono::Utc::now();
    PairInsert::new(db.get_database_backend(), project_id, items, now)
        .execute(db)
        .await
}

/// Brings stored human-decided pairs (strategy `human`) of the same answers and source (the same
/// item decided overall, or on the same dimension) as `items` up to date with `items`' provenance and metadata — the votes that decide them now — where no
/// dataset version holds them: a frozen version's pairs never change. Returns how many changed.
pub async fn refresh_unfrozen_human(
    db: &sea_orm::DatabaseConnection,
    project_id: i64,
    items: &[(HashedPair, PairOrigin)],
) -> Result<u64> {
    use crate::entities::dataset_member;
    use sea_orm::{sea_query::Query, TransactionTrait};
    let frozen = Query::select()
        .column(dataset_member::Column::PairId)
        .from(dataset_member::Entity)
        .to_owned();
    let _writer = crate::db::write_lock(db).await;
    let txn = db.begin().await?;
    let mut changed = 0;
    for (p, origin) in items.iter().filter(|(_, o)| o.strategy == "human") {
        let provenance = origin.provenance.to_string();
        let metadata = serde_json::Value::Object(p.record.metadata.clone()).to_string();
        let res = pair::Entity::update_many()
            .col_expr(
                pair::Column::Provenance,
                sea_orm::sea_query::Expr::value(provenance.clone()),
            )
            .col_expr(
                pair::Column::Metadata,
                sea_orm::sea_query::Expr::value(metadata.clone()),
            )
            .filter(pair::Column::ProjectId.eq(project_id))
            .filter(pair::Column::Source.eq(origin.source.as_str()))
            .filter(pair::Column::Hash.eq(p.hash.as_str()))
            .filter(pair::Column::Rubric.eq(rubric_of(&origin.provenance)))
            .filter(pair::Column::Strategy.eq("human"))
            .filter(
                sea_orm::Condition::any()
                    .add(pair::Column::Provenance.ne(provenance))
                    .add(pair::Column::Metadata.ne(metadata)),
            )
            .filter(pair::Column::Id.not_in_subquery(frozen.clone()))
            .exec(&txn)
            .await?;
        changed += res.rows_affected;
    }
    txn.commit().await?;
    Ok(changed)
}

/// Inserts pairs, skipping those whose (hash, rubric) the project already has (or that repeat
/// within the batch); returns how many were new. Run inside the caller's transaction for atomic imports.
pub async fn insert_batch(
    db: &impl ConnectionTrait,
    project_id: i64,
    records: &[HashedPair],
    origin: &PairOrigin,
) -> Result<u64> {
    insert_now(db, project_id, records.iter().map(|p| (p, origin))).await
}

pub async fn count(db: &impl ConnectionTrait, project_id: i64) -> Result<u64> {
    Ok(pair::Entity::find()
        .filter(pair::Column::ProjectId.eq(project_id))
        .count(db)
        .await?)
}

/// The prompt turns of a stored pair.
pub fn prompt_of(model: &pair::Model) -> Vec<ChatMessage> {
    serde_json::from_str(&model.prompt).unwrap_or_default()
}

/// Filters of the pair browser.
#[derive(Debug, Clone, Default)]
pub struct PairFilter {
    pub source: Option<String>,
    pub strategy: Option<String>,
    /// Case-insensitive substring of any turn of the prompt.
    pub search: Option<String>,
    /// Margin bounds (pairs without a margin are excluded when a bound is set).
    pub min_margin: Option<f64>,
    pub max_margin: Option<f64>,
    /// `longer` or `shorter`: the chosen answer against the rejected one, in characters.
    pub length: Option<String>,
    /// `trivial`: only pairs flagged as trivial negatives; `hard`: only pairs with a reference
    /// gap that are not.
    pub flag: Option<String>,
    /// Only the members of this dataset version (by id), in version order.
    pub version: Option<i64>,
    /// `train` or `eval`: only members of that split (needs `version`).
    pub split: Option<String>,
}

/// One page of a project's pairs in import order, with the total that matches.
pub async fn page(
    db: &impl ConnectionTrait,
    project_id: i64,
    filter: &PairFilter,
    limit: u64,
    offset: u64,
) -> Result<pairwise_core::dto::Page<pairwise_core::dto::PairView>> {
    use sea_orm::{QueryOrder, QuerySelect};
    if limit == 0 || limit > crate::prompts::MAX_PAGE {
        return Err(crate::StoreError::invalid(
            "limit",
            format!("must be between 1 and {}", crate::prompts::MAX_PAGE),
        ));
    }
    use crate::entities::dataset_member;
    let mut query = pair::Entity::find().filter(pair::Column::ProjectId.eq(project_id));
    let split = filter.split.as_deref().filter(|s| !s.is_empty());
    if let Some(version) = filter.version {
        use sea_orm::{JoinType, RelationTrait as _};
        query = query
            .join_rev(JoinType::InnerJoin, dataset_member::Relation::Pair.def())
            .filter(dataset_member::Column::VersionId.eq(version));
        match split {
            None => {}
            Some(s @ ("train" | "eval")) => {
                let legacy = dataset_member::Entity::find()
                    .filter(dataset_member::Column::VersionId.eq(version))
                    .filter(dataset_member::Column::Split.is_null())
                    .one(db)
                    .await?
                    .is_some();
                if legacy {
                    return Err(crate::StoreError::invalid(
                        "split",
                        "this version was frozen before splits were stored; filter a copy of \
                         it (`dataset freeze --from`), which stores them",
                    ));
                }
                query = query.filter(dataset_member::Column::Split.eq(s));
            }
            Some(other) => {
                return Err(crate::StoreError::invalid(
                    "split",
                    format!("`{other}` is not a split: use train or eval"),
                ))
            }
        }
    } else if split.is_some() {
        return Err(crate::StoreError::invalid(
            "split",
            "splits belong to a dataset version: choose a version to filter by split",
        ));
    }
    if let Some(source) = filter.source.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(pair::Column::Source.eq(source));
    }
    if let Some(strategy) = filter.strategy.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(pair::Column::Strategy.eq(strategy));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        query = query.filter(crate::prompts::contains_ci(pair::Column::Prompt, search));
    }
    if let Some(lo) = filter.min_margin {
        query = query.filter(pair::Column::Margin.gte(lo));
    }
    if let Some(hi) = filter.max_margin {
        query = query.filter(pair::Column::Margin.lte(hi));
    }
    use sea_orm::sea_query::Expr;
    match filter.length.as_deref().unwrap_or("") {
        "" => {}
        "longer" => query = query.filter(Expr::cust("length(chosen) > length(rejected)")),
        "shorter" => query = query.filter(Expr::cust("length(chosen) < length(rejected)")),
        other => {
            return Err(crate::StoreError::invalid(
                "length",
                format!("`{other}` is not longer or shorter"),
            ))
        }
    }
    // Provenance is stored as compact JSON written by serde_json, so the flag's text is exact.
    match filter.flag.as_deref().unwrap_or("") {
        "" => {}
        "trivial" => {
            query = query.filter(pair::Column::Provenance.contains("\"trivial_negative\":true"))
        }
        "hard" => {
            query = query.filter(pair::Column::Provenance.contains("\"trivial_negative\":false"))
        }
        other => {
            return Err(crate::StoreError::invalid(
                "flag",
                format!("`{other}` is not trivial or hard"),
            ))
        }
    }
    let total = query.clone().count(db).await?;
    let query = if filter.version.is_some() {
        query.order_by_asc(dataset_member::Column::Position)
    } else {
        query.order_by_asc(pair::Column::Id)
    };
    // Past the end there is nothing to read (and no u64 offset beyond i64 reaches the driver).
    let items = if offset >= total {
        Vec::new()
    } else {
        query.limit(limit).offset(offset).all(db).await?
    };
    let items = items
        .into_iter()
        .map(|p| {
            let turns = prompt_of(&p).len();
            pairwise_core::dto::PairView {
                id: p.id,
                hash: p.hash,
                prompt: p.prompt_text,
                turns,
                chosen: p.chosen,
                rejected: p.rejected,
                strategy: p.strategy,
                source: p.source,
                margin: p.margin,
            }
        })
        .collect();
    Ok(pairwise_core::dto::Page {
        total,
        limit,
        offset,
        items,
    })
}
