//! Per-project queue settings and per-annotator preferences (the red-team opt-out): read with
//! defaults, written as upserts.

use crate::{
    entities::{annotation_settings, annotator_pref, comparison},
    error::{Result, StoreError},
};
use chrono::Utc;
use pairwise_core::annotation::AnnotationSettings;
use sea_orm::{sea_query::Expr, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

impl From<&annotation_settings::Model> for AnnotationSettings {
    fn from(s: &annotation_settings::Model) -> Self {
        Self {
            overlap: s.overlap,
            repeat_rate: s.repeat_rate,
            gold_rate: s.gold_rate,
            max_pending: s.max_pending,
            lease_seconds: s.lease_seconds,
            kappa_threshold: s.kappa_threshold,
            fast_vote_chars_per_s: s.fast_vote_chars_per_s,
            gate_fast_votes: s.gate_fast_votes,
        }
    }
}

pub async fn settings(db: &impl ConnectionTrait, project_id: i64) -> Result<AnnotationSettings> {
    Ok(annotation_settings::Entity::find_by_id(project_id)
        .one(db)
        .await?
        .map(|s| AnnotationSettings::from(&s))
        .unwrap_or_default())
}

pub async fn set_settings(
    db: &impl ConnectionTrait,
    project_id: i64,
    s: &AnnotationSettings,
) -> Result<()> {
    s.validate()
        .map_err(|(field, message)| StoreError::invalid(field, message))?;
    let row = annotation_settings::ActiveModel {
        project_id: Set(project_id),
        overlap: Set(s.overlap),
        repeat_rate: Set(s.repeat_rate),
        gold_rate: Set(s.gold_rate),
        max_pending: Set(s.max_pending),
        lease_seconds: Set(s.lease_seconds),
        kappa_threshold: Set(s.kappa_threshold),
        fast_vote_chars_per_s: Set(s.fast_vote_chars_per_s),
        gate_fast_votes: Set(s.gate_fast_votes),
        updated_at: Set(Utc::now()),
    };
    annotation_settings::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(annotation_settings::Column::ProjectId)
                .update_columns([
                    annotation_settings::Column::Overlap,
                    annotation_settings::Column::RepeatRate,
                    annotation_settings::Column::GoldRate,
                    annotation_settings::Column::MaxPending,
                    annotation_settings::Column::LeaseSeconds,
                    annotation_settings::Column::KappaThreshold,
                    annotation_settings::Column::FastVoteCharsPerS,
                    annotation_settings::Column::GateFastVotes,
                    annotation_settings::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    // k may have grown: every item is a candidate again; the queue re-marks the full ones.
    comparison::Entity::update_many()
        .col_expr(comparison::Column::Saturated, Expr::value(false))
        .filter(comparison::Column::ProjectId.eq(project_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn redteam_opt_out(db: &impl ConnectionTrait, user_id: i64) -> Result<bool> {
    Ok(annotator_pref::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .is_some_and(|p| p.redteam_opt_out))
}

pub async fn set_redteam_opt_out(db: &impl ConnectionTrait, user_id: i64, on: bool) -> Result<()> {
    annotator_pref::Entity::insert(annotator_pref::ActiveModel {
        user_id: Set(user_id),
        redteam_opt_out: Set(on),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(annotator_pref::Column::UserId)
            .update_columns([
                annotator_pref::Column::RedteamOptOut,
                annotator_pref::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}
