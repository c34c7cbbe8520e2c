//! Blindness: an annotator who records every field they receive, and how it changes between
//! fetches, cannot tell silent gold (or swapped repeats) from ordinary items better than chance.
//!
//! The audit that found the leak watched `remaining`, which did not move when a gold item was
//! served; this test plays that attacker with every observable at once and the best threshold
//! rule on each (chosen with hindsight, so it is the attacker's best case). Features that only
//! trend with time (the raw counter, the raw id) are left out: with about 10 gold among 45, a
//! threshold chosen with hindsight on any time-ordered value reaches 0.65 by chance alone; their
//! changes, which carry whatever a kind-dependent update would leak, are in.

use pairwise_core::{annotation::AnnotationSettings, Actor, PairFormat, Role};
use pairwise_pipeline::annotation as actions;
use pairwise_store::{
    annotation::{self, NewVote},
    entities::assignment,
    projects,
    testing::TestDb,
    users,
};
use sea_orm::EntityTrait;
use std::collections::BTreeMap;

/// What the annotator can see of one showing when it first appears in their queue.
#[derive(Debug, Default, Clone)]
struct Observed {
    features: BTreeMap<&'static str, f64>,
}

/// The best balanced accuracy of any rule `feature ≥ t`, `feature ≤ t` or `feature = t`.
fn best_rule(samples: &[(Observed, bool)]) -> (f64, String) {
    let mut best = (0.5, "none".to_owned());
    let names: Vec<&str> = samples[0].0.features.keys().copied().collect();
    for name in names {
        let values: Vec<(f64, bool)> = samples
            .iter()
            .map(|(o, gold)| (o.features.get(name).copied().unwrap_or(0.0), *gold))
            .collect();
        let positives = values.iter().filter(|v| v.1).count() as f64;
        let negatives = values.len() as f64 - positives;
        let mut thresholds: Vec<f64> = values.iter().map(|v| v.0).collect();
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        for t in thresholds {
            for (op, rule) in [
                (
                    "≥",
                    Box::new(move |x: f64| x >= t) as Box<dyn Fn(f64) -> bool>,
                ),
                ("≤", Box::new(move |x: f64| x <= t)),
                ("=", Box::new(move |x: f64| x == t)),
            ] {
                let tp = values.iter().filter(|v| v.1 && rule(v.0)).count() as f64;
                let tn = values.iter().filter(|v| !v.1 && !rule(v.0)).count() as f64;
                let ba = (tp / positives + tn / negatives) / 2.0;
                if ba > best.0 {
                    best = (ba, format!("{name} {op} {t}"));
                }
            }
        }
    }
    best
}

