//! Dataset versions: a recipe frozen into an immutable, ordered list of pairs with a content
//! hash; listing, diffing and paging through a version for export. Nothing here updates or
//! deletes a version once written: the only writes are `freeze` and `rollback`, which add one.

use crate::{
    entities::{dataset_member, dataset_version, pair},
    error::{Result, StoreError},
    rfc3339,
};
use pairwise_core::{
    dto::{DatasetDiff, DatasetVersionView},
    Recipe,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Rows read or written per query while freezing and exporting (bounds memory).
const PAGE: u64 = 2000;

/// Checks a version tag: 1–64 letters, digits, `.`, `_` or `-`.
pub fn validate_tag(tag: &str) -> Result<()> {
    crate::users::validate_identifier("tag", tag)
}

async fn view(db: &impl ConnectionTrait, m: &dataset_version::Model) -> Result<DatasetVersionView> {
    let parent = match m.parent_id {
        Some(id) => dataset_version::Entity::find_by_id(id)
            .one(db)
            .await?
            .map(|p| p.tag),
        None => None,
    };
    Ok(DatasetVersionView {
        id: m.id,
        tag: m.tag.clone(),
        parent,
        recipe: serde_json::from_str(&m.recipe).unwrap_or_default(),
        content_hash: m.content_hash.clone(),
        pair_count: u64::try_from(m.pair_count).unwrap_or(0),
        created_by: m.created_by,
        created_at: rfc3339(&m.created_at),
    })
}

pub async fn find(
    db: &impl ConnectionTrait,
    project_id: i64,
    tag: &str,
) -> Result<Option<dataset_version::Model>> {
    Ok(dataset_version::Entity::find()
        .filter(dataset_version::Column::ProjectId.eq(project_id))
        .filter(dataset_version::Column::Tag.eq(tag))
        .one(db)
        .await?)
}

pub async fn require(
    db: &impl ConnectionTrait,
    project_id: i64,
    tag: &str,
) -> Result<dataset_version::Model> {
    find(db, project_id, tag)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("dataset version `{tag}`")))
}

