//! A generated candidate answer; `(job_id, prompt_id, idx)` is unique (resumable generation).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "candidates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub job_id: i64,
    pub prompt_id: i64,
    /// `conservative`, `diverse` or `adversarial`.
    pub path: String,
    pub idx: i32,
    /// `name@version` of the adversarial prompt transform.
    pub transform: Option<String>,
    pub text: String,
    /// JSON of every decoding parameter.
    pub params: String,
    /// The candidate's u64 seed, in decimal.
    pub seed: String,
    pub model_version: String,
    pub provider: String,
    pub finish_reason: String,
    pub token_count: i32,
    pub mean_logprob: f64,
    pub prefill_ms: f64,
    pub decode_ms: f64,
    /// Mean per-token log-prob under a reference model (hard-negative analysis).
    pub ref_logprob: Option<f64>,
    pub ref_model_version: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
