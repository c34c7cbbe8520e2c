//! One showing of a comparison to an annotator, with the side drawn for the left and a lease.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "assignments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub comparison_id: i64,
    pub annotator_id: i64,
    /// `main`, `repeat` (a planned swapped showing) or `gold`.
    pub kind: String,
    /// The overlap slot a main assignment holds (0..k); none for repeats, gold and skips.
    pub slot: Option<i32>,
    /// `x` or `y`: which answer was shown on the left (as A).
    pub left_side: String,
    pub repeat_of: Option<i64>,
    /// `pending`, `voted` or `skipped`.
    pub status: String,
    pub skip_reason: Option<String>,
    pub lease_expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::comparison::Entity",
        from = "Column::ComparisonId",
        to = "super::comparison::Column::Id"
    )]
    Comparison,
}

impl Related<super::comparison::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Comparison.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
