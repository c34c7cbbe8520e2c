//! Dataset versions: a recipe frozen into an immutable, ordered list of pairs with a content
//! hash; listing, diffing and paging through a version for export. Nothing here updates or
//! deletes a version once written: the only writes are `freeze` and `rollback`, which add one.

use crate::{
    entities::{dataset_member, dataset_version, pair},
    error::{Result, StoreError},
    rfc3339,
};
use pairwise_core::{
    dto::{DatasetDiff, DatasetVersionView, StatDelta},
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

/// Pairs passing one set of filters (sources, strategies, margin bounds; pairs without a margin
/// pass the margin bounds).
fn filter_condition(
    sources: &[String],
    strategies: &[String],
    min_margin: Option<f64>,
    max_margin: Option<f64>,
) -> Condition {
    let mut c = Condition::all();
    if !sources.is_empty() {
        c = c.add(pair::Column::Source.is_in(sources.to_vec()));
    }
    if !strategies.is_empty() {
        c = c.add(pair::Column::Strategy.is_in(strategies.to_vec()));
    }
    if let Some(lo) = min_margin {
        c = c.add(
            Condition::any()
                .add(pair::Column::Margin.is_null())
                .add(pair::Column::Margin.gte(lo)),
        );
    }
    if let Some(hi) = max_margin {
        c = c.add(
            Condition::any()
                .add(pair::Column::Margin.is_null())
                .add(pair::Column::Margin.lte(hi)),
        );
    }
    c
}

/// One stage of a freeze: the pairs matching `condition`, at most `limit` of them.
struct Stage {
    condition: Condition,
    limit: Option<u64>,
}

/// The stages of a recipe: its strategy mix in order (each stage leaving out the pairs of the
/// earlier ones), or a single stage of every selected pair.
fn recipe_stages(project_id: i64, recipe: &Recipe, excluded: Vec<i64>) -> Vec<Stage> {
    let mut base = Condition::all()
        .add(pair::Column::ProjectId.eq(project_id))
        .add(filter_condition(
            &recipe.sources,
            &recipe.strategies,
            recipe.min_margin,
            recipe.max_margin,
        ));
    if !excluded.is_empty() {
        base = base.add(pair::Column::Id.is_not_in(excluded));
    }
    if recipe.mix.is_empty() {
        return vec![Stage {
            condition: base,
            limit: None,
        }];
    }
    let mut earlier: Vec<Condition> = Vec::new();
    let mut stages = Vec::with_capacity(recipe.mix.len());
    for m in &recipe.mix {
        let own = filter_condition(&m.sources, &m.strategies, m.min_margin, m.max_margin);
        let mut condition = base.clone().add(own.clone());
        for e in &earlier {
            condition = condition.add(e.clone().not());
        }
        earlier.push(own);
        stages.push(Stage {
            condition,
            limit: m.limit,
        });
    }
    stages
}

/// A member about to be written: pair id, pair hash, split.
type NewMember = (i64, String, String);

/// The columns a member's split is decided from: id, hash, prompt, provenance, metadata.
type SplitColumns = (i64, String, String, String, String);

fn split_columns() -> sea_orm::Select<pair::Entity> {
    pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .column(pair::Column::Hash)
        .column(pair::Column::Prompt)
        .column(pair::Column::Provenance)
        .column(pair::Column::Metadata)
}

/// The `split` a pair carries itself (`provenance.split`, else `metadata.split`), if any.
fn own_split(provenance: &str, metadata: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Own {
        #[serde(default)]
        split: Option<serde_json::Value>,
    }
    [provenance, metadata].into_iter().find_map(|json| {
        serde_json::from_str::<Own>(json)
            .ok()
            .and_then(|o| o.split)
            .and_then(|v| v.as_str().map(str::to_owned))
    })
}

/// The split of a pair under `rule`: by the stable hash of its normalized prompt, or its own
/// split where the rule keeps it (or there is no rule). A pure function of the frozen recipe and
/// the immutable pair, so it never changes for a version.
pub fn pair_split(
    rule: Option<&pairwise_core::recipe::SplitRule>,
    prompt: &str,
    provenance: &str,
    metadata: &str,
) -> &'static str {
    let known = own_split(provenance, metadata);
    match rule {
        // Without a rule, or where the rule keeps a known split, the prompt is not hashed.
        None => return pairwise_core::recipe::split_of(None, "", known.as_deref()),
        Some(r) if r.keep_prompt_split && matches!(known.as_deref(), Some("train" | "eval")) => {
            return pairwise_core::recipe::split_of(rule, "", known.as_deref())
        }
        Some(_) => {}
    }
    let prompt_hash = pairwise_core::stable_hash(pairwise_core::normalize_text(prompt));
    pairwise_core::recipe::split_of(rule, &prompt_hash, known.as_deref())
}

fn with_splits(
    rule: Option<&pairwise_core::recipe::SplitRule>,
    rows: Vec<SplitColumns>,
) -> Vec<NewMember> {
    rows.into_iter()
        .map(|(id, hash, prompt, provenance, metadata)| {
            let split = pair_split(rule, &prompt, &provenance, &metadata).to_owned();
            (id, hash, split)
        })
        .collect()
}

