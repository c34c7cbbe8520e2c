//! Paged reads of a version in member order: its members (for copying a version), its pairs
//! and its export rows (for streaming exports).

use super::splits::{pair_split, split_columns, NewMember, SplitColumns};
use crate::{
    entities::{dataset_member, pair},
    error::Result,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

/// The members of a version from `position` on, in order, at most `limit`: the filters every
/// paged read of a version shares (the query must select or join `dataset_members`).
pub(super) fn in_version<E: EntityTrait>(
    query: sea_orm::Select<E>,
    version_id: i64,
    position: i64,
    limit: u64,
) -> sea_orm::Select<E> {
    // Positions are dense (0..pair_count), so the page is a closed range: the upper bound keeps
    // the plan a range read of `limit` members even where the planner's statistics are stale
    // (PostgreSQL right after a freeze otherwise joins and sorts every member after `position`
    // for each page).
    let end = position.saturating_add(i64::try_from(limit).unwrap_or(i64::MAX));
    query
        .filter(dataset_member::Column::VersionId.eq(version_id))
        .filter(dataset_member::Column::Position.gte(position))
        .filter(dataset_member::Column::Position.lt(end))
        .order_by_asc(dataset_member::Column::Position)
        .limit(limit)
}

/// (pair id, hash, split) of members from `position` on, in order. Members stored without a
/// split (versions frozen before splits were stored) get it derived under `rule`.
pub(super) async fn member_page(
    db: &impl ConnectionTrait,
    version_id: i64,
    position: i64,
    limit: u64,
    rule: Option<&pairwise_core::recipe::SplitRule>,
) -> Result<Vec<NewMember>> {
    let members = in_version(dataset_member::Entity::find(), version_id, position, limit)
        .all(db)
        .await?;
    let ids: Vec<i64> = members.iter().map(|m| m.pair_id).collect();
    let legacy = members.iter().any(|m| m.split.is_none());
    let pairs: std::collections::HashMap<i64, (String, Option<String>)> = if legacy {
        split_columns()
            .filter(pair::Column::Id.is_in(ids))
            .into_tuple::<SplitColumns>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, hash, prompt, provenance, metadata)| {
                let split = pair_split(rule, &prompt, &provenance, &metadata).to_owned();
                (id, (hash, Some(split)))
            })
            .collect()
    } else {
        pair::Entity::find()
            .select_only()
            .column(pair::Column::Id)
            .column(pair::Column::Hash)
            .filter(pair::Column::Id.is_in(ids))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, hash)| (id, (hash, None)))
            .collect()
    };
    Ok(members
        .into_iter()
        .map(|m| {
            let (hash, derived) = pairs.get(&m.pair_id).cloned().unwrap_or_default();
            let split = m.split.or(derived).unwrap_or_else(|| "train".into());
            (m.pair_id, hash, split)
        })
        .collect())
}

/// The pairs of a version from `position` on, in version order (for streaming exports), each
/// with its stored split (`None` on versions frozen before splits were stored): one query
/// joining the members to their pairs.
pub async fn pairs_page(
    db: &impl ConnectionTrait,
    version_id: i64,
    position: i64,
    limit: u64,
) -> Result<Vec<(pair::Model, Option<String>)>> {
    use sea_orm::{JoinType, RelationTrait as _};
    let joined =
        pair::Entity::find().join_rev(JoinType::InnerJoin, dataset_member::Relation::Pair.def());
    let rows = in_version(joined, version_id, position, limit)
        .select_also(dataset_member::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(p, m)| (p, m.and_then(|m| m.split)))
        .collect())
}

/// What an export reads of a member: its pair without the columns an export does not write
/// (project, search text, creation time), and its stored split.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct ExportRow {
    pub id: i64,
    pub hash: String,
    pub prompt: String,
    pub chosen: String,
    pub rejected: String,
    pub strategy: String,
    pub margin: Option<f64>,
    pub score_chosen: Option<f64>,
    pub score_rejected: Option<f64>,
    pub source: String,
    pub provenance: String,
    pub metadata: String,
    /// `None` on versions frozen before splits were stored.
    pub split: Option<String>,
}

/// The columns of [`ExportRow`]: the members of a version joined to their pairs.
fn export_rows() -> sea_orm::Select<pair::Entity> {
    use sea_orm::{JoinType, RelationTrait as _};
    pair::Entity::find()
        .select_only()
        .columns([
            pair::Column::Id,
            pair::Column::Hash,
            pair::Column::Prompt,
            pair::Column::Chosen,
            pair::Column::Rejected,
            pair::Column::Strategy,
            pair::Column::Margin,
            pair::Column::ScoreChosen,
            pair::Column::ScoreRejected,
            pair::Column::Source,
            pair::Column::Provenance,
            pair::Column::Metadata,
        ])
        .column(dataset_member::Column::Split)
        .join_rev(JoinType::InnerJoin, dataset_member::Relation::Pair.def())
}

/// The export rows of a version from `position` on, in version order.
pub async fn export_page(
    db: &impl ConnectionTrait,
    version_id: i64,
    position: i64,
    limit: u64,
) -> Result<Vec<ExportRow>> {
    Ok(in_version(export_rows(), version_id, position, limit)
        .into_model::<ExportRow>()
        .all(db)
        .await?)
}

/// The export rows of a version ordered by prompt, then pair id, as one stream on one
/// connection: a listwise export groups consecutive rows of one prompt without holding the
/// version in memory (the database sorts).
pub async fn export_rows_by_prompt(
    db: &sea_orm::DatabaseConnection,
    version_id: i64,
) -> Result<futures_util::stream::BoxStream<'_, std::result::Result<ExportRow, sea_orm::DbErr>>> {
    use futures_util::StreamExt;
    let stream = export_rows()
        .filter(dataset_member::Column::VersionId.eq(version_id))
        .order_by_asc(pair::Column::Prompt)
        .order_by_asc(pair::Column::Id)
        .into_model::<ExportRow>()
        .stream(db)
        .await?;
    Ok(stream.boxed())
}
