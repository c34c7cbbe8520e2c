//! A prompt of a project; `(project_id, hash)` is unique so equal prompts are stored once.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prompts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub external_id: Option<String>,
    pub text: String,
    /// JSON list of `{role, content}` when the prompt is a chat.
    pub messages: Option<String>,
    pub source: Option<String>,
    pub domain: Option<String>,
    pub split: String,
    /// JSON object of the import's other fields.
    pub metadata: String,
    pub hash: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
