//! A registered model: a directory in the optimum layout with its content-hash version.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "models")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// `generator`, `judge`, `reward` or `reference`.
    pub kind: String,
    /// The model directory (absolute).
    pub path: String,
    /// Content hash of the directory's files when last checked.
    pub version: String,
    /// Execution provider asked for: `cpu`, `cuda` or `auto`.
    pub device: String,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    pub checked_at: DateTimeUtc,
    /// A model behind an OpenAI-compatible server: its connection as JSON (no secret; the API
    /// key is named by an environment variable). `None`: a local ONNX directory.
    pub remote: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
