//! The review step against real SQLite and PostgreSQL: a rejected vote leaves the human pairs
//! and the next frozen version, a requeued item goes to a new annotator, recipes can count only
//! accepted votes, and every decision is audited.

use super::{calibration::project_with_pairs, common::vote_through_queue};
use pairwise_core::{
    annotation::review::{
        GoldFilter, ReviewDecision, ReviewFilter, ReviewRequest, ReviewState, VoteSelection,
    },
    annotation::AnnotationSettings,
    requests::HumanPairsRequest,
    Actor, Recipe, Role,
};
use pairwise_pipeline::review;
use pairwise_store::{annotation, datasets, entities::pair, testing::TestDb, users};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

fn human(votes: VoteSelection) -> HumanPairsRequest {
    HumanPairsRequest {
        min_votes: 2,
        include_quarantined: false,
        dimension: None,
        votes,
    }
}

fn decision(votes: Vec<i64>, decision: ReviewDecision, reason: &str) -> ReviewRequest {
    ReviewRequest {
        votes,
        decision,
        reason: reason.into(),
    }
}

/// The ids of `who`'s votes, item → vote.
async fn votes_of(db: &pairwise_store::DatabaseConnection, who: &str) -> Vec<(i64, i64)> {
    let filter = ReviewFilter {
        annotator: Some(who.into()),
        ..Default::default()
    };
    review::list(db, &Actor::cli(), "rev", &filter)
        .await
        .expect("list")
        .rows
        .iter()
        .map(|r| (r.item, r.vote))
        .collect()
}

