//! The split (`train` / `eval`) of each member of a dataset version, decided once at freeze time
//! from the frozen recipe, so the pair browser can filter by it and exports need not recompute it.
//! Versions frozen before this migration keep `NULL` and have their split derived on read (the
//! same pure function of recipe and pair).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DatasetMembers::Table)
                    .add_column(string_null(DatasetMembers::Split))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_dataset_members_split")
                    .table(DatasetMembers::Table)
                    .col(DatasetMembers::VersionId)
                    .col(DatasetMembers::Split)
                    .col(DatasetMembers::Position)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_dataset_members_split")
                    .table(DatasetMembers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DatasetMembers::Table)
                    .drop_column(DatasetMembers::Split)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum DatasetMembers {
    Table,
    VersionId,
    Position,
    Split,
}
