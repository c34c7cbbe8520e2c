//! Each queued item counts its main votes that hold a slot (`comparisons.main_votes`), kept by
//! triggers on `assignments`, so "this item has all k votes" is a column test instead of a
//! grouped count over the project's votes on every queue fetch. A showing counts while it is a
//! main showing, voted and holding a slot; undo, a reviewer's requeue (the slot given back) and
//! deletion take it off. Existing votes are counted when the column is added.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The rule of what counts, on the `NEW`/`OLD` row of a trigger.
fn counted(row: &str) -> String {
    format!("{row}.kind = 'main' AND {row}.status = 'voted' AND {row}.slot IS NOT NULL")
}

const BACKFILL: &str = "UPDATE comparisons SET main_votes = (SELECT COUNT(*) FROM assignments a \
     WHERE a.comparison_id = comparisons.id AND a.kind = 'main' AND a.status = 'voted' \
     AND a.slot IS NOT NULL)";

fn sqlite_triggers() -> Vec<String> {
    let (new, old) = (counted("NEW"), counted("OLD"));
    let plus = "UPDATE comparisons SET main_votes = main_votes + 1 WHERE id = NEW.comparison_id";
    let minus = "UPDATE comparisons SET main_votes = main_votes - 1 WHERE id = OLD.comparison_id";
    vec![
        format!(
            "CREATE TRIGGER trg_assignments_main_votes_insert AFTER INSERT ON assignments \
             WHEN {new} BEGIN {plus}; END"
        ),
        format!(
            "CREATE TRIGGER trg_assignments_main_votes_delete AFTER DELETE ON assignments \
             WHEN {old} BEGIN {minus}; END"
        ),
        // Lease renewals touch none of these columns, so they do not fire it.
        format!(
            "CREATE TRIGGER trg_assignments_main_votes_update \
             AFTER UPDATE OF kind, status, slot, comparison_id ON assignments \
             BEGIN {minus} AND ({old}); {plus} AND ({new}); END"
        ),
    ]
}

fn postgres_triggers() -> Vec<String> {
    let (new, old) = (counted("NEW"), counted("OLD"));
    vec![
        format!(
            "CREATE FUNCTION assignments_main_votes() RETURNS trigger AS $$ BEGIN \
             IF TG_OP IN ('UPDATE', 'DELETE') AND {old} THEN \
               UPDATE comparisons SET main_votes = main_votes - 1 WHERE id = OLD.comparison_id; \
             END IF; \
             IF TG_OP IN ('UPDATE', 'INSERT') AND {new} THEN \
               UPDATE comparisons SET main_votes = main_votes + 1 WHERE id = NEW.comparison_id; \
             END IF; \
             RETURN NULL; END $$ LANGUAGE plpgsql"
        ),
        "CREATE TRIGGER trg_assignments_main_votes \
         AFTER INSERT OR DELETE OR UPDATE OF kind, status, slot, comparison_id ON assignments \
         FOR EACH ROW EXECUTE FUNCTION assignments_main_votes()"
            .to_owned(),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Comparisons::Table)
                    .add_column(integer(Comparisons::MainVotes).default(0))
                    .to_owned(),
            )
            .await?;
        // The unseen-item count reads only this index (the rows hold the texts; in SQLite the
        // new last column of a long row sits on its overflow pages).
        manager
            .create_index(
                Index::create()
                    .name("idx_comparisons_unseen")
                    .table(Comparisons::Table)
                    .col(Comparisons::ProjectId)
                    .col(Comparisons::MainVotes)
                    .col(Comparisons::Redteam)
                    .col(Comparisons::GoldAnswer)
                    .col(Comparisons::Id)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared(BACKFILL).await?;
        let triggers = match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => postgres_triggers(),
            _ => sqlite_triggers(),
        };
        for sql in triggers {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "DROP TRIGGER IF EXISTS trg_assignments_main_votes ON assignments",
                )
                .await?;
                db.execute_unprepared("DROP FUNCTION IF EXISTS assignments_main_votes()")
                    .await?;
            }
            _ => {
                for t in ["insert", "delete", "update"] {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS trg_assignments_main_votes_{t}"
                    ))
                    .await?;
                }
            }
        }
        manager
            .drop_index(
                Index::drop()
                    .name("idx_comparisons_unseen")
                    .table(Comparisons::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Comparisons::Table)
                    .drop_column(Comparisons::MainVotes)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Comparisons {
    Table,
    Id,
    ProjectId,
    MainVotes,
    Redteam,
    GoldAnswer,
}
