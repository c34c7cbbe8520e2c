//! A preference pair of a project; `(project_id, hash)` is unique.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "pairs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    /// sha256 of the canonical JSON of the normalized prompt, chosen and rejected.
    pub hash: String,
    /// JSON list of `{role, content}` turns before the answers.
    pub prompt: String,
    /// The last user turn, for search and lists.
    pub prompt_text: String,
    pub chosen: String,
    pub rejected: String,
    /// How the pair was made: `imported`, `extreme`, `margin`, `human`.
    pub strategy: String,
    pub margin: Option<f64>,
    pub score_chosen: Option<f64>,
    pub score_rejected: Option<f64>,
    /// Where it came from (file name, run id).
    pub source: String,
    /// JSON object: model, judge and rubric versions, decoding params and seeds, agreement.
    pub provenance: String,
    /// JSON object of the row's other fields.
    pub metadata: String,
    pub created_at: DateTimeUtc,
    /// The rubric version (`name@version`) the pair rests on; empty when no rubric decided it.
    pub rubric: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