/// The newest version of a project, if any (the parent of the next freeze).
async fn latest(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<Option<dataset_version::Model>> {
    Ok(dataset_version::Entity::find()
        .filter(dataset_version::Column::ProjectId.eq(project_id))
        .order_by_desc(dataset_version::Column::Id)
        .one(db)
        .await?)
}

fn recipe_condition(project_id: i64, recipe: &Recipe) -> Condition {
    let mut c = Condition::all().add(pair::Column::ProjectId.eq(project_id));
    if !recipe.sources.is_empty() {
        c = c.add(pair::Column::Source.is_in(recipe.sources.clone()));
    }
    if !recipe.strategies.is_empty() {
        c = c.add(pair::Column::Strategy.is_in(recipe.strategies.clone()));
    }
    if let Some(lo) = recipe.min_margin {
        c = c.add(
            Condition::any()
                .add(pair::Column::Margin.is_null())
                .add(pair::Column::Margin.gte(lo)),
        );
    }
    if let Some(hi) = recipe.max_margin {
        c = c.add(
            Condition::any()
                .add(pair::Column::Margin.is_null())
                .add(pair::Column::Margin.lte(hi)),
        );
    }
    c
}

/// Where the members of a new version come from.
enum Members {
    /// The project's pairs matching a recipe, in pair order.
    Selected(Condition),
    /// Exactly the members of another version, in its order.
    CopyOf(i64),
}

impl Members {
    /// The next page of (pair id, hash) after `position` members (and after pair id `last_id`).
    async fn page(
        &self,
        db: &impl ConnectionTrait,
        position: i64,
        last_id: i64,
    ) -> Result<Vec<(i64, String)>> {
        match self {
            Self::Selected(condition) => Ok(pair::Entity::find()
                .select_only()
                .column(pair::Column::Id)
                .column(pair::Column::Hash)
                .filter(condition.clone())
                .filter(pair::Column::Id.gt(last_id))
                .order_by_asc(pair::Column::Id)
                .limit(PAGE)
                .into_tuple()
                .all(db)
                .await?),
            Self::CopyOf(version_id) => member_page(db, *version_id, position, PAGE).await,
        }
    }
}

/// Writes a version row and its members inside `txn`; returns the finished row.
async fn write_version<C: ConnectionTrait>(
    txn: &C,
    project_id: i64,
    tag: &str,
    parent_id: Option<i64>,
    recipe: &Recipe,
    created_by: Option<i64>,
    source: Members,
) -> Result<dataset_version::Model> {
    let row = dataset_version::ActiveModel {
        project_id: Set(project_id),
        tag: Set(tag.to_owned()),
        parent_id: Set(parent_id),
        recipe: Set(serde_json::to_string(recipe).unwrap_or_default()),
        content_hash: Set(String::new()),
        pair_count: Set(0),
        created_by: Set(created_by),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    let mut hasher = Sha256::new();
    let mut position: i64 = 0;
    let mut last_id: i64 = 0;
    loop {
        let page = source.page(txn, position, last_id).await?;
        let Some(&(last, _)) = page.last() else { break };
        last_id = last;
        let members: Vec<dataset_member::ActiveModel> = page
            .iter()
            .enumerate()
            .map(|(i, (pair_id, hash))| {
                hasher.update(hash.as_bytes());
                hasher.update(b"\n");
                dataset_member::ActiveModel {
                    version_id: Set(row.id),
                    position: Set(position + i as i64),
                    pair_id: Set(*pair_id),
                }
            })
            .collect();
        position += page.len() as i64;
        dataset_member::Entity::insert_many(members)
            .exec_without_returning(txn)
            .await?;
    }
    // The one write after the insert, inside the same transaction, before anyone can see it.
    let mut finished: dataset_version::ActiveModel = row.into();
    finished.content_hash = Set(hex::encode(hasher.finalize()));
    finished.pair_count = Set(position);
    Ok(finished.update(txn).await?)
}

/// Freezes the project's pairs that `recipe` selects, in pair order, as version `tag`.
pub async fn freeze(
    db: &DatabaseConnection,
    project_id: i64,
    tag: &str,
    recipe: &Recipe,
    created_by: Option<i64>,
) -> Result<DatasetVersionView> {
    validate_tag(tag)?;
    recipe
        .validate()
        .map_err(|m| StoreError::invalid("recipe", m))?;
    let txn = db.begin().await?;
    if find(&txn, project_id, tag).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "dataset version `{tag}` already exists and is frozen"
        )));
    }
    let parent = latest(&txn, project_id).await?.map(|p| p.id);
    let mut condition = recipe_condition(project_id, recipe);
    if recipe.gated() {
        let gated = crate::annotation::gated_human_pairs(&txn, project_id).await?;
        if !gated.is_empty() {
            condition = condition.add(pair::Column::Id.is_not_in(gated));
        }
    }
    let members = Members::Selected(condition);
    let model = write_version(&txn, project_id, tag, parent, recipe, created_by, members).await?;
    let v = view(&txn, &model).await?;
    txn.commit().await?;
    Ok(v)
}

/// A new version `tag` with exactly the pairs of version `from` (rollback without rewriting).
pub async fn rollback(
    db: &DatabaseConnection,
    project_id: i64,
    from: &str,
    tag: &str,
    created_by: Option<i64>,
) -> Result<DatasetVersionView> {
    validate_tag(tag)?;
    let txn = db.begin().await?;
    if find(&txn, project_id, tag).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "dataset version `{tag}` already exists and is frozen"
        )));
    }
    let source = require(&txn, project_id, from).await?;
    let recipe: Recipe = serde_json::from_str(&source.recipe).unwrap_or_default();
    let model = write_version(
        &txn,
        project_id,
        tag,
        Some(source.id),
        &recipe,
        created_by,
        Members::CopyOf(source.id),
    )
    .await?;
    let v = view(&txn, &model).await?;
    txn.commit().await?;
    Ok(v)
}

