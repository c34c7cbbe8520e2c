//! Preference pairs (deduplicated per project by their stable hash), frozen dataset versions and
//! their ordered membership.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Pairs::Table)
                    .if_not_exists()
                    .col(big_pk_auto(Pairs::Id))
                    .col(big_integer(Pairs::ProjectId))
                    .col(string(Pairs::Hash))
                    .col(text(Pairs::Prompt))
                    .col(text(Pairs::PromptText))
                    .col(text(Pairs::Chosen))
                    .col(text(Pairs::Rejected))
                    .col(string(Pairs::Strategy))
                    .col(double_null(Pairs::Margin))
                    .col(double_null(Pairs::ScoreChosen))
                    .col(double_null(Pairs::ScoreRejected))
                    .col(string(Pairs::Source))
                    .col(text(Pairs::Provenance))
                    .col(text(Pairs::Metadata))
                    .col(timestamp_with_time_zone(Pairs::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Pairs::Table, Pairs::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_pairs_project_hash")
                    .table(Pairs::Table)
                    .col(Pairs::ProjectId)
                    .col(Pairs::Hash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Freezing pages through a project's pairs in id order: keep that a range scan.
        manager
            .create_index(
                Index::create()
                    .name("idx_pairs_project_id")
                    .table(Pairs::Table)
                    .col(Pairs::ProjectId)
                    .col(Pairs::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DatasetVersions::Table)
                    .if_not_exists()
                    .col(big_pk_auto(DatasetVersions::Id))
                    .col(big_integer(DatasetVersions::ProjectId))
                    .col(string(DatasetVersions::Tag))
                    .col(big_integer_null(DatasetVersions::ParentId))
                    .col(text(DatasetVersions::Recipe))
                    .col(string(DatasetVersions::ContentHash))
                    .col(big_integer(DatasetVersions::PairCount))
                    .col(big_integer_null(DatasetVersions::CreatedBy))
                    .col(timestamp_with_time_zone(DatasetVersions::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(DatasetVersions::Table, DatasetVersions::ProjectId)
                            .to(Projects::Table, Projects::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_dataset_versions_project_tag")
                    .table(DatasetVersions::Table)
                    .col(DatasetVersions::ProjectId)
                    .col(DatasetVersions::Tag)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DatasetMembers::Table)
                    .if_not_exists()
                    .col(big_integer(DatasetMembers::VersionId))
                    .col(big_integer(DatasetMembers::Position))
                    .col(big_integer(DatasetMembers::PairId))
                    .primary_key(
                        Index::create()
                            .col(DatasetMembers::VersionId)
                            .col(DatasetMembers::Position),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DatasetMembers::Table, DatasetMembers::VersionId)
                            .to(DatasetVersions::Table, DatasetVersions::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(DatasetMembers::Table, DatasetMembers::PairId)
                            .to(Pairs::Table, Pairs::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(DatasetMembers::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DatasetVersions::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Pairs::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Projects {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Pairs {
    Table,
    Id,
    ProjectId,
    Hash,
    Prompt,
    PromptText,
    Chosen,
    Rejected,
    Strategy,
    Margin,
    ScoreChosen,
    ScoreRejected,
    Source,
    Provenance,
    Metadata,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DatasetVersions {
    Table,
    Id,
    ProjectId,
    Tag,
    ParentId,
    Recipe,
    ContentHash,
    PairCount,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum DatasetMembers {
    Table,
    VersionId,
    Position,
    PairId,
}
