//! A reviewer's current decision on a vote: `accepted`, `rejected` or `requeued`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "vote_reviews")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    #[sea_orm(unique)]
    pub vote_id: i64,
    pub decision: String,
    pub reason: String,
    /// The reviewer's name as the audit log records it.
    pub reviewer: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
