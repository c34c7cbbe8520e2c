//! Who did what to which object, and when.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_id: Option<i64>,
    /// The actor's name at the time (a username or `cli`); `NULL` on entries before migration 7.
    pub actor_name: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
    /// The project's name, where the action concerns one.
    pub project: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
