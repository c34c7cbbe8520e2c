//! One item of a judge duel: the pairwise judge's verdict in both orders on two answers to one
//! prompt (`first`, `second` or `tie`, in terms of the answers, not the positions).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "duel_verdicts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub job_id: i64,
    /// A pair id (guards) or a prompt id (rounds).
    pub item_id: i64,
    /// The guard kind, or `round`.
    pub grp: String,
    pub winner_ab: String,
    pub winner_ba: String,
    /// The letters' probabilities in each order (JSON).
    pub raw: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
