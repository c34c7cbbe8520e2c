//! Queue settings of a project's annotation (a missing row means the defaults).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "annotation_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub project_id: i64,
    /// Annotators per item (k).
    pub overlap: i32,
    /// Share of an annotator's items shown again later with the sides swapped.
    pub repeat_rate: f64,
    /// Share of an annotator's items drawn from the golden set.
    pub gold_rate: f64,
    /// Items an annotator may hold at once (the current one and those prefetched).
    pub max_pending: i32,
    pub lease_seconds: i32,
    /// κ below which annotators and items are quarantined.
    pub kappa_threshold: f64,
    pub updated_at: DateTimeUtc,
    /// Reading speed (characters of the two answers per second) a vote may not beat.
    pub fast_vote_chars_per_s: f64,
    /// The gate also excludes votes cast faster than that.
    pub gate_fast_votes: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
