//! Prompts: batched inserts that skip duplicates, and server-side pages.

use crate::{
    entities::prompt,
    error::{Result, StoreError},
    rfc3339,
};
use pairwise_core::{
    dto::{Page, PromptView},
    ChatMessage, PromptRecord, Split,
};
use sea_orm::{
    sea_query::OnConflict, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

/// Largest page a caller may ask for.
pub const MAX_PAGE: u64 = 500;

/// Where imported records go and what the import says about all of them.
#[derive(Debug, Clone, Default)]
pub struct InsertDefaults {
    /// Overrides every record's split when set; otherwise the record's own, else `train`.
    pub split: Option<Split>,
    /// Overrides every record's domain when set.
    pub domain: Option<String>,
    /// Source used where the record names none (e.g. the file name).
    pub source: Option<String>,
}

/// Inserts records, skipping any whose hash the project already has (or that repeat within the
/// batch); returns how many were new. Run it inside the caller's transaction for atomic imports.
pub async fn insert_batch(
    db: &impl ConnectionTrait,
    project_id: i64,
    records: &[PromptRecord],
    defaults: &InsertDefaults,
) -> Result<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    let now = chrono::Utc::now();
    let rows = records.iter().map(|r| prompt::ActiveModel {
        project_id: Set(project_id),
        external_id: Set(r.external_id.clone()),
        text: Set(r.text.clone()),
        messages: Set(r
            .messages
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default())),
        source: Set(r.source.clone().or_else(|| defaults.source.clone())),
        domain: Set(defaults.domain.clone().or_else(|| r.domain.clone())),
        split: Set(defaults
            .split
            .or(r.split)
            .unwrap_or(Split::Train)
            .as_str()
            .to_owned()),
        metadata: Set(serde_json::Value::Object(r.metadata.clone()).to_string()),
        hash: Set(r.hash.clone()),
        created_at: Set(now),
        ..Default::default()
    });
    let inserted = prompt::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::columns([prompt::Column::ProjectId, prompt::Column::Hash])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(inserted)
}

pub async fn count(db: &impl ConnectionTrait, project_id: i64) -> Result<u64> {
    Ok(prompt::Entity::find()
        .filter(prompt::Column::ProjectId.eq(project_id))
        .count(db)
        .await?)
}

/// Filters of the prompt list.
#[derive(Debug, Clone, Default)]
pub struct PromptFilter {
    pub split: Option<Split>,
    /// Case-insensitive substring of the prompt text.
    pub search: Option<String>,
}

pub(crate) fn view(m: prompt::Model) -> Result<PromptView> {
    let split = m
        .split
        .parse::<Split>()
        .map_err(|e| StoreError::invalid("split", e))?;
    let messages: Option<Vec<ChatMessage>> = m
        .messages
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok());
    Ok(PromptView {
        id: m.id,
        external_id: m.external_id,
        text: m.text,
        messages,
        source: m.source,
        domain: m.domain,
        split,
        metadata: serde_json::from_str(&m.metadata).unwrap_or(serde_json::Value::Null),
        hash: m.hash,
        created_at: rfc3339(&m.created_at),
        truncated: false,
    })
}

/// `lower(column) LIKE '%text%'` with LIKE's wildcards escaped. LIKE is case-insensitive for
/// ASCII on SQLite; `lower()` makes PostgreSQL agree.
pub(crate) fn contains_ci(
    column: impl sea_orm::sea_query::IntoColumnRef,
    text: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Expr::expr(Func::lower(Expr::col(column)))
        .like(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

fn filtered(project_id: i64, filter: &PromptFilter) -> sea_orm::Select<prompt::Entity> {
    let mut query = prompt::Entity::find().filter(prompt::Column::ProjectId.eq(project_id));
    if let Some(split) = filter.split {
        query = query.filter(prompt::Column::Split.eq(split.as_str()));
    }
    if let Some(search) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        query = query.filter(contains_ci(prompt::Column::Text, search));
    }
    query
}

/// Ids of a project's prompts that match the filter, in import order (at most `limit`).
pub async fn ids(
    db: &impl ConnectionTrait,
    project_id: i64,
    filter: &PromptFilter,
    limit: Option<u64>,
) -> Result<Vec<i64>> {
    Ok(filtered(project_id, filter)
        .select_only()
        .column(prompt::Column::Id)
        .order_by_asc(prompt::Column::Id)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// Ids of a project's prompts with these content hashes, in import order.
pub async fn ids_by_hash(
    db: &impl ConnectionTrait,
    project_id: i64,
    hashes: &[String],
) -> Result<Vec<i64>> {
    Ok(prompt::Entity::find()
        .select_only()
        .column(prompt::Column::Id)
        .filter(prompt::Column::ProjectId.eq(project_id))
        .filter(prompt::Column::Hash.is_in(hashes.iter().cloned()))
        .order_by_asc(prompt::Column::Id)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// The prompts with these ids (any order).
pub async fn get_many(db: &impl ConnectionTrait, ids: &[i64]) -> Result<Vec<prompt::Model>> {
    Ok(prompt::Entity::find()
        .filter(prompt::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?)
}

/// One page of a project's prompts in import order, with the total that matches the filter;
/// long texts are previews (see [`PromptView::preview`]).
pub async fn page(
    db: &impl ConnectionTrait,
    project_id: i64,
    filter: &PromptFilter,
    limit: u64,
    offset: u64,
) -> Result<Page<PromptView>> {
    if limit == 0 || limit > MAX_PAGE {
        return Err(StoreError::invalid(
            "limit",
            format!("must be between 1 and {MAX_PAGE}"),
        ));
    }
    let query = filtered(project_id, filter);
    let total = query.clone().count(db).await?;
    // Past the end there is nothing to read (and no u64 offset beyond i64 reaches the driver).
    let items = if offset >= total {
        Vec::new()
    } else {
        query
            .order_by_asc(prompt::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(db)
            .await?
    };
    Ok(Page {
        total,
        limit,
        offset,
        items: items
            .into_iter()
            .map(|m| view(m).map(PromptView::preview))
            .collect::<Result<_>>()?,
    })
}

/// One prompt of a project, whole (lists show previews).
pub async fn get(db: &impl ConnectionTrait, project_id: i64, id: i64) -> Result<PromptView> {
    let m = prompt::Entity::find_by_id(id)
        .filter(prompt::Column::ProjectId.eq(project_id))
        .one(db)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("prompt {id}")))?;
    view(m)
}
