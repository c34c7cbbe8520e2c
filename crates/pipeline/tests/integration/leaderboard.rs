//! Leaderboards: generators and paths ranked from judge scores and human votes, with seeded
//! bootstrap intervals.

use crate::common::{project_with_prompts, tiny, worker};
use pairwise_core::{
    judge::JudgeMode,
    leaderboard::{BoardBy, LeaderboardRequest},
    Actor,
};
use pairwise_pipeline::{create_generation, create_judge, GenerateRequest, JudgeRequest};
use pairwise_store::{candidates, testing::TestDb};
use std::collections::HashMap;

#[tokio::test]
async fn generators_and_paths_are_ranked_with_intervals_from_every_judge_comparison() {
    use pairwise_pipeline::leaderboard::show_leaderboard;
    for t in TestDb::all().await {
        let db = &t.db;
        project_with_prompts(db, &["What is 2+2?", "Name a color.", "Say hi."]).await;
        let mut w = worker(db, "w");
        // One model registered under two names: two generators of the board.
        for name in ["tiny-a", "tiny-b"] {
            pairwise_store::models::register(
                db,
                pairwise_store::models::NewModel {
                    remote: None,
                    name: name.into(),
                    kind: "generator".into(),
                    path: tiny(),
                    version: "v".into(),
                    device: "cpu".into(),
                    created_by: None,
                },
            )
            .await
            .expect("register");
            let mut request = GenerateRequest::new("gen", name);
            request.seed = Some(if name == "tiny-a" { 1 } else { 2 });
            request.n = 3;
            request.max_new_tokens = 5;
            create_generation(db, request, None).await.expect("run");
            w.run_one().await.expect("generate").expect("job");
        }
        let empty = show_leaderboard(db, &Actor::cli(), "gen", &LeaderboardRequest::default())
            .await
            .expect("no judge run yet");
        assert_eq!((empty.rubric, empty.judge.len()), (None, 0));
        create_judge(
            db,
            JudgeRequest::new("gen", tiny(), "default", JudgeMode::Prob),
            None,
        )
        .await
        .expect("judge");
        w.run_one().await.expect("judge").expect("job");

        let board = show_leaderboard(db, &Actor::cli(), "gen", &LeaderboardRequest::default())
            .await
            .expect("board");
        assert_eq!(board.rubric.as_deref(), Some("default@1"));
        let names: Vec<&str> = board.judge.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("tiny-a@")), "{names:?}");
        assert!(names.iter().any(|n| n.starts_with("tiny-b@")), "{names:?}");
        // Every two candidates of a prompt from different generators: 3 × 3 per prompt.
        assert_eq!(board.judge_comparisons, 3 * 9, "{}", t.backend);
        for (i, s) in board.judge.iter().enumerate() {
            assert_eq!(s.rank, i + 1);
            assert_eq!(s.comparisons, 27);
            assert!(s.low <= s.strength && s.strength <= s.high, "{s:?}");
        }
        assert!((board.judge[0].strength + board.judge[1].strength).abs() < 1e-9);
        assert!(board.judge[0].win_rate >= board.judge[1].win_rate);
        assert!(board.human.is_empty() && board.rank_correlation.is_none());
        // Seeded: the same request gives the same intervals.
        let again = show_leaderboard(db, &Actor::cli(), "gen", &LeaderboardRequest::default())
            .await
            .expect("again");
        assert_eq!(board, again);

        // By path: comparisons between candidates of different paths of one prompt.
        let by_path = LeaderboardRequest {
            by: BoardBy::Path,
            ..Default::default()
        };
        let paths = show_leaderboard(db, &Actor::cli(), "gen", &by_path)
            .await
            .expect("by path");
        let all = candidates::keys(db, 1).await.expect("keys");
        let mut per_prompt: HashMap<i64, Vec<&str>> = HashMap::new();
        for c in &all {
            per_prompt.entry(c.prompt_id).or_default().push(&c.path);
        }
        let cross: u64 = per_prompt
            .values()
            .map(|p| {
                let mut n = 0;
                for (i, a) in p.iter().enumerate() {
                    n += p[i + 1..].iter().filter(|b| *b != a).count() as u64;
                }
                n
            })
            .sum();
        assert_eq!(paths.judge_comparisons, cross);
        assert_eq!(paths.judge.len(), 3, "conservative, diverse, adversarial");

        // Requests are checked: too many rounds, an unknown rubric, an annotator.
        let err = show_leaderboard(
            db,
            &Actor::cli(),
            "gen",
            &LeaderboardRequest {
                rounds: 5000,
                ..Default::default()
            },
        )
        .await
        .expect_err("rounds")
        .to_string();
        assert!(err.contains("`rounds`"), "{err}");
        let err = show_leaderboard(
            db,
            &Actor::cli(),
            "gen",
            &LeaderboardRequest {
                rubric: Some("nope@3".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("rubric");
        assert!(err.to_string().contains("nope"), "{err}");
        t.finish().await;
    }
}
