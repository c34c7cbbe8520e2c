//! One prompt of a safety evaluation run: the model's answer, whether the prompt was harmful,
//! the refusal classifier's label and the judge's overall score (benign prompts, with a judge).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "eval_answers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub job_id: i64,
    pub prompt_id: i64,
    pub harmful: bool,
    pub answer: String,
    /// full_compliance, full_refusal or partial_refusal.
    pub label: String,
    pub score: Option<f64>,
    pub tokens: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
