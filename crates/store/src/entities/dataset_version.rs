//! A frozen dataset version: never updated after it is written.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dataset_versions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub project_id: i64,
    pub tag: String,
    pub parent_id: Option<i64>,
    /// JSON of the recipe that selected the pairs.
    pub recipe: String,
    /// sha256 over the ordered pair hashes.
    pub content_hash: String,
    pub pair_count: i64,
    pub created_by: Option<i64>,
    pub created_at: DateTimeUtc,
    /// JSON of the curation report (`CurationReport`), for recipes with curation rules.
    pub curation: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
