//! The pair at one position of a dataset version.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "dataset_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub version_id: i64,
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i64,
    pub pair_id: i64,
    /// `train` or `eval`, decided at freeze time (`None` on versions frozen before splits were
    /// stored: derived on read).
    pub split: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::pair::Entity",
        from = "Column::PairId",
        to = "super::pair::Column::Id"
    )]
    Pair,
}

impl ActiveModelBehavior for ActiveModel {}
