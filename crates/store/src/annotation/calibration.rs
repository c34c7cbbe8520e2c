//! What calibration reads from the store: votes, items, skips, judge order flips and
//! quarantines of a project, with annotator names.

use super::SKIPPED;
use crate::{
    entities::{assignment, comparison, judgment, quarantine, rubric, user, vote},
    error::Result,
    rfc3339,
};
use pairwise_core::annotation::{GoldVerdict, ItemInfo, JudgeFlips, QuarantineView, VoteRow};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::{BTreeMap, HashMap};

/// What calibration needs from the store.
pub struct CalibrationData {
    pub votes: Vec<VoteRow>,
    pub items: BTreeMap<i64, ItemInfo>,
    pub prompts: BTreeMap<i64, String>,
    pub skipped: BTreeMap<String, u64>,
    pub judge_flips: Vec<JudgeFlips>,
    pub quarantines: Vec<QuarantineView>,
    /// Annotator names → user ids (for the gate).
    pub users: BTreeMap<String, i64>,
    /// Each vote's day (UTC, `YYYY-MM-DD`).
    pub vote_days: BTreeMap<i64, String>,
    /// Finished judge runs' verdicts on gold items.
    pub gold_verdicts: Vec<GoldVerdict>,
}

impl CalibrationData {
    /// Judge runs and human votes against the items' current gold answers.
    pub fn gold_drift(&self) -> pairwise_core::annotation::drift::GoldDrift {
        pairwise_core::annotation::drift::gold_drift(
            &self.gold_verdicts,
            &self.votes,
            &self.items,
            &self.vote_days,
        )
    }
}

/// A vote's per-dimension choices, stored as pressed (`a` = left), in item terms.
pub(super) fn dimensions_in_item_terms(stored: &str, left_side: &str) -> BTreeMap<String, String> {
    let left = pairwise_core::annotation::Side::parse(left_side)
        .unwrap_or(pairwise_core::annotation::Side::X);
    let pressed: BTreeMap<String, String> = serde_json::from_str(stored).unwrap_or_default();
    pressed
        .into_iter()
        .filter_map(|(dimension, c)| {
            let choice = pairwise_core::annotation::Choice::parse(&c).ok()?;
            Some((dimension, choice.label(left).to_owned()))
        })
        .collect()
}

pub async fn calibration_data(
    db: &impl ConnectionTrait,
    project_id: i64,
) -> Result<CalibrationData> {
    let names: HashMap<i64, String> = user::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.username))
        .collect();
    let name = |id: i64| {
        names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("user {id}"))
    };
    let stored = vote::Entity::find()
        .filter(vote::Column::ProjectId.eq(project_id))
        .order_by_asc(vote::Column::Id)
        .all(db)
        .await?;
    let vote_days = stored
        .iter()
        .map(|v| (v.id, v.created_at.format("%Y-%m-%d").to_string()))
        .collect();
    let votes = stored
        .into_iter()
        .map(|v| VoteRow {
            id: v.id,
            comparison: v.comparison_id,
            annotator: name(v.annotator_id),
            kind: v.kind,
            label: v.label,
            dimensions: dimensions_in_item_terms(&v.dimensions, &v.left_side),
            choice: v.choice,
            duration_ms: v.duration_ms,
            rationale: v.rationale,
        })
        .collect();
    let mut items = BTreeMap::new();
    let mut prompts = BTreeMap::new();
    for c in comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .all(db)
        .await?
    {
        items.insert(
            c.id,
            ItemInfo {
                gold: c.gold_answer,
                reference_label: c.reference_label,
                reference: c.reference,
                chars: (c.answer_x.chars().count() + c.answer_y.chars().count()) as u64,
            },
        );
        prompts.insert(c.id, c.prompt_text.chars().take(140).collect());
    }
    let mut skipped = BTreeMap::new();
    for a in assignment::Entity::find()
        .filter(assignment::Column::ProjectId.eq(project_id))
        .filter(assignment::Column::Status.eq(SKIPPED))
        .all(db)
        .await?
    {
        *skipped.entry(name(a.annotator_id)).or_insert(0u64) += 1;
    }
    let rubrics: HashMap<i64, String> = rubric::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, format!("{}@{}", r.name, r.version)))
        .collect();
    let mut flips: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
    for j in judgment::Entity::find()
        .filter(judgment::Column::ProjectId.eq(project_id))
        .filter(judgment::Column::Mode.eq("pairwise"))
        .filter(judgment::Column::ParseOk.eq(true))
        .all(db)
        .await?
    {
        let key = (
            j.judge_version.clone(),
            rubrics.get(&j.rubric_id).cloned().unwrap_or_default(),
        );
        let e = flips.entry(key).or_default();
        e.0 += 1;
        e.1 += u64::from(j.consistent == Some(false));
    }
    let judge_flips = flips
        .into_iter()
        .map(|((judge, rubric), (n, flips))| JudgeFlips {
            judge,
            rubric,
            n,
            flips,
        })
        .collect();
    let quarantines = quarantine::Entity::find()
        .filter(quarantine::Column::ProjectId.eq(project_id))
        .order_by_asc(quarantine::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(|q| QuarantineView {
            id: q.id,
            subject: if q.subject_kind == "annotator" {
                name(q.subject_id)
            } else {
                format!("item {}", q.subject_id)
            },
            kind: q.subject_kind,
            metric: q.metric,
            reason: q.reason,
            created_at: rfc3339(&q.created_at),
            released: q.released_at.is_some(),
        })
        .collect();
    let users = names.into_iter().map(|(id, n)| (n, id)).collect();
    let gold_verdicts = crate::judgments::gold::verdicts(db, project_id, &rubrics).await?;
    Ok(CalibrationData {
        votes,
        items,
        prompts,
        skipped,
        judge_flips,
        quarantines,
        users,
        vote_days,
        gold_verdicts,
    })
}

/// The items `ids` of a project (ids of other projects are left out).
pub async fn comparisons(
    db: &impl ConnectionTrait,
    project_id: i64,
    ids: impl IntoIterator<Item = i64>,
) -> Result<Vec<comparison::Model>> {
    Ok(comparison::Entity::find()
        .filter(comparison::Column::ProjectId.eq(project_id))
        .filter(comparison::Column::Id.is_in(ids))
        .all(db)
        .await?)
}
