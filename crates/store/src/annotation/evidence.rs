//! Which candidates an annotation item compares, where it compares two: the items queued from a
//! judge's inconsistent verdict, and those queued from a pair built from a judge run. Votes on
//! them are evidence for ranking a prompt's candidates.

use crate::{
    entities::{comparison, judgment, pair},
    error::Result,
};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use std::collections::HashMap;

/// An item's id, judgment, pair and reference label.
type ItemRow = (i64, Option<i64>, Option<i64>, Option<String>);

/// The candidates shown as X and Y of each such item of a project, by item id.
pub async fn item_candidates(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<HashMap<i64, (i64, i64)>> {
    let items: Vec<ItemRow> = comparison::Entity::find()
        .select_only()
        .columns([
            comparison::Column::Id,
            comparison::Column::JudgmentId,
            comparison::Column::PairId,
            comparison::Column::ReferenceLabel,
        ])
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(
            Condition::any()
                .add(comparison::Column::JudgmentId.is_not_null())
                .add(comparison::Column::PairId.is_not_null()),
        )
        .into_tuple()
        .all(db)
        .await?;
    let mut out = HashMap::new();
    if items.is_empty() {
        return Ok(out);
    }
    // X is the judgment's first candidate (fill_from_inconsistent) …
    let judged: HashMap<i64, (i64, Option<i64>)> = judgment::Entity::find()
        .select_only()
        .columns([
            judgment::Column::Id,
            judgment::Column::CandidateId,
            judgment::Column::OtherCandidateId,
        ])
        .filter(judgment::Column::Id.is_in(items.iter().filter_map(|i| i.1)))
        .into_tuple::<(i64, i64, Option<i64>)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, a, b)| (id, (a, b)))
        .collect();
    // … or, for a pair (fill_from_pairs draws which side is X), the side its reference label
    // names as the pair's chosen one, as the pair's provenance records the candidates.
    let built: HashMap<i64, String> = pair::Entity::find()
        .select_only()
        .columns([pair::Column::Id, pair::Column::Provenance])
        .filter(pair::Column::Id.is_in(items.iter().filter_map(|i| i.2)))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for (item, judgment_id, pair_id, label) in items {
        let sides = match (judgment_id, pair_id) {
            (Some(j), _) => judged.get(&j).and_then(|&(a, b)| Some((a, b?))),
            (None, Some(p)) => built.get(&p).and_then(|text| {
                let provenance: serde_json::Value = serde_json::from_str(text).ok()?;
                let side = |key: &str| provenance.get(key)?.get("candidate")?.as_i64();
                let (chosen, rejected) = (side("chosen")?, side("rejected")?);
                match label.as_deref() {
                    Some("x") => Some((chosen, rejected)),
                    Some("y") => Some((rejected, chosen)),
                    _ => None,
                }
            }),
            (None, None) => None,
        };
        if let Some(sides) = sides {
            out.insert(item, sides);
        }
    }
    Ok(out)
}
