//! The κ gate's verdict on an annotator or an item; released by a reviewer, or active.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "quarantines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// `annotator` (a user id) or `item` (a comparison id).
    pub subject_kind: String,
    pub subject_id: i64,
    pub metric: Option<f64>,
    pub reason: String,
    pub created_at: DateTimeUtc,
    pub released_by: Option<i64>,
    pub released_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
