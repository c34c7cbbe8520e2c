//! An annotator's decision on one showing.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "votes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub assignment_id: i64,
    pub project_id: i64,
    pub comparison_id: i64,
    pub annotator_id: i64,
    pub kind: String,
    pub left_side: String,
    /// As pressed: `a` (left), `b` (right), `tie` or `both_bad`.
    pub choice: String,
    /// In item terms: `x`, `y`, `tie` or `both_bad`.
    pub label: String,
    /// JSON object dimension → `a`/`b`/`tie` as pressed.
    pub dimensions: String,
    pub rationale: String,
    pub duration_ms: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
