//! Rubric isolation: a pair records the rubric version it rests on (`name@version`, empty for
//! pairs no rubric decided: imports, human and builder pairs), and the same answers judged under
//! another rubric version are another pair. Existing pairs take it from their provenance; the
//! unique key becomes (project, hash, rubric).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Pairs::Table)
                    .add_column(string(Pairs::Rubric).default(""))
                    .to_owned(),
            )
            .await?;
        let backfill = match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                "UPDATE pairs SET rubric = COALESCE(provenance::jsonb ->> 'rubric', '') \
                 WHERE provenance LIKE '%\"rubric\"%'"
            }
            _ => {
                "UPDATE pairs SET rubric = COALESCE(json_extract(provenance, '$.rubric'), '') \
                 WHERE provenance LIKE '%\"rubric\"%'"
            }
        };
        manager
            .get_connection()
            .execute_unprepared(backfill)
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("uq_pairs_project_hash")
                    .table(Pairs::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_pairs_project_hash_rubric")
                    .table(Pairs::Table)
                    .col(Pairs::ProjectId)
                    .col(Pairs::Hash)
                    .col(Pairs::Rubric)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("uq_pairs_project_hash_rubric")
                    .table(Pairs::Table)
                    .to_owned(),
            )
            .await?;
        // Going back keeps one pair per hash (the oldest), as the old key requires.
        manager
            .get_connection()
            .execute_unprepared(
                "DELETE FROM pairs WHERE id NOT IN \
                 (SELECT MIN(id) FROM pairs GROUP BY project_id, hash)",
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
        manager
            .alter_table(
                Table::alter()
                    .table(Pairs::Table)
                    .drop_column(Pairs::Rubric)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Pairs {
    Table,
    ProjectId,
    Hash,
    Rubric,
}
