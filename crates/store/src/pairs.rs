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

/// A batch of pairs as one `INSERT … ON CONFLICT (project_id, hash, rubric) DO NOTHING` with its
/// bound values: a pair already stored under the same key is kept as it is. Built wherever the
/// rows are made (an import builds it on its parsing thread), so the writer only executes it.
pub struct PairInsert {
    statement: Option<sea_orm::Statement>,
    rows: usize,
}

/// An origin as the insert writes it: its provenance as JSON text, serialised once.
struct OriginText<'a> {
    origin: &'a PairOrigin,
    provenance: String,
}

impl<'a> From<&'a PairOrigin> for OriginText<'a> {
    fn from(origin: &'a PairOrigin) -> Self {
        Self {
            origin,
            provenance: origin.provenance.to_string(),
        }
    }
}

impl PairInsert {
    /// The insert of `pairs`, all of one `origin`, into `project_id` for `backend`, stamped `now`
    /// (the pairs' text moves into the statement).
    pub fn new(
        backend: DbBackend,
        project_id: i64,
        pairs: Vec<HashedPair>,
        origin: &PairOrigin,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let origin = OriginText::from(origin);
        Self::build(
            backend,
            project_id,
            pairs.into_iter().map(|p| (p, &origin)),
            now,
        )
    }

    /// The insert of pairs that each have their own origin.
    pub fn each(
        backend: DbBackend,
        project_id: i64,
        items: &[(HashedPair, PairOrigin)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        let origins: Vec<OriginText> = items.iter().map(|(_, o)| OriginText::from(o)).collect();
        let rows = items.iter().zip(&origins).map(|((p, _), o)| (p.clone(), o));
        Self::build(backend, project_id, rows, now)
    }

    fn build<'a>(
        backend: DbBackend,
        project_id: i64,
        rows: impl Iterator<Item = (HashedPair, &'a OriginText<'a>)>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        use pair::Column as C;
        use sea_orm::sea_query::{Expr, OnConflict, Query};
        let mut insert = Query::insert();
        insert
            .into_table(pair::Entity)
            .columns([
                C::ProjectId,
                C::Hash,
                C::Prompt,
                C::PromptText,
                C::Chosen,
                C::Rejected,
                C::Strategy,
                C::Margin,
                C::ScoreChosen,
                C::ScoreRejected,
                C::Source,
                C::Provenance,
                C::Metadata,
                C::CreatedAt,
                C::Rubric,
            ])
            .on_conflict(
                OnConflict::columns([C::ProjectId, C::Hash, C::Rubric])
                    .do_nothing()
                    .to_owned(),
            );
        let mut count = 0;
        for (HashedPair { record: r, hash }, o) in rows {
            let margin = match (r.score_chosen, r.score_rejected) {
                (Some(c), Some(rj)) => Some(c - rj),
                _ => None,
            };
            let values: [Value; 15] = [
                project_id.into(),
                hash.into(),
                serde_json::to_string(&r.prompt).unwrap_or_default().into(),
                ChatMessage::last_user_text(&r.prompt).into(),
                r.chosen.into(),
                r.rejected.into(),
                o.origin.strategy.clone().into(),
                margin.into(),
                r.score_chosen.into(),
                r.score_rejected.into(),
                o.origin.source.clone().into(),
                o.provenance.clone().into(),
                serde_json::to_string(&r.metadata)
                    .unwrap_or_default()
                    .into(),
                now.into(),
                rubric_of(&o.origin.provenance).to_owned().into(),
            ];
            insert.values_panic(values.map(Expr::from));
            count += 1;
        }
        Self {
            statement: (count > 0).then(|| backend.build(&insert)),
            rows: count,
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
    let backend = db.get_database_backend();
    PairInsert::each(backend, project_id, items, chrono::Utc::now())
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
    let backend = db.get_database_backend();
    PairInsert::new(
        backend,
        project_id,
        records.to_vec(),
        origin,
        chrono::Utc::now(),
    )
    .execute(db)
    .await
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
