//! One iteration round of a project: a generator version, the generation and judge runs made
//! with it, the dataset version made from them and the generator's evaluation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rounds")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub number: i32,
    pub name: String,
    /// The registered model's name.
    pub generator: String,
    pub generator_version: String,
    /// JSON array of run ids.
    pub generation_runs: String,
    /// JSON array of run ids.
    pub judge_runs: String,
    pub dataset_version: Option<String>,
    pub eval_job_id: Option<i64>,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
