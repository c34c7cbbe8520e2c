//! A slice `[lo, hi)` of a run's prompt list (or, for a judge run's gold part, of the project's
//! gold item ids) that one worker processes at a time.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "job_chunks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub job_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub idx: i32,
    pub lo: i64,
    pub hi: i64,
    /// `pending`, `running` or `done`.
    pub status: String,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub attempts: i32,
    pub done: i64,
    pub tokens: i64,
    /// `prompts` (the range is of prompt ids) or `gold` (of gold item ids).
    pub part: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
