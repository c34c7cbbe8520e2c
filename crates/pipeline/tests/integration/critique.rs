//! Critique → revision loop runs (Constitutional AI) on the tiny test model: the red-team
//! prompts only, every critique and revision stored with its loop, pairs with complete
//! provenance, the constitution version locked by use, a resumed run that skips stored loops,
//! the same seed giving the same loops, and requests refused by field.

use crate::common::{tiny, worker};
use pairwise_core::{
    constitution::{ConstitutionSpec, LoopEnd},
    requests::SaveConstitution,
    run_requests::CritiqueRequest,
    Actor, PromptRecord, Role, Split,
};
use pairwise_pipeline::{constitutions, runs as run_actions, Outcome};
use pairwise_store::{
    constitutions as stored_constitutions, critiques, entities::pair, projects, prompts, runs,
    testing::TestDb, DatabaseConnection,
};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::time::Duration;

/// A project `loop` with six red-team and four benign prompts.
async fn loop_project(db: &DatabaseConnection) -> i64 {
    let p = projects::create(db, "loop", "", None)
        .await
        .expect("project");
    let records: Vec<PromptRecord> = (0..10)
        .map(|i| {
            let text = format!("Prompt number {i}: how do I do thing {i}?");
            PromptRecord {
                line: i + 1,
                external_id: None,
                hash: pairwise_core::stable_hash(&text),
                text,
                messages: None,
                source: None,
                domain: None,
                split: Some(if i < 6 { Split::Redteam } else { Split::Benign }),
                metadata: Default::default(),
            }
        })
        .collect();
    prompts::insert_batch(db, p.id, &records, &Default::default())
        .await
        .expect("prompts");
    p.id
}

fn request() -> CritiqueRequest {
    let mut r = CritiqueRequest::new("loop", tiny(), tiny());
    r.max_new_tokens = 6;
    r.seed = Some(11);
    r
}

async fn drain(db: &DatabaseConnection, name: &str) -> Vec<Outcome> {
    let mut w = worker(db, name);
    let mut outcomes = Vec::new();
    while let Some((_, outcome)) = w.run_one().await.expect("run") {
        outcomes.push(outcome);
    }
    outcomes
}

