//! Careless-vote checks: the reading speed above which a vote counts as too fast for the length
//! of its two answers, and whether the gate excludes such votes. Projects keep the defaults.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(AnnotationSettings::Table)
                    .add_column(double(AnnotationSettings::FastVoteCharsPerS).default(60.0))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AnnotationSettings::Table)
                    .add_column(boolean(AnnotationSettings::GateFastVotes).default(false))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            AnnotationSettings::GateFastVotes,
            AnnotationSettings::FastVoteCharsPerS,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AnnotationSettings::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum AnnotationSettings {
    Table,
    FastVoteCharsPerS,
    GateFastVotes,
}