/// (pair id, hash) of members from `position` on, in order.
async fn member_page(
    db: &impl ConnectionTrait,
    version_id: i64,
    position: i64,
    limit: u64,
) -> Result<Vec<(i64, String)>> {
    let members = dataset_member::Entity::find()
        .filter(dataset_member::Column::VersionId.eq(version_id))
        .filter(dataset_member::Column::Position.gte(position))
        .order_by_asc(dataset_member::Column::Position)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<i64> = members.iter().map(|m| m.pair_id).collect();
    let hashes: std::collections::HashMap<i64, String> = pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .column(pair::Column::Hash)
        .filter(pair::Column::Id.is_in(ids.clone()))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(ids
        .into_iter()
        .map(|id| (id, hashes.get(&id).cloned().unwrap_or_default()))
        .collect())
}

/// The pairs of a version from `position` on, in version order (for streaming exports): one
/// query joining the members to their pairs.
pub async fn pairs_page(
    db: &impl ConnectionTrait,
    version_id: i64,
    position: i64,
    limit: u64,
) -> Result<Vec<pair::Model>> {
    use sea_orm::{EntityTrait as _, JoinType, RelationDef, RelationTrait as _};
    let members_to_pairs: RelationDef = dataset_member::Relation::Pair.def();
    Ok(pair::Entity::find()
        .join_rev(JoinType::InnerJoin, members_to_pairs)
        .filter(dataset_member::Column::VersionId.eq(version_id))
        .filter(dataset_member::Column::Position.gte(position))
        .order_by_asc(dataset_member::Column::Position)
        .limit(limit)
        .all(db)
        .await?)
}

/// Every version of a project, oldest first.
pub async fn list(db: &impl ConnectionTrait, project_id: i64) -> Result<Vec<DatasetVersionView>> {
    let models = dataset_version::Entity::find()
        .filter(dataset_version::Column::ProjectId.eq(project_id))
        .order_by_asc(dataset_version::Column::Id)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(models.len());
    for m in &models {
        out.push(view(db, m).await?);
    }
    Ok(out)
}

pub async fn get_view(
    db: &impl ConnectionTrait,
    project_id: i64,
    tag: &str,
) -> Result<DatasetVersionView> {
    view(db, &require(db, project_id, tag).await?).await
}

async fn hashes(db: &impl ConnectionTrait, version_id: i64) -> Result<HashSet<String>> {
    let mut set = HashSet::new();
    let mut position = 0;
    loop {
        let page = member_page(db, version_id, position, PAGE).await?;
        if page.is_empty() {
            return Ok(set);
        }
        position += page.len() as i64;
        set.extend(page.into_iter().map(|(_, h)| h));
    }
}

/// Pairs added and removed going from version `a` to version `b`.
pub async fn diff(
    db: &impl ConnectionTrait,
    project_id: i64,
    a: &str,
    b: &str,
) -> Result<DatasetDiff> {
    let (va, vb) = (
        require(db, project_id, a).await?,
        require(db, project_id, b).await?,
    );
    let (ha, hb) = (hashes(db, va.id).await?, hashes(db, vb.id).await?);
    let mut added: Vec<&String> = hb.difference(&ha).collect();
    let mut removed: Vec<&String> = ha.difference(&hb).collect();
    added.sort();
    removed.sort();
    Ok(DatasetDiff {
        from: a.to_owned(),
        to: b.to_owned(),
        added: added.len() as u64,
        removed: removed.len() as u64,
        unchanged: ha.intersection(&hb).count() as u64,
        added_examples: added.iter().take(10).map(|s| (*s).clone()).collect(),
        removed_examples: removed.iter().take(10).map(|s| (*s).clone()).collect(),
        from_pair_count: u64::try_from(va.pair_count).unwrap_or(0),
        to_pair_count: u64::try_from(vb.pair_count).unwrap_or(0),
    })
}