#[tokio::test]
async fn a_loop_run_stores_every_critique_and_revision_and_pairs_with_provenance() {
    for t in TestDb::all().await {
        let project_id = loop_project(&t.db).await;
        let actor = Actor::cli();
        let run = run_actions::start_critique(&t.db, &actor, request())
            .await
            .expect("run");
        assert_eq!((run.kind.as_str(), run.total), ("critique", 6));
        assert!(
            run.warnings
                .iter()
                .any(|w| w.contains("the critic is the generator")),
            "{:?}",
            run.warnings
        );

        // A first worker claims the run's only chunk and dies after storing one prompt's loop
        // by hand (as a killed worker would have); the survivor takes over after the lease.
        let dead = chrono::Duration::milliseconds(1);
        runs::claim(&t.db, "dead", dead, &["critique"])
            .await
            .expect("claim")
            .expect("run");
        let ids = prompts::ids(&t.db, project_id, &Default::default(), None)
            .await
            .expect("ids");
        runs::split(
            &t.db,
            run.id,
            "dead",
            &runs::chunk_bounds(&ids, 64),
            None,
            6,
        )
        .await
        .expect("split");
        runs::claim_chunk(&t.db, "dead", dead, &["critique"], None)
            .await
            .expect("claim")
            .expect("chunk");
        let first = ids[0];
        let earlier = critiques::NewLoop {
            project_id,
            job_id: run.id,
            prompt_id: first,
            constitution_id: 1,
            principle: "helpful-honest-harmless".into(),
            original: "stored by the first attempt".into(),
            final_text: "stored by the first attempt".into(),
            revisions: 0,
            end: LoopEnd::NoViolation,
            steps: Vec::new(),
            provenance: serde_json::json!({}),
            tokens: 0,
        };
        assert!(critiques::store(&t.db, earlier, None).await.expect("store"));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let outcomes = drain(&t.db, "survivor").await;
        assert!(
            matches!(outcomes.as_slice(), [Outcome::Done(_)]),
            "{outcomes:?}"
        );
        let view = runs::show(&t.db, run.id).await.expect("show");
        assert_eq!(
            (view.status.as_str(), view.done),
            ("done", 6),
            "{}",
            t.backend
        );

        let loops = run_actions::critique_loops(&t.db, &actor, run.id, 0, 100)
            .await
            .expect("loops");
        assert_eq!(loops.len(), 6, "one loop per red-team prompt");
        assert_eq!(
            loops[0].original, "stored by the first attempt",
            "kept, not redone"
        );
        let spec = ConstitutionSpec::default_principles();
        let mut made = 0;
        for l in &loops[1..] {
            assert_eq!(l.constitution, "default@1");
            assert!(spec.principles.iter().any(|p| p.name == l.principle));
            assert!(!l.steps.is_empty() && l.steps.len() <= 2, "{:?}", l.steps);
            assert_eq!(
                l.revisions as usize,
                l.steps.iter().filter(|s| s.revision.is_some()).count()
            );
            for (i, s) in l.steps.iter().enumerate() {
                assert_eq!(s.round as usize, i + 1);
                assert_eq!(s.revision.is_some(), s.reviser_seed.is_some());
            }
            if let Some(last) = l.steps.iter().rev().find_map(|s| s.revision.as_ref()) {
                assert_eq!(&l.final_text, last);
            }
            assert_eq!(l.provenance["principle"], l.principle.as_str());
            for role in ["generator", "critic", "reviser"] {
                assert_eq!(
                    l.provenance[role]["version"].as_str().map(str::len),
                    Some(64)
                );
            }
            assert_eq!(
                l.provenance["params"]["critic"]["temperature"],
                0.3f32 as f64
            );
            assert_eq!(
                l.provenance["params"]["reviser"]["temperature"],
                0.7f32 as f64
            );
            assert_eq!(l.provenance["run_seed"], 11);
            made += usize::from(l.pair_hash.is_some());
            let end: LoopEnd = serde_json::from_value(serde_json::json!(l.end)).expect("end");
            assert_eq!(l.pair_hash.is_some(), end.makes_pair());
        }
        // Each pair: chosen = final revision, rejected = original, and the loop's provenance.
        let pairs = pair::Entity::find()
            .filter(pair::Column::ProjectId.eq(project_id))
            .all(&t.db)
            .await
            .expect("pairs");
        assert_eq!(pairs.len(), made, "{}", t.backend);
        for p in &pairs {
            let l = loops
                .iter()
                .find(|l| l.pair_hash.as_deref() == Some(p.hash.as_str()))
                .expect("its loop");
            assert_eq!(
                (p.chosen.as_str(), p.rejected.as_str()),
                (l.final_text.as_str(), l.original.as_str())
            );
            assert_eq!(
                (p.strategy.as_str(), p.source.as_str()),
                ("constitution", "constitution:default@1")
            );
            let provenance: serde_json::Value = serde_json::from_str(&p.provenance).expect("json");
            assert_eq!(provenance, l.provenance);
        }
        assert_eq!(view.summary["prompts"], 6);
        assert_eq!(view.summary["pairs"], made as u64);
        assert_eq!(view.summary["constitution"], "default@1");

        // The version a loop used is locked; the next version is a new row, and a loop run on
        // it records it. An unchanged spec is refused, and so is a reviewer saving.
        assert!(
            stored_constitutions::show(&t.db, "default")
                .await
                .expect("show")
                .locked
        );
        let mut spec = ConstitutionSpec::default_principles();
        spec.principles.truncate(2);
        let save = |spec: ConstitutionSpec| SaveConstitution {
            name: "default".into(),
            spec,
        };
        let v2 = constitutions::save_constitution(&t.db, &actor, save(spec.clone()))
            .await
            .expect("v2");
        assert_eq!((v2.version, v2.locked), (2, false));
        let again = constitutions::save_constitution(&t.db, &actor, save(spec.clone()))
            .await
            .expect_err("unchanged");
        assert!(again.to_string().contains("nothing changed"), "{again}");
        let reviewer = Actor::user(99, "r", Role::Reviewer);
        constitutions::save_constitution(
            &t.db,
            &reviewer,
            save(ConstitutionSpec::default_principles()),
        )
        .await
        .expect_err("reviewers read constitutions, admins write them");
        let changes = constitutions::diff_constitutions(&t.db, &actor, "default@1", "default@2")
            .await
            .expect("diff");
        assert_eq!(
            changes.len(),
            6,
            "three principles removed, critique and revision each"
        );

        // Two runs of one request and seed on the new version: the same loops, text for text.
        let mut on_v2 = request();
        on_v2.constitution = "default@2".into();
        on_v2.limit = Some(2);
        let first_v2 = run_actions::create_critique(&t.db, on_v2.clone(), None)
            .await
            .expect("run");
        let second_v2 = run_actions::create_critique(&t.db, on_v2, None)
            .await
            .expect("run");
        drain(&t.db, "w2").await;
        let a = critiques::for_job(&t.db, first_v2.id, 0, 10)
            .await
            .expect("a");
        let b = critiques::for_job(&t.db, second_v2.id, 0, 10)
            .await
            .expect("b");
        assert_eq!(a.len(), 2);
        let texts = |v: &[pairwise_core::dto::CritiqueLoopView]| {
            v.iter()
                .map(|l| {
                    (
                        l.constitution.clone(),
                        l.principle.clone(),
                        l.original.clone(),
                        l.final_text.clone(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(texts(&a), texts(&b), "{}", t.backend);
        assert!(a.iter().all(|l| l.constitution == "default@2"));
        t.finish().await;
    }
}

#[tokio::test]
async fn bad_loop_requests_name_the_field() {
    for t in TestDb::all().await {
        let project_id = loop_project(&t.db).await;
        let field = |e: pairwise_pipeline::PipelineError| e.to_string();
        let mut r = request();
        r.rounds = 0;
        let e = field(
            run_actions::create_critique(&t.db, r, None)
                .await
                .expect_err("rounds"),
        );
        assert!(e.contains("rounds"), "{e}");
        let mut r = request();
        r.constitution = "nope".into();
        let e = field(
            run_actions::create_critique(&t.db, r, None)
                .await
                .expect_err("constitution"),
        );
        assert!(e.contains("constitution") && e.contains("nope"), "{e}");
        let mut r = request();
        r.split = "bogus".into();
        let e = field(
            run_actions::create_critique(&t.db, r, None)
                .await
                .expect_err("split"),
        );
        assert!(e.contains("split"), "{e}");
        let mut r = request();
        r.split = "eval".into();
        let e = field(
            run_actions::create_critique(&t.db, r, None)
                .await
                .expect_err("no prompts"),
        );
        assert!(e.contains("no eval prompts"), "{e}");
        let mut r = request();
        r.critic = "/nowhere".into();
        let e = field(
            run_actions::create_critique(&t.db, r, None)
                .await
                .expect_err("critic"),
        );
        assert!(e.contains("model"), "{e}");
        // Every split: the benign prompts too.
        let mut r = request();
        r.split = "all".into();
        let run = run_actions::create_critique(&t.db, r, None)
            .await
            .expect("all");
        assert_eq!(run.total, 10);
        // The built-in false-premise probes: added to the project as red-team prompts (once),
        // and the loop runs on them alone.
        for _ in 0..2 {
            let mut r = request();
            r.split = "probes".into();
            r.limit = None;
            let run = run_actions::create_critique(&t.db, r, None)
                .await
                .expect("probes");
            assert_eq!(run.total, 20);
            let payload: pairwise_pipeline::runs::CritiquePayload =
                serde_json::from_value(run.payload.clone()).expect("payload");
            let probes = pairwise_store::prompts::get_many(&t.db, &payload.prompt_ids)
                .await
                .expect("prompts");
            assert!(probes.iter().all(
                |p| p.source.as_deref() == Some("probes:false-premise") && p.split == "redteam"
            ));
            assert!(probes.iter().any(|p| p.text.contains("Einstein")));
        }
        let count = pairwise_store::prompts::count(&t.db, project_id)
            .await
            .expect("count");
        assert_eq!(count, 10 + 20, "the probes are added once");
        t.finish().await;
    }
}