/// Where the members of a new version come from.
enum Members {
    /// The project's pairs of each stage in turn, in pair order within a stage.
    Staged(Vec<Stage>),
    /// Exactly the members of another version, in its order.
    CopyOf(i64),
}

/// Writes members in order, hashing their pair hashes; returns the count written so far.
struct MemberWriter {
    version_id: i64,
    position: i64,
    hasher: Sha256,
}

impl MemberWriter {
    async fn write(&mut self, db: &impl ConnectionTrait, page: Vec<NewMember>) -> Result<()> {
        if page.is_empty() {
            return Ok(());
        }
        let members: Vec<dataset_member::ActiveModel> = page
            .into_iter()
            .enumerate()
            .map(|(i, (pair_id, hash, split))| {
                self.hasher.update(hash.as_bytes());
                self.hasher.update(b"\n");
                dataset_member::ActiveModel {
                    version_id: Set(self.version_id),
                    position: Set(self.position + i as i64),
                    pair_id: Set(pair_id),
                    split: Set(Some(split)),
                }
            })
            .collect();
        self.position += members.len() as i64;
        dataset_member::Entity::insert_many(members)
            .exec_without_returning(db)
            .await?;
        Ok(())
    }
}

/// Writes the members of one stage: every matching pair by id, or (with a limit) the `limit`
/// matching pairs of lowest hash, then in id order.
async fn write_stage(
    db: &impl ConnectionTrait,
    out: &mut MemberWriter,
    rule: Option<&pairwise_core::recipe::SplitRule>,
    stage: &Stage,
) -> Result<()> {
    let Some(limit) = stage.limit else {
        let mut last_id: i64 = 0;
        loop {
            let rows: Vec<SplitColumns> = split_columns()
                .filter(stage.condition.clone())
                .filter(pair::Column::Id.gt(last_id))
                .order_by_asc(pair::Column::Id)
                .limit(PAGE)
                .into_tuple()
                .all(db)
                .await?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            last_id = last.0;
            out.write(db, with_splits(rule, rows)).await?;
        }
    };
    // The sample: ids of the `limit` lowest hashes (ids only, 8 bytes each), read by hash keyset.
    let mut ids: Vec<i64> = Vec::new();
    let mut last_hash = String::new();
    while (ids.len() as u64) < limit {
        let want = PAGE.min(limit - ids.len() as u64);
        let rows: Vec<(i64, String)> = pair::Entity::find()
            .select_only()
            .column(pair::Column::Id)
            .column(pair::Column::Hash)
            .filter(stage.condition.clone())
            .filter(pair::Column::Hash.gt(last_hash.as_str()))
            .order_by_asc(pair::Column::Hash)
            .limit(want)
            .into_tuple()
            .all(db)
            .await?;
        let Some((_, last)) = rows.last() else { break };
        last_hash = last.clone();
        let done = (rows.len() as u64) < want;
        ids.extend(rows.into_iter().map(|(id, _)| id));
        if done {
            break;
        }
    }
    ids.sort_unstable();
    for chunk in ids.chunks(PAGE as usize) {
        let rows: Vec<SplitColumns> = split_columns()
            .filter(pair::Column::Id.is_in(chunk.to_vec()))
            .order_by_asc(pair::Column::Id)
            .into_tuple()
            .all(db)
            .await?;
        out.write(db, with_splits(rule, rows)).await?;
    }
    Ok(())
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
    let mut out = MemberWriter {
        version_id: row.id,
        position: 0,
        hasher: Sha256::new(),
    };
    let rule = recipe.split.as_ref();
    match source {
        Members::Staged(stages) => {
            for stage in &stages {
                write_stage(txn, &mut out, rule, stage).await?;
            }
        }
        Members::CopyOf(version_id) => loop {
            let page = member_page(txn, version_id, out.position, PAGE, rule).await?;
            if page.is_empty() {
                break;
            }
            out.write(txn, page).await?;
        },
    }
    // The one write after the insert, inside the same transaction, before anyone can see it.
    let mut finished: dataset_version::ActiveModel = row.into();
    finished.content_hash = Set(hex::encode(out.hasher.finalize()));
    finished.pair_count = Set(out.position);
    Ok(finished.update(txn).await?)
}

/// Freezes the project's pairs that `recipe` selects as version `tag`: in pair order, or stage
/// by stage of its strategy mix; each member with its split under the recipe's split rule.
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
    let gated = if recipe.gated() {
        crate::annotation::gated_human_pairs(&txn, project_id).await?
    } else {
        Vec::new()
    };
    let members = Members::Staged(recipe_stages(project_id, recipe, gated));
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

