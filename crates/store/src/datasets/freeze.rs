//! Writing versions: a recipe's stages of pairs, the ordered and hashed member writer, and the
//! two writes there are, `freeze` and `rollback`.

use super::{
    find, latest,
    pages::member_page,
    require,
    splits::{split_columns, with_splits, NewMember, SplitColumns},
    validate_tag, view, PAGE,
};
use crate::{
    entities::{dataset_member, dataset_version, pair},
    error::{Result, StoreError},
};
use pairwise_core::{dto::DatasetVersionView, Recipe};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use sha2::{Digest, Sha256};

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
fn recipe_stages(base: Condition, recipe: &Recipe) -> Vec<Stage> {
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

/// Where the members of a new version come from.
enum Members {
    /// The project's pairs of each stage in turn, in pair order within a stage.
    Staged(Vec<Stage>),
    /// Exactly the members of another version, in its order.
    CopyOf(i64),
    /// These pairs, in this order (a curated selection).
    Ids(Vec<i64>),
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

/// The `limit` pairs of `stage` with the lowest hashes, as ids in id order (ids only, 8 bytes
/// each, read by hash keyset).
async fn sample_ids(db: &impl ConnectionTrait, stage: &Stage, limit: u64) -> Result<Vec<i64>> {
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
    Ok(ids)
}

/// The ids of one stage's members in member order: every matching pair by id, or (with a
/// limit) the sample of [`sample_ids`].
async fn stage_member_ids(db: &impl ConnectionTrait, stage: &Stage) -> Result<Vec<i64>> {
    if let Some(limit) = stage.limit {
        return sample_ids(db, stage, limit).await;
    }
    let mut ids = Vec::new();
    let mut last_id: i64 = 0;
    loop {
        let page: Vec<i64> = pair::Entity::find()
            .select_only()
            .column(pair::Column::Id)
            .filter(stage.condition.clone())
            .filter(pair::Column::Id.gt(last_id))
            .order_by_asc(pair::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(db)
            .await?;
        let Some(&last) = page.last() else {
            return Ok(ids);
        };
        last_id = last;
        ids.extend(page);
    }
}

/// Writes the pairs `ids` as members in that order. A pair that no longer exists is a
/// conflict: the version would silently lack a selected pair.
async fn write_ids(
    db: &impl ConnectionTrait,
    out: &mut MemberWriter,
    rule: Option<&pairwise_core::recipe::SplitRule>,
    ids: &[i64],
) -> Result<()> {
    for chunk in ids.chunks(PAGE as usize) {
        let rows: Vec<SplitColumns> = split_columns()
            .filter(pair::Column::Id.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        if rows.len() != chunk.len() {
            return Err(StoreError::Conflict(
                "selected pairs changed while the version was being frozen; freeze again".into(),
            ));
        }
        let mut by_id: std::collections::HashMap<i64, SplitColumns> =
            rows.into_iter().map(|r| (r.0, r)).collect();
        let ordered = chunk.iter().filter_map(|id| by_id.remove(id)).collect();
        out.write(db, with_splits(rule, ordered)).await?;
    }
    Ok(())
}

/// Writes the members of one stage: every matching pair by id (streamed page by page), or
/// (with a limit) the `limit` matching pairs of lowest hash, then in id order.
async fn write_stage(
    db: &impl ConnectionTrait,
    out: &mut MemberWriter,
    rule: Option<&pairwise_core::recipe::SplitRule>,
    stage: &Stage,
) -> Result<()> {
    if stage.limit.is_some() {
        let ids = stage_member_ids(db, stage).await?;
        return write_ids(db, out, rule, &ids).await;
    }
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
}

/// The stages of `recipe` over a project, with the κ gate's exclusions when it applies. A
/// selection resting on more than one rubric version is refused unless the recipe names them.
async fn stages_of(
    db: &impl ConnectionTrait,
    project_id: i64,
    recipe: &Recipe,
) -> Result<Vec<Stage>> {
    let mut base = Condition::all()
        .add(pair::Column::ProjectId.eq(project_id))
        .add(filter_condition(
            &recipe.sources,
            &recipe.strategies,
            recipe.min_margin,
            recipe.max_margin,
        ));
    if !recipe.rubrics.is_empty() {
        base = base.add(pair::Column::Rubric.is_in(recipe.rubrics.clone()));
    }
    if recipe.gated() {
        let gated = crate::annotation::gated_human_pairs(db, project_id).await?;
        if !gated.is_empty() {
            base = base.add(pair::Column::Id.is_not_in(gated));
        }
    }
    let reviewed_out = crate::annotation::reviewed_out_human_pairs(
        db,
        project_id,
        recipe.votes.unwrap_or_default(),
    )
    .await?;
    if !reviewed_out.is_empty() {
        base = base.add(pair::Column::Id.is_not_in(reviewed_out));
    }
    if recipe.rubrics.is_empty() {
        let rubrics: Vec<String> = pair::Entity::find()
            .select_only()
            .column(pair::Column::Rubric)
            .distinct()
            .filter(base.clone())
            .filter(pair::Column::Rubric.ne(""))
            .order_by_asc(pair::Column::Rubric)
            .limit(5)
            .into_tuple()
            .all(db)
            .await?;
        if rubrics.len() > 1 {
            return Err(StoreError::invalid(
                "rubrics",
                format!(
                    "the selected pairs rest on several rubric versions ({}{}): name the ones                      to take in `rubrics`, so data judged under different rubrics is not mixed                      silently",
                    rubrics.join(", "),
                    if rubrics.len() == 5 { ", …" } else { "" }
                ),
            ));
        }
    }
    Ok(recipe_stages(base, recipe))
}

/// The ids of the pairs `recipe`'s filters, gate and mix select, in member order: what a
/// freeze would write before curation.
pub async fn staged_ids(
    db: &DatabaseConnection,
    project_id: i64,
    recipe: &Recipe,
) -> Result<Vec<i64>> {
    recipe
        .validate()
        .map_err(|m| StoreError::invalid("recipe", m))?;
    let mut ids = Vec::new();
    for stage in stages_of(db, project_id, recipe).await? {
        ids.extend(stage_member_ids(db, &stage).await?);
    }
    Ok(ids)
}

/// What curation reads of a selected pair.
#[derive(Debug, Clone)]
pub struct CurationRow {
    pub id: i64,
    pub hash: String,
    /// The last user turn.
    pub prompt_text: String,
    pub chosen: String,
    pub rejected: String,
}

/// The curation columns of pairs `ids` (at most a page), in the order of `ids`.
pub async fn curation_page(db: &DatabaseConnection, ids: &[i64]) -> Result<Vec<CurationRow>> {
    let rows: Vec<(i64, String, String, String, String)> = pair::Entity::find()
        .select_only()
        .column(pair::Column::Id)
        .column(pair::Column::Hash)
        .column(pair::Column::PromptText)
        .column(pair::Column::Chosen)
        .column(pair::Column::Rejected)
        .filter(pair::Column::Id.is_in(ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    let mut by_id: std::collections::HashMap<i64, CurationRow> = rows
        .into_iter()
        .map(|(id, hash, prompt_text, chosen, rejected)| {
            let row = CurationRow {
                id,
                hash,
                prompt_text,
                chosen,
                rejected,
            };
            (id, row)
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The row of a version about to be written.
struct NewVersion<'a> {
    project_id: i64,
    tag: &'a str,
    parent_id: Option<i64>,
    recipe: &'a Recipe,
    created_by: Option<i64>,
    /// JSON of the curation report, if the recipe curated.
    curation: Option<String>,
}

/// Writes a version row and its members inside `txn`; returns the finished row.
async fn write_version<C: ConnectionTrait>(
    txn: &C,
    new: NewVersion<'_>,
    source: Members,
) -> Result<dataset_version::Model> {
    let recipe = new.recipe;
    let row = dataset_version::ActiveModel {
        project_id: Set(new.project_id),
        tag: Set(new.tag.to_owned()),
        parent_id: Set(new.parent_id),
        recipe: Set(serde_json::to_string(recipe).unwrap_or_default()),
        content_hash: Set(String::new()),
        pair_count: Set(0),
        created_by: Set(new.created_by),
        created_at: Set(chrono::Utc::now()),
        curation: Set(new.curation),
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
        Members::Ids(ids) => write_ids(txn, &mut out, rule, &ids).await?,
    }
    // The one write after the insert, inside the same transaction, before anyone can see it.
    let mut finished: dataset_version::ActiveModel = row.into();
    finished.content_hash = Set(hex::encode(out.hasher.finalize()));
    finished.pair_count = Set(out.position);
    Ok(finished.update(txn).await?)
}

/// Checks that `tag` is a valid tag no version of the project has yet.
pub async fn ensure_new_tag(db: &impl ConnectionTrait, project_id: i64, tag: &str) -> Result<()> {
    validate_tag(tag)?;
    if find(db, project_id, tag).await?.is_some() {
        return Err(StoreError::Conflict(format!(
            "dataset version `{tag}` already exists and is frozen"
        )));
    }
    Ok(())
}

/// What a freeze writes: the recipe's stages as they stand inside the transaction, or a
/// curated member list with its report (JSON).
enum Selection {
    Recipe,
    Curated(Vec<i64>, String),
}

async fn freeze_selection(
    db: &DatabaseConnection,
    project_id: i64,
    tag: &str,
    recipe: &Recipe,
    created_by: Option<i64>,
    selection: Selection,
) -> Result<DatasetVersionView> {
    recipe
        .validate()
        .map_err(|m| StoreError::invalid("recipe", m))?;
    let txn = db.begin().await?;
    ensure_new_tag(&txn, project_id, tag).await?;
    let parent = latest(&txn, project_id).await?.map(|p| p.id);
    let (members, curation) = match selection {
        Selection::Recipe => (
            Members::Staged(stages_of(&txn, project_id, recipe).await?),
            None,
        ),
        Selection::Curated(ids, report) => (Members::Ids(ids), Some(report)),
    };
    let new = NewVersion {
        project_id,
        tag,
        parent_id: parent,
        recipe,
        created_by,
        curation,
    };
    let model = write_version(&txn, new, members).await?;
    let v = view(&txn, &model).await?;
    txn.commit().await?;
    Ok(v)
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
    freeze_selection(db, project_id, tag, recipe, created_by, Selection::Recipe).await
}

/// Freezes exactly the pairs `ids` (a recipe's selection after its curation rules, see
/// [`staged_ids`]) as version `tag`, in that order, with the curation report beside the recipe.
pub async fn freeze_members(
    db: &DatabaseConnection,
    project_id: i64,
    tag: &str,
    recipe: &Recipe,
    created_by: Option<i64>,
    ids: Vec<i64>,
    curation: &pairwise_core::dto::CurationReport,
) -> Result<DatasetVersionView> {
    let report = serde_json::to_string(curation)
        .map_err(|e| StoreError::invalid("curation", e.to_string()))?;
    let selection = Selection::Curated(ids, report);
    freeze_selection(db, project_id, tag, recipe, created_by, selection).await
}

/// A new version `tag` with exactly the pairs of version `from` (rollback without rewriting).
pub async fn rollback(
    db: &DatabaseConnection,
    project_id: i64,
    from: &str,
    tag: &str,
    created_by: Option<i64>,
) -> Result<DatasetVersionView> {
    let txn = db.begin().await?;
    ensure_new_tag(&txn, project_id, tag).await?;
    let source = require(&txn, project_id, from).await?;
    let recipe: Recipe = serde_json::from_str(&source.recipe).unwrap_or_default();
    let new = NewVersion {
        project_id,
        tag,
        parent_id: Some(source.id),
        recipe: &recipe,
        created_by,
        curation: source.curation.clone(),
    };
    let model = write_version(&txn, new, Members::CopyOf(source.id)).await?;
    let v = view(&txn, &model).await?;
    txn.commit().await?;
    Ok(v)
}
