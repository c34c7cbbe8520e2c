//! What a recipe's curation rules did to a version (pairs before and after, drops per rule), as
//! JSON on the version row. Versions frozen before this migration keep `NULL`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DatasetVersions::Table)
                    .add_column(text_null(DatasetVersions::Curation))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(DatasetVersions::Table)
                    .drop_column(DatasetVersions::Curation)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum DatasetVersions {
    Table,
    Curation,
}