/// The members of a version from `position` on, in order, at most `limit`: the filters every
/// paged read of a version shares (the query must select or join `dataset_members`).
fn in_version<E: EntityTrait>(
    query: sea_orm::Select<E>,
    version_id: i64,
    position: i64,
    limit: u64,
) -> sea_orm::Select<E> {
    query
        .filter(dataset_member::Column::VersionId.eq(version_id))
        .filter(dataset_member::Column::Position.gte(position))
        .order_by_asc(dataset_member::Column::Position)
        .limit(limit)
}

/// (pair id, hash, split) of members from `position` on, in order. Members stored without a
/// split (versions frozen before splits were stored) get it derived under `rule`.
async fn member_page(
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

/// The export rows of a version from `position` on, in version order.
pub async fn export_page(
    db: &impl ConnectionTrait,
    version_id: i64,
    position: i64,
    limit: u64,
) -> Result<Vec<ExportRow>> {
    use sea_orm::{JoinType, RelationTrait as _};
    let rows = pair::Entity::find()
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
        .join_rev(JoinType::InnerJoin, dataset_member::Relation::Pair.def());
    Ok(in_version(rows, version_id, position, limit)
        .into_model::<ExportRow>()
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
    use sea_orm::{JoinType, RelationTrait as _};
    let mut set = HashSet::new();
    let mut position = 0;
    loop {
        let query = dataset_member::Entity::find()
            .select_only()
            .column(dataset_member::Column::Position)
            .column(pair::Column::Hash)
            .join(JoinType::InnerJoin, dataset_member::Relation::Pair.def());
        let page: Vec<(i64, String)> = in_version(query, version_id, position, PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&(last, _)) = page.last() else {
            return Ok(set);
        };
        position = last + 1;
        set.extend(page.into_iter().map(|(_, h)| h));
    }
}

/// Summary statistics of one version, computed in the database: pairs per strategy, source and
/// split, mean margin, the share of pairs whose chosen answer is longer and the mean length
/// difference (characters, chosen − rejected).
async fn version_stats(
    db: &impl ConnectionTrait,
    version_id: i64,
) -> Result<std::collections::BTreeMap<String, f64>> {
    use sea_orm::{sea_query::Expr, JoinType, RelationTrait as _};
    let members = || {
        dataset_member::Entity::find()
            .select_only()
            .join(JoinType::InnerJoin, dataset_member::Relation::Pair.def())
            .filter(dataset_member::Column::VersionId.eq(version_id))
    };
    let mut out = std::collections::BTreeMap::new();
    let count = || sea_orm::sea_query::Func::count(Expr::col((pair::Entity, pair::Column::Id)));
    let groups: [(&str, sea_orm::sea_query::SimpleExpr); 3] = [
        (
            "strategy",
            Expr::col((pair::Entity, pair::Column::Strategy)),
        ),
        ("source", Expr::col((pair::Entity, pair::Column::Source))),
        (
            "split",
            Expr::col((dataset_member::Entity, dataset_member::Column::Split)),
        ),
    ];
    for (name, expr) in groups {
        let rows: Vec<(Option<String>, i64)> = members()
            .expr_as(expr.clone(), "key")
            .expr_as(count(), "n")
            .group_by(expr)
            .into_tuple()
            .all(db)
            .await?;
        for (key, n) in rows {
            let key = key.unwrap_or_else(|| "(derived on read)".into());
            out.insert(format!("{name}: {key}"), n as f64);
        }
    }
    let (margin, longer, diff): (Option<f64>, Option<f64>, Option<f64>) = members()
        .expr_as(
            Expr::cust("CAST(AVG(margin) AS DOUBLE PRECISION)"),
            "margin",
        )
        .expr_as(
            Expr::cust(
                "CAST(AVG(CASE WHEN length(chosen) > length(rejected) THEN 1.0 ELSE 0.0 END) \
                 AS DOUBLE PRECISION)",
            ),
            "longer",
        )
        .expr_as(
            Expr::cust("CAST(AVG(length(chosen) - length(rejected)) AS DOUBLE PRECISION)"),
            "diff",
        )
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    for (name, v) in [
        ("mean margin", margin),
        ("share where chosen is longer", longer),
        ("mean length difference (chars)", diff),
    ] {
        if let Some(v) = v {
            out.insert(name.to_owned(), v);
        }
    }
    Ok(out)
}

/// Both versions' statistics by name: the summary lines first, then the groups.
fn compare(
    a: &std::collections::BTreeMap<String, f64>,
    b: &std::collections::BTreeMap<String, f64>,
) -> Vec<StatDelta> {
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort_by_key(|n| (n.contains(": "), n.as_str()));
    names.dedup();
    names
        .into_iter()
        .map(|name| StatDelta {
            name: name.clone(),
            // A group missing on one side has no pairs there; a mean missing has no data.
            from: a
                .get(name)
                .copied()
                .or((name.contains(": ")).then_some(0.0)),
            to: b
                .get(name)
                .copied()
                .or((name.contains(": ")).then_some(0.0)),
        })
        .collect()
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
        stats: compare(
            &version_stats(db, va.id).await?,
            &version_stats(db, vb.id).await?,
        ),
    })
}
