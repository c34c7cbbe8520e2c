//! Migrations apply on both backends and report the newest one.

use pairwise_store::{migration_status, testing::TestDb};

#[tokio::test]
async fn migrations_apply_and_report_the_newest() {
    for t in TestDb::all().await {
        let (last, pending) = migration_status(&t.db).await.expect("status");
        assert_eq!(pending, 0, "{}", t.backend);
        assert!(last.expect("applied").contains("job_chunks"));
        // Migrating again is a no-op.
        pairwise_store::migrate(&t.db).await.expect("re-migrate");
        t.finish().await;
    }
}
