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