#[tokio::test]
async fn rejected_votes_leave_the_data_and_requeued_items_get_a_new_annotator() {
    for t in TestDb::all().await {
        let db = &t.db;
        let p = project_with_pairs(db, "rev", 6, "good", "bad").await;
        annotation::fill_from_pairs(db, p.id, u64::MAX, false, Some(5))
            .await
            .expect("fill");
        let settings = AnnotationSettings {
            overlap: 3,
            repeat_rate: 0.0,
            gold_rate: 0.0,
            max_pending: 1,
            ..Default::default()
        };
        annotation::set_settings(db, p.id, &settings)
            .await
            .expect("settings");
        // Two annotators prefer the good answer, one the bad one, each in 5 s.
        for (name, honest) in [("ann", true), ("bea", true), ("cid", false)] {
            vote_through_queue(db, p.id, name, |a, c| {
                let good_left = (a.left_side == "x") == c.answer_x.starts_with("good");
                (if good_left == honest { "a" } else { "b" }, 5000)
            })
            .await;
        }
        // The human pairs are new once the imported pairs of the same answers are gone.
        pair::Entity::delete_many()
            .filter(pair::Column::ProjectId.eq(p.id))
            .exec(db)
            .await
            .expect("delete imports");
        let built =
            pairwise_pipeline::calibration::human_pairs(db, "rev", &human(Default::default()))
                .await
                .expect("human pairs");
        assert_eq!((built.decided, built.inserted), (6, 6), "{}", t.backend);
        let v1 = datasets::freeze(db, p.id, "v1", &Recipe::default(), None)
            .await
            .expect("v1");
        assert_eq!(v1.pair_count, 6);

        // The list: every main vote unreviewed, filters by annotator and gold result.
        let all = review::list(db, &Actor::cli(), "rev", &ReviewFilter::default())
            .await
            .expect("list");
        assert_eq!((all.matched, all.counts["unreviewed"]), (18, 18));
        assert_eq!(all.annotators, ["ann", "bea", "cid"]);
        assert!(all.rows.iter().all(|r| r.prompt.starts_with('q')
            && !r.answer_x.is_empty()
            && r.agreement.is_some_and(|a| (a - 1.0 / 3.0).abs() < 1e-9)));
        let gold_only = ReviewFilter {
            gold: GoldFilter::Gold,
            ..Default::default()
        };
        let none = review::list(db, &Actor::cli(), "rev", &gold_only)
            .await
            .expect("list");
        assert_eq!(none.matched, 0);
        let ann = votes_of(db, "ann").await;
        let cid = votes_of(db, "cid").await;
        assert_eq!((ann.len(), cid.len()), (6, 6));

        // Annotators cannot review; a rejection needs a reason; a foreign vote is not found.
        let annotator = Actor::user(999, "someone", Role::Annotator);
        let refused = review::decide(
            db,
            &annotator,
            "rev",
            &decision(vec![ann[0].1], ReviewDecision::Accept, ""),
        )
        .await
        .expect_err("annotators do not review");
        assert!(refused.to_string().contains("reviewer"), "{refused}");
        let no_reason = review::decide(
            db,
            &Actor::cli(),
            "rev",
            &decision(vec![ann[0].1], ReviewDecision::Reject, " "),
        )
        .await
        .expect_err("reason");
        assert!(no_reason.to_string().contains("`reason`"), "{no_reason}");
        let foreign = review::decide(
            db,
            &Actor::cli(),
            "rev",
            &decision(vec![ann[0].1, 987_654], ReviewDecision::Accept, ""),
        )
        .await
        .expect_err("not in the project");
        assert!(foreign.to_string().contains("987654"), "{foreign}");

        // Rejecting ann's vote on the first item leaves it 1:1: the pair leaves the next version
        // (v1 keeps it: frozen versions never change) and human pairs no longer decide it.
        let (x_item, x_vote) = ann[0];
        let out = review::decide(
            db,
            &Actor::cli(),
            "rev",
            &decision(
                vec![x_vote],
                ReviewDecision::Reject,
                "picked without reading",
            ),
        )
        .await
        .expect("reject");
        assert_eq!((out.changed, out.unchanged, out.reopened), (1, 0, 0));
        let v2 = datasets::freeze(db, p.id, "v2", &Recipe::default(), None)
            .await
            .expect("v2");
        assert_eq!(v2.pair_count, 5, "{}", t.backend);
        let rebuilt =
            pairwise_pipeline::calibration::human_pairs(db, "rev", &human(Default::default()))
                .await
                .expect("human pairs");
        assert_eq!((rebuilt.decided, rebuilt.reviewed_out_votes), (5, 1));
        let rejected = ReviewFilter {
            state: Some(ReviewState::Rejected),
            ..Default::default()
        };
        let listed = review::list(db, &Actor::cli(), "rev", &rejected)
            .await
            .expect("list");
        assert_eq!(listed.rows.len(), 1);
        let mark = listed.rows[0].review.as_ref().expect("mark");
        assert_eq!(
            (mark.reason.as_str(), mark.reviewer.as_str()),
            ("picked without reading", "cli")
        );
        // Requeueing cid's (minority) vote on another item: the vote stops counting, the pair
        // stays decided 2:0, and the item's slot reopens for someone who has not seen it.
        let (y_item, y_vote) = *cid.iter().find(|(item, _)| *item != x_item).expect("y");
        let out = review::decide(
            db,
            &Actor::cli(),
            "rev",
            &decision(vec![y_vote], ReviewDecision::Requeue, "unclear"),
        )
        .await
        .expect("requeue");
        assert_eq!((out.changed, out.reopened), (1, 1));
        let again = review::decide(
            db,
            &Actor::cli(),
            "rev",
            &decision(vec![y_vote], ReviewDecision::Accept, ""),
        )
        .await
        .expect_err("a requeue is final");
        assert!(again.to_string().contains("final"), "{again}");
        // The requeue gave the slot back: the item counts one main vote fewer.
        pairwise_store::testing::assert_main_votes_counted(db, p.id).await;
        for who in ["ann", "bea", "cid"] {
            let u = users::find_by_username(db, who)
                .await
                .expect("user")
                .expect(who);
            let next = annotation::next(db, p.id, u.id, 1).await.expect("next");
            assert!(next.is_empty(), "{who} has seen the item already");
        }
        let dan = users::create(db, "dan", Role::Annotator, "a long enough password")
            .await
            .expect("dan");
        // The reopened slot counts for dan like any main item: one to come before it is served,
        // still one once served (serving must not tell what was served), none once voted.
        let progress = |id| annotation::progress(db, p.id, id);
        assert_eq!(progress(dan.id).await.expect("progress"), (0, 1));
        let next = annotation::next(db, p.id, dan.id, 1).await.expect("next");
        assert_eq!(next.len(), 1);
        assert_eq!(progress(dan.id).await.expect("progress"), (0, 1));
        assert_eq!(
            next[0].1.id, y_item,
            "the requeued item goes to a new annotator"
        );
        let good_left = (next[0].0.left_side == "x") == next[0].1.answer_x.starts_with("good");
        annotation::vote(
            db,
            dan.id,
            next[0].0.id,
            &annotation::NewVote {
                choice: if good_left { "a" } else { "b" }.into(),
                duration_ms: 5000,
                ..Default::default()
            },
        )
        .await
        .expect("dan votes");
        assert!(annotation::next(db, p.id, dan.id, 1)
            .await
            .expect("next")
            .is_empty());
        assert_eq!(progress(dan.id).await.expect("progress"), (1, 0));
        pairwise_store::testing::assert_main_votes_counted(db, p.id).await;
        let v3 = datasets::freeze(db, p.id, "v3", &Recipe::default(), None)
            .await
            .expect("v3");
        assert_eq!(
            v3.pair_count, 5,
            "a requeued minority vote leaves the pair decided"
        );

        // Only accepted votes: nothing is decided until two agreeing votes per item are accepted.
        let strict = Recipe {
            votes: Some(VoteSelection::Accepted),
            ..Recipe::default()
        };
        let v4 = datasets::freeze(db, p.id, "v4", &strict, None)
            .await
            .expect("v4");
        assert_eq!(v4.pair_count, 0);
        let bea = votes_of(db, "bea").await;
        let accepted: Vec<i64> = ann.iter().chain(&bea).map(|(_, v)| *v).collect();
        let out = review::decide(
            db,
            &Actor::cli(),
            "rev",
            &decision(accepted, ReviewDecision::Accept, ""),
        )
        .await
        .expect("accept");
        // ann's rejected vote is accepted again (a reviewer may change their mind).
        assert_eq!((out.changed, out.unchanged), (12, 0));
        let v5 = datasets::freeze(db, p.id, "v5", &strict, None)
            .await
            .expect("v5");
        assert_eq!(v5.pair_count, 6, "{}", t.backend);
        let only_accepted =
            pairwise_pipeline::calibration::human_pairs(db, "rev", &human(VoteSelection::Accepted))
                .await
                .expect("human pairs");
        assert_eq!(
            (only_accepted.decided, only_accepted.reviewed_out_votes),
            (6, 7),
            "cid's 5 unreviewed votes, the requeued one and dan's"
        );

        // Every decision is audited, with its votes and reason.
        let filter = pairwise_store::audit::AuditFilter {
            action: Some("annotation.review".into()),
            ..Default::default()
        };
        let log = pairwise_store::audit::page(db, &filter, 10, 0)
            .await
            .expect("audit");
        assert_eq!(log.total, 3, "{}", t.backend);
        t.finish().await;
    }
}
