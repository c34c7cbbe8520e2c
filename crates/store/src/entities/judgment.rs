//! One judgment of a judge run: pointwise scores of a candidate, or a pairwise comparison of two
//! candidates in both orders. `(job_id, item_key)` is unique (resumable judging).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "judgments")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub job_id: i64,
    pub rubric_id: i64,
    /// `json`, `prob`, `pairwise` or `reward`.
    pub mode: String,
    pub item_key: String,
    pub candidate_id: i64,
    /// The second candidate of a pairwise judgment.
    pub other_candidate_id: Option<i64>,
    /// JSON object of scores per dimension (pointwise modes).
    pub scores: Option<String>,
    pub overall: Option<f64>,
    /// Pairwise: `first`, `second` or `tie` when the first candidate was shown as A …
    pub winner_ab: Option<String>,
    /// … and when it was shown as B.
    pub winner_ba: Option<String>,
    pub consistent: Option<bool>,
    /// Marked for human review (pairwise orders disagree).
    pub needs_review: bool,
    pub parse_ok: bool,
    pub attempts: i32,
    /// The judge's raw output (kept for failures and audits).
    pub raw_output: String,
    pub judge_version: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
