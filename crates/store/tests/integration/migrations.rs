//! Migrations apply on both backends and report the newest one.

use pairwise_store::{migration_status, testing::TestDb};

#[tokio::test]
async fn migrations_apply_and_report_the_newest() {
    for t in TestDb::all().await {
        let (last, pending) = migration_status(&t.db).await.expect("status");
        assert_eq!(pending, 0, "{}", t.backend);
        assert!(last.expect("applied").contains("item_main_votes"));
        // Migrating again is a no-op.
        pairwise_store::migrate(&t.db).await.expect("re-migrate");
        t.finish().await;
    }
}

/// Pairs stored before rubric isolation take their rubric version from their provenance, and
/// pairs without one keep an empty rubric (both backends).
#[tokio::test]
async fn the_rubric_migration_backfills_from_provenance() {
    use migrations::{Migrator, MigratorTrait};
    use pairwise_store::entities::pair;
    use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
    for t in TestDb::all().await {
        let db = &t.db;
        let p = pairwise_store::projects::create(db, "m", "", None)
            .await
            .expect("project");
        // Back to migration 10: undo the pair rubric and every migration after it.
        let after_10 = Migrator::migrations()
            .iter()
            .rev()
            .take_while(|m| !m.name().contains("000010"))
            .count() as u32;
        Migrator::down(db, Some(after_10))
            .await
            .expect("down to 10");
        for (hash, provenance) in [
            ("h1", r#"{"judge_run":1,"rubric":"default@2"}"#),
            ("h2", "{}"),
        ] {
            let sql = format!(
                "INSERT INTO pairs (project_id, hash, prompt, prompt_text, chosen, rejected, \
                 strategy, source, provenance, metadata, created_at) VALUES ({}, '{hash}', '[]', \
                 '', 'a', 'b', 'extreme', 'judge-run:1', '{provenance}', '{{}}', \
                 '2026-12-04T00:00:00Z')",
                p.id
            );
            db.execute_unprepared(&sql).await.expect("old row");
        }
        Migrator::up(db, None).await.expect("up");
        let rows = pair::Entity::find()
            .order_by_asc(pair::Column::Hash)
            .all(db)
            .await
            .expect("pairs");
        let rubrics: Vec<&str> = rows.iter().map(|r| r.rubric.as_str()).collect();
        assert_eq!(rubrics, ["default@2", ""], "{}", t.backend);
        t.finish().await;
    }
}