#[tokio::test]
async fn an_annotator_cannot_tell_gold_or_repeats_from_what_they_receive() {
    for t in TestDb::all().await {
        let db = &t.db;
        let p = projects::create(db, "blind", "", None)
            .await
            .expect("project");
        // Fixed-width texts: the content itself says nothing about the kind.
        let rows: String = (0..45)
            .map(|i| {
                serde_json::json!({
                    "prompt": format!("question {i:03}"),
                    "chosen": format!("good answer {i:03}"),
                    "rejected": format!("poor answer {i:03}"),
                })
                .to_string()
                    + "\n"
            })
            .collect();
        pairwise_pipeline::import_pairs(
            db,
            "blind",
            std::io::Cursor::new(rows.into_bytes()),
            PairFormat::Trl,
            "blind.jsonl",
            &Actor::cli(),
            |_| {},
        )
        .await
        .expect("import");
        let cli = Actor::cli();
        actions::fill_queue(db, &cli, "blind", u64::MAX, false, Some(11))
            .await
            .expect("fill");
        assert_eq!(
            actions::gold_from_pairs(db, &cli, "blind", 10)
                .await
                .expect("gold"),
            10
        );
        let settings = AnnotationSettings {
            overlap: 2,
            repeat_rate: 0.1,
            gold_rate: 0.22,
            max_pending: 3,
            ..Default::default()
        };
        actions::save_settings(db, &cli, "blind", settings)
            .await
            .expect("settings");
        let user = users::create(db, "watcher", Role::Annotator, "watcher-password")
            .await
            .expect("user");
        pairwise_store::members::set(db, p.id, user.id, "annotator")
            .await
            .expect("member");
        let me = Actor::user(user.id, user.username.clone(), Role::Annotator);

        // Fetch (prefetching 3, as the page does), note everything, vote on the first item,
        // fetch again — until the queue is empty.
        let mut seen: BTreeMap<i64, Observed> = BTreeMap::new();
        let mut voted_delta: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        let mut last: Option<(u64, u64, i64)> = None;
        let mut just_voted: Option<i64> = None;
        for _ in 0..200 {
            let q = actions::next_items(db, &me, "blind", 3)
                .await
                .expect("queue");
            let (prev_done, prev_remaining, prev_max_id) = last.unwrap_or((0, q.remaining, 0));
            let d_remaining = q.remaining as f64 - prev_remaining as f64;
            let d_done = q.done as f64 - prev_done as f64;
            if let Some(v) = just_voted.take() {
                voted_delta.insert(v, (d_remaining, d_done));
            }
            let mut max_id = prev_max_id;
            for (position, (a, c)) in q.items.iter().enumerate() {
                if seen.contains_key(&a.id) {
                    continue;
                }
                let (left, right) = if a.left_side == "x" {
                    (&c.answer_x, &c.answer_y)
                } else {
                    (&c.answer_y, &c.answer_x)
                };
                let mut f = BTreeMap::new();
                f.insert("remaining change when served", d_remaining);
                f.insert("done change when served", d_done);
                f.insert("position when served", position as f64);
                f.insert("items in that response", q.items.len() as f64);
                f.insert("id gap from the last id seen", (a.id - max_id) as f64);
                f.insert("content warning", f64::from(u8::from(c.redteam)));
                f.insert("left length", left.len() as f64);
                f.insert("right length", right.len() as f64);
                f.insert("prompt length", c.prompt_text.len() as f64);
                seen.insert(a.id, Observed { features: f });
                max_id = max_id.max(a.id);
            }
            last = Some((q.done, q.remaining, max_id));
            let Some((a, _)) = q.items.first() else { break };
            let choice = if a.id % 2 == 0 { "a" } else { "b" };
            actions::vote(
                db,
                &me,
                a.id,
                NewVote {
                    choice: choice.into(),
                    duration_ms: 900,
                    ..Default::default()
                },
            )
            .await
            .expect("vote");
            just_voted = Some(a.id);
        }
        let (done, _) = annotation::progress(db, p.id, user.id).await.expect("done");
        assert_eq!(
            done as usize,
            seen.len(),
            "{}: every showing voted",
            t.backend
        );

        let kinds: BTreeMap<i64, String> = assignment::Entity::find()
            .all(db)
            .await
            .expect("assignments")
            .into_iter()
            .map(|a| (a.id, a.kind))
            .collect();
        let samples = |target: &str, content: bool| -> Vec<(Observed, bool)> {
            seen.iter()
                .map(|(id, o)| {
                    let mut o = o.clone();
                    if let Some((r, d)) = voted_delta.get(id) {
                        o.features.insert("remaining change after its vote", *r);
                        o.features.insert("done change after its vote", *d);
                    }
                    if !content {
                        o.features.retain(|k, _| !k.ends_with("length"));
                    }
                    (o, kinds[id] == target)
                })
                .collect()
        };
        let gold = samples("gold", true);
        let n_gold = gold.iter().filter(|s| s.1).count();
        assert!(
            (8..=10).contains(&n_gold),
            "{}: about 10 gold among {} showings, got {n_gold}",
            t.backend,
            gold.len()
        );
        let (ba, rule) = best_rule(&gold);
        assert!(
            ba <= 0.6,
            "{}: gold separable with balanced accuracy {ba:.2} by `{rule}`",
            t.backend
        );
        // A repeat shows a prompt seen before, which nobody can hide, and it can only come
        // after its original (so later in the queue, where the queue also drains); the counters
        // and ids must not add to that.
        let mut repeats = samples("repeat", false);
        for (o, _) in &mut repeats {
            o.features
                .retain(|k, _| k.contains("change") || k.contains("gap"));
        }
        if repeats.iter().any(|s| s.1) {
            let (ba, rule) = best_rule(&repeats);
            assert!(
                ba <= 0.6,
                "{}: repeats separable with balanced accuracy {ba:.2} by `{rule}`",
                t.backend
            );
        }
        t.finish().await;
    }
}
