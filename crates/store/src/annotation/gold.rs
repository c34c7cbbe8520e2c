//! Silent gold: inserting gold items from parsed pairs, marking an item gold, and promoting
//! unseen pair items to gold.

use super::fill::{insert_items, new_item, redteam_prompts};
use crate::{
    entities::{assignment, comparison},
    error::{Result, StoreError},
};
use chrono::Utc;
use pairwise_core::annotation as core;
use rand::{rngs::StdRng, Rng};
use sea_orm::{
    sea_query::{Expr, Query},
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};

/// New gold items from parsed pairs: the chosen answer is the agreed one, X or Y at random.
/// Returns how many were new (an item already queued is left as it is).
pub async fn insert_gold(
    db: &impl ConnectionTrait,
    project_id: i64,
    pairs: &[crate::pairs::HashedPair],
    source: &str,
    rng: &mut StdRng,
) -> Result<u64> {
    let now = Utc::now();
    let redteam = redteam_prompts(db, project_id).await?;
    let rows = pairs
        .iter()
        .map(|p| {
            let r = &p.record;
            let prompt = serde_json::to_string(&r.prompt).unwrap_or_default();
            let text = pairwise_core::ChatMessage::last_user_text(&r.prompt);
            let chosen_is_x: bool = rng.gen();
            let (x, y, answer) = if chosen_is_x {
                (r.chosen.as_str(), r.rejected.as_str(), "x")
            } else {
                (r.rejected.as_str(), r.chosen.as_str(), "y")
            };
            let red = redteam.contains(&pairwise_core::normalize_text(&text));
            let mut row = new_item(
                project_id,
                &prompt,
                &text,
                (x, y),
                &format!("gold {source}"),
                2.0,
                None,
                red,
                now,
            );
            row.gold_answer = Set(Some(answer.to_owned()));
            row
        })
        .collect();
    insert_items(db, rows).await
}

/// Makes an item gold with an agreed answer (`x`, `y`, `tie`, `both_bad`). From then on it is
/// served only as silent gold.
pub async fn set_gold(
    db: &impl ConnectionTrait,
    project_id: i64,
    comparison_id: i64,
    answer: &str,
) -> Result<()> {
    let answer = core::parse_label(answer).map_err(|m| StoreError::invalid("answer", m))?;
    let res = comparison::Entity::update_many()
        .col_expr(comparison::Column::GoldAnswer, Expr::value(answer))
        .filter(comparison::Column::Id.eq(comparison_id))
        .filter(comparison::Column::ProjectId.eq(project_id))
        .exec(db)
        .await?;
    if res.rows_affected == 0 {
        return Err(StoreError::NotFound(format!("item {comparison_id}")));
    }
    Ok(())
}

/// Promotes `n` items made from pairs, not yet shown to anyone, to gold with the pair's
/// preference as the agreed answer (a reviewer vouches for that source). Returns how many.
pub async fn gold_from_pairs(db: &DatabaseConnection, project_id: i64, n: u64) -> Result<u64> {
    let shown = Query::select()
        .column(assignment::Column::ComparisonId)
        .from(assignment::Entity)
        .and_where(assignment::Column::ProjectId.eq(project_id))
        .to_owned();
    let picked = comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(comparison::Column::GoldAnswer.is_null())
        .filter(comparison::Column::ReferenceLabel.is_not_null())
        .filter(comparison::Column::Id.not_in_subquery(shown))
        .order_by_desc(comparison::Column::Rank)
        .order_by_desc(comparison::Column::Id)
        .limit(n)
        .all(db)
        .await?;
    let txn = db.begin().await?;
    for c in &picked {
        let answer = c.reference_label.clone().unwrap_or_default();
        set_gold(&txn, project_id, c.id, &answer).await?;
    }
    txn.commit().await?;
    Ok(picked.len() as u64)
}
