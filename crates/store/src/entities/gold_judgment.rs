//! What a judge run preferred on one of the project's gold items, in the item's x/y terms. Kept
//! apart from `judgments`: nothing here becomes a pair.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "gold_judgments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub job_id: i64,
    pub comparison_id: i64,
    pub rubric_id: i64,
    /// json, prob, pairwise or reward.
    pub mode: String,
    pub judge_version: String,
    /// `x`, `y` or `tie`; `None` when the judge's output could not be read.
    pub label: Option<String>,
    /// Pointwise modes: the overall score of each answer.
    pub score_x: Option<f64>,
    pub score_y: Option<f64>,
    pub raw_output: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
