//! What one annotation queue fetch costs in database statements: every statement the use case
//! sends is counted (SeaORM's metric callback) over a whole session of fetch → vote → fetch, with
//! silent gold and swapped repeats on. Statement counts, not times: the count does not depend on
//! the machine, and each statement is a round trip on PostgreSQL.

use pairwise_core::{annotation::AnnotationSettings, Actor, PairFormat, Role};
use pairwise_pipeline::annotation as actions;
use pairwise_store::{annotation::NewVote, projects, testing::TestDb, users};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

#[tokio::test]
async fn a_queue_fetch_costs_a_bounded_number_of_statements() {
    for t in TestDb::all().await {
        let p = projects::create(&t.db, "cost", "", None)
            .await
            .expect("project");
        let rows: String = (0..40)
            .map(|i| {
                serde_json::json!({
                    "prompt": format!("question {i}"),
                    "chosen": format!("good answer {i}"),
                    "rejected": format!("poor answer {i}"),
                })
                .to_string()
                    + "\n"
            })
            .collect();
        let cli = Actor::cli();
        pairwise_pipeline::import_pairs(
            &t.db,
            "cost",
            std::io::Cursor::new(rows.into_bytes()),
            PairFormat::Trl,
            "cost.jsonl",
            &cli,
            |_| {},
        )
        .await
        .expect("import");
        actions::fill_queue(&t.db, &cli, "cost", u64::MAX, false, Some(3))
            .await
            .expect("fill");
        actions::gold_from_pairs(&t.db, &cli, "cost", 8)
            .await
            .expect("gold");
        let settings = AnnotationSettings {
            overlap: 2,
            repeat_rate: 0.1,
            gold_rate: 0.2,
            max_pending: 3,
            ..Default::default()
        };
        actions::save_settings(&t.db, &cli, "cost", settings)
            .await
            .expect("settings");
        let user = users::create(&t.db, "counted", Role::Annotator, "counted-password")
            .await
            .expect("user");
        pairwise_store::members::set(&t.db, p.id, user.id, "annotator")
            .await
            .expect("member");
        let me = Actor::user(user.id, user.username.clone(), Role::Annotator);

        let statements = Arc::new(AtomicUsize::new(0));
        let mut db = t.db.clone();
        db.set_metric_callback({
            let statements = statements.clone();
            move |_| {
                statements.fetch_add(1, Ordering::Relaxed);
            }
        });
        let (mut fetches, mut votes) = (Vec::new(), Vec::new());
        for _ in 0..30 {
            statements.store(0, Ordering::Relaxed);
            let q = actions::next_items(&db, &me, "cost", 3)
                .await
                .expect("queue");
            fetches.push(statements.load(Ordering::Relaxed));
            let Some((a, _)) = q.items.first() else { break };
            statements.store(0, Ordering::Relaxed);
            actions::vote(
                &db,
                &me,
                a.id,
                NewVote {
                    choice: "a".into(),
                    duration_ms: 1500,
                    ..Default::default()
                },
            )
            .await
            .expect("vote");
            votes.push(statements.load(Ordering::Relaxed));
        }
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
        let max = |v: &[usize]| v.iter().copied().max().unwrap_or(0);
        eprintln!(
            "{}: queue fetch {:.1} statements on average (max {}), vote {:.1} (max {}) over {} fetches",
            t.backend,
            mean(&fetches),
            max(&fetches),
            mean(&votes),
            max(&votes),
            fetches.len()
        );
        assert!(fetches.len() >= 20, "{fetches:?}");
        // History: 23.9 on average and 38 at most (settings twice, the red-team preference three
        // times, eight separate counts); then 12.8 / 19 with one read of each. Now one statement
        // reads the context (project, membership, settings, preference, counts), one the
        // pending showings with their items, one the unseen counts, and serving an item takes
        // two (its pick with its row, the insert) whatever its kind: 5 per fetch after a vote,
        // 9 for the first (three items). A repeat or gold draw that finds nothing adds one.
        assert!(
            mean(&fetches) <= 5.5 && max(&fetches) <= 9,
            "{}: {fetches:?}",
            t.backend
        );
        assert!(
            fetches[1..].iter().all(|&n| n <= 7),
            "{}: {fetches:?}",
            t.backend
        );
        // The showing's project and membership in one statement, the vote's update (returning
        // the showing) and insert.
        assert!(votes.iter().all(|&n| n <= 3), "{}: {votes:?}", t.backend);
        t.finish().await;
    }
}
