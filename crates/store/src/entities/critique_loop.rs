//! One prompt of a critique → revision loop run: the principle, the original answer, every
//! critique and revision (`steps`, JSON), how the loop ended and the hash of the pair it made.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "critique_loops")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub job_id: i64,
    pub prompt_id: i64,
    pub constitution_id: i64,
    pub principle: String,
    pub original: String,
    pub final_text: String,
    pub revisions: i32,
    /// `pairwise_core::constitution::LoopEnd` as text.
    pub ended_as: String,
    /// JSON array of `pairwise_core::constitution::LoopStep`.
    pub steps: String,
    pub pair_hash: Option<String>,
    /// JSON object: generator, critic and reviser (name, version), parameters and seeds.
    pub provenance: String,
    pub tokens: i64,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
