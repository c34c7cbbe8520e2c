//! The demo seed behind `make run`: three users with fresh random passwords (printed, never
//! fixed), and a `demo` project holding XSTest (benign vs red-team by its label) and 200 GSM8K
//! questions when the public datasets are present.

use anyhow::Context;
use pairwise_core::{ImportFormat, PromptReader, Role, Split};
use pairwise_store::{models, projects, prompts, users, DatabaseConnection};
use rand::{distributions::Alphanumeric, Rng};
use sea_orm::TransactionTrait;
use std::{io::BufRead, path::Path};

pub const DEMO_PROJECT: &str = "demo";
const GSM8K_SAMPLE: usize = 200;

pub async fn run(db: &DatabaseConnection, data: &Path) -> anyhow::Result<()> {
    let mut logins = Vec::new();
    for (name, role) in [
        ("demo-admin", Role::Admin),
        ("demo-reviewer", Role::Reviewer),
        ("demo-annotator", Role::Annotator),
    ] {
        let password: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        if users::find_by_username(db, name).await?.is_some() {
            users::set_password(db, name, &password).await?;
            users::set_active(db, name, true).await?;
            users::set_role(db, name, role).await?;
        } else {
            users::create(db, name, role, &password).await?;
        }
        logins.push((name, role, password));
    }
    let project = match projects::find(db, DEMO_PROJECT).await? {
        Some(p) => p,
        None => {
            projects::create(
                db,
                DEMO_PROJECT,
                "XSTest safety prompts and GSM8K math questions",
                None,
            )
            .await?;
            projects::require(db, DEMO_PROJECT).await?
        }
    };
    let mut added = 0;
    let xstest = data.join("xstest/xstest_prompts.csv");
    if xstest.is_file() {
        let file = std::fs::File::open(&xstest)
            .with_context(|| format!("cannot open {}", xstest.display()))?;
        let mut records = Vec::new();
        for record in PromptReader::new(std::io::BufReader::new(file), ImportFormat::Csv)? {
            let mut record = record.with_context(|| xstest.display().to_string())?;
            let unsafe_ = record.metadata.get("label").and_then(|v| v.as_str()) == Some("unsafe");
            record.split = Some(if unsafe_ {
                Split::Redteam
            } else {
                Split::Benign
            });
            record.domain = Some("safety".into());
            record.source = Some("xstest".into());
            records.push(record);
        }
        added += insert_all(db, project.id, &records).await?;
    } else {
        eprintln!(
            "note: {} not found; the demo project starts without XSTest",
            xstest.display()
        );
    }
    let gsm8k = data.join("gsm8k/test.jsonl");
    if gsm8k.is_file() {
        let file = std::fs::File::open(&gsm8k)
            .with_context(|| format!("cannot open {}", gsm8k.display()))?;
        let mut lines = String::new();
        for line in std::io::BufReader::new(file).lines().take(GSM8K_SAMPLE) {
            let row: serde_json::Value = serde_json::from_str(&line?).context("gsm8k line")?;
            let prompt = serde_json::json!({
                "prompt": row["question"], "domain": "math", "source": "gsm8k", "split": "train",
                "metadata": { "reference_answer": row["answer"] }
            });
            lines.push_str(&prompt.to_string());
            lines.push('\n');
        }
        let records = PromptReader::new(lines.as_bytes(), ImportFormat::Jsonl)?
            .collect::<Result<Vec<_>, _>>()?;
        added += insert_all(db, project.id, &records).await?;
    }
    register_demo_models(db).await?;
    seed_review(db, data).await?;
    seed_arena(db, data).await?;
    seed_loop(db, project.id).await?;
    seed_eval(db, project.id).await?;
    seed_rounds(db, project.id).await?;
    seed_refusal_checks(db, data, project.id).await?;
    seed_guards(db).await?;
    // The demo reviewer works in both projects, the demo annotator in the review project.
    for (project, user, role) in [
        (DEMO_PROJECT, "demo-reviewer", "reviewer"),
        (ARENA, "demo-reviewer", "reviewer"),
        ("demo-review", "demo-reviewer", "reviewer"),
        (GUARDS, "demo-reviewer", "reviewer"),
        ("demo-review", "demo-annotator", "annotator"),
    ] {
        if let (Some(p), Some(u)) = (
            projects::find(db, project).await?,
            users::find_by_username(db, user).await?,
        ) {
            pairwise_store::members::set(db, p.id, u.id, role).await?;
        }
    }
    let total = prompts::count(db, project.id).await?;
    println!("Demo project `{DEMO_PROJECT}`: {total} prompts ({added} added now).");
    println!("Demo logins (new random passwords on every run):");
    for (name, role, password) in logins {
        println!("  {:<10} {:<16} {}", role.as_str(), name, password);
    }
    Ok(())
}

/// The demo models made by `make setup`: SmolLM2-135M (fp32) as the generator, its 4-bit
/// quantization as the judge (a different version hash, though the same model family), the tiny
/// random decoder for quick runs and the tiny random reward classifier (a stand-in: no registry
/// package ships a real reward model). Missing directories are skipped with a note.
async fn register_demo_models(db: &DatabaseConnection) -> anyhow::Result<()> {
    for (name, kind, dir) in [
        ("smollm2-135m", "generator", "models/demo"),
        ("smollm2-135m-q4", "judge", "models/demo-q4"),
        ("tiny-random", "generator", "models/tiny"),
        ("tiny-reward", "reward", "models/tiny-reward"),
    ] {
        let Ok(path) = Path::new(dir).canonicalize() else {
            eprintln!("note: {dir} not found (run `make setup`); model `{name}` not registered");
            continue;
        };
        let version = pairwise_pipeline::runs::open_version(path.clone()).await?;
        match models::find(db, name).await? {
            Some(m) => {
                models::record_version(db, m.id, &version).await?;
            }
            None => {
                models::register(
                    db,
                    models::NewModel {
                        remote: None,
                        name: name.into(),
                        kind: kind.into(),
                        path: path.display().to_string(),
                        version,
                        device: "cpu".into(),
                        created_by: None,
                    },
                )
                .await?;
            }
        }
    }
    println!(
        "Demo models: smollm2-135m (generator), smollm2-135m-q4 (judge), tiny-random, tiny-reward (random-weight classifier)."
    );
    Ok(())
}

async fn insert_all(
    db: &DatabaseConnection,
    project_id: i64,
    records: &[pairwise_core::PromptRecord],
) -> anyhow::Result<u64> {
    let txn = db.begin().await?;
    let mut added = 0;
    for chunk in records.chunks(500) {
        added += prompts::insert_batch(&txn, project_id, chunk, &Default::default()).await?;
    }
    txn.commit().await?;
    Ok(added)
}

/// The `demo-review` project: the first 60 HH-RLHF harmless-base test pairs queued for blind
/// review (k = 3, 10% swapped repeats, 5 of them silent gold), red-team marked, so
/// `demo-annotator` has work at /annotate and reviewers see /projects/demo-review/calibration.
async fn seed_review(db: &DatabaseConnection, data: &Path) -> anyhow::Result<()> {
    const NAME: &str = "demo-review";
    let file = data.join("hh-rlhf/harmless-base-test.jsonl.gz");
    if projects::find(db, NAME).await?.is_some() {
        return Ok(());
    }
    if !file.exists() {
        println!("note: {} not found; no annotation demo", file.display());
        return Ok(());
    }
    let p = projects::create(
        db,
        NAME,
        "Blind A/B review of HH-RLHF harmless-base pairs (red-team prompts)",
        None,
    )
    .await?;
    let reader = pairwise_pipeline::maybe_gunzip(std::fs::File::open(&file)?)?;
    let first: Vec<u8> = std::io::BufRead::lines(reader)
        .take(60)
        .collect::<Result<Vec<_>, _>>()?
        .join("\n")
        .into_bytes();
    pairwise_pipeline::import_pairs(
        db,
        NAME,
        std::io::Cursor::new(first),
        pairwise_core::PairFormat::HhRlhf,
        "harmless-base-test.jsonl.gz",
        &pairwise_core::Actor::cli(),
        |_| {},
    )
    .await?;
    pairwise_store::annotation::fill_from_pairs(db, p.id, u64::MAX, true, Some(1)).await?;
    pairwise_store::annotation::gold_from_pairs(db, p.id, 5).await?;
    println!("Demo project `{NAME}`: 60 HH-RLHF pairs queued for blind review at /annotate.");
    Ok(())
}

const ARENA: &str = "demo-arena";
/// Prompts of the arena: enough for the leaderboard's intervals, few enough that the demo seeds
/// in about a minute on two cores.
const ARENA_PROMPTS: usize = 8;
/// Gold items of the arena the judge run also judges.
const ARENA_GOLD: usize = 12;

/// The `demo-arena` project: eight benign XSTest prompts, three candidates each (one per decoding
/// path) from SmolLM2-135M and from the tiny random decoder, scored by the 4-bit SmolLM2 judge
/// (probability-weighted scores), so /projects/demo-arena/leaderboard ranks two generator versions
/// and three paths with bootstrap intervals from the first click; the judge run also judges 12
/// HH-RLHF gold items, for /projects/demo-arena/calibration's judges against gold. The runs are real, processed
/// here with a progress bar; seeded once.
async fn seed_arena(db: &DatabaseConnection, data: &Path) -> anyhow::Result<()> {
    use pairwise_core::{
        judge::JudgeMode,
        run_requests::{GenerateRequest, JudgeRequest},
        Actor,
    };
    if projects::find(db, ARENA).await?.is_some() {
        return Ok(());
    }
    let xstest = data.join("xstest/xstest_prompts.csv");
    let models_there = ["smollm2-135m", "smollm2-135m-q4", "tiny-random"];
    for m in models_there {
        if models::find(db, m).await?.is_none() {
            println!("note: model `{m}` is not registered; no leaderboard demo");
            return Ok(());
        }
    }
    if !xstest.is_file() {
        println!("note: {} not found; no leaderboard demo", xstest.display());
        return Ok(());
    }
    let file = std::fs::File::open(&xstest)
        .with_context(|| format!("cannot open {}", xstest.display()))?;
    let mut records = Vec::new();
    for record in PromptReader::new(std::io::BufReader::new(file), ImportFormat::Csv)? {
        let record = record.with_context(|| xstest.display().to_string())?;
        if record.metadata.get("label").and_then(|v| v.as_str()) == Some("safe") {
            records.push(record);
        }
        if records.len() == ARENA_PROMPTS {
            break;
        }
    }
    let p = projects::create(
        db,
        ARENA,
        "Two generator versions and three decoding paths on benign XSTest prompts, judged",
        None,
    )
    .await?;
    insert_all(db, p.id, &records).await?;
    let actor = Actor::cli();
    println!(
        "Demo project `{ARENA}`: generating and judging for the leaderboard (about a minute)…"
    );
    let mut generations = Vec::new();
    for model in ["smollm2-135m", "tiny-random"] {
        let mut request = GenerateRequest::new(ARENA, model);
        request.n = 3;
        request.max_new_tokens = 24;
        request.seed = Some(7);
        let run = pairwise_pipeline::runs::start_generation(db, &actor, request).await?;
        let view = crate::cli::process_until_done(db, run.id, None).await?;
        anyhow::ensure!(
            view.status == pairwise_store::runs::DONE,
            "demo generation with {model} ended {}",
            view.status
        );
        generations.push(run.id);
    }
    // A small gold set (HH-RLHF pairs after the review demo's) that the judge run also judges,
    // so /projects/demo-arena/calibration shows the judge against gold.
    let hh = data.join("hh-rlhf/harmless-base-test.jsonl.gz");
    let mut gold_items = 0;
    if hh.is_file() {
        let reader = pairwise_pipeline::maybe_gunzip(std::fs::File::open(&hh)?)?;
        let rows: Vec<u8> = std::io::BufRead::lines(reader)
            .skip(60)
            .take(ARENA_GOLD)
            .collect::<Result<Vec<_>, _>>()?
            .join("\n")
            .into_bytes();
        let report = pairwise_pipeline::import_gold(
            db,
            ARENA,
            std::io::Cursor::new(rows),
            pairwise_core::PairFormat::HhRlhf,
            "harmless-base-test.jsonl.gz",
            &actor,
        )
        .await?;
        gold_items = report.inserted as u32;
    }
    let mut judge = JudgeRequest::new(ARENA, "smollm2-135m-q4", "default", JudgeMode::Prob);
    judge.runs = generations;
    judge.gold_items = gold_items;
    let run = pairwise_pipeline::runs::start_judge(db, &actor, judge).await?;
    let view = crate::cli::process_until_done(db, run.id, None).await?;
    anyhow::ensure!(
        view.status == pairwise_store::runs::DONE,
        "demo judge run ended {}",
        view.status
    );
    println!("Demo project `{ARENA}`: ranked at /projects/{ARENA}/leaderboard.");
    Ok(())
}

/// Red-team prompts of the demo project the demo's critique → revision loop covers.
const LOOP_PROMPTS: u64 = 10;

/// A critique → revision loop over the first 10 red-team XSTest prompts of the `demo` project:
/// smollm2-135m answers and revises, its 4-bit quantization critiques, against the default
/// constitution; its loops and pairs are at /runs/ID/critiques. Once per database.
async fn seed_loop(db: &DatabaseConnection, project_id: i64) -> anyhow::Result<()> {
    use pairwise_core::{run_requests::CritiqueRequest, Actor};
    let already = pairwise_store::runs::list(db, Some(project_id), 10_000)
        .await?
        .iter()
        .any(|r| r.kind == pairwise_pipeline::runs::CRITIQUE);
    if already {
        return Ok(());
    }
    for m in ["smollm2-135m", "smollm2-135m-q4"] {
        if models::find(db, m).await?.is_none() {
            println!("note: model `{m}` is not registered; no critique loop demo");
            return Ok(());
        }
    }
    let mut request = CritiqueRequest::new(DEMO_PROJECT, "smollm2-135m", "smollm2-135m-q4");
    request.limit = Some(LOOP_PROMPTS);
    request.max_new_tokens = 40;
    request.seed = Some(7);
    let run = match pairwise_pipeline::runs::start_critique(db, &Actor::cli(), request).await {
        Ok(run) => run,
        Err(pairwise_pipeline::PipelineError::Invalid { field: "split", .. }) => {
            println!("note: the demo project has no red-team prompts; no critique loop demo");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "Demo project `{DEMO_PROJECT}`: critique → revision loop on {LOOP_PROMPTS} red-team prompts (about a minute)…"
    );
    let view = crate::cli::process_until_done(db, run.id, None).await?;
    anyhow::ensure!(
        view.status == pairwise_store::runs::DONE,
        "demo critique loop ended {}",
        view.status
    );
    println!(
        "Demo project `{DEMO_PROJECT}`: {} loop pairs, at /runs/{}/critiques.",
        view.summary["pairs"], run.id
    );
    Ok(())
}

/// Prompts per side the demo's evaluations answer.
const EVAL_PROMPTS: u64 = 10;

/// Two evaluated points for /eval: smollm2-135m and tiny-random on the first 10 benign and 10
/// red-team XSTest prompts of `demo`, the 4-bit model judging helpfulness. Once per database.
async fn seed_eval(db: &DatabaseConnection, project_id: i64) -> anyhow::Result<()> {
    use pairwise_core::{run_requests::EvalRequest, Actor};
    let already = pairwise_store::runs::list(db, Some(project_id), 10_000)
        .await?
        .iter()
        .any(|r| r.kind == pairwise_pipeline::runs::EVAL);
    if already {
        return Ok(());
    }
    for m in ["smollm2-135m", "smollm2-135m-q4", "tiny-random"] {
        if models::find(db, m).await?.is_none() {
            println!("note: model `{m}` is not registered; no evaluation demo");
            return Ok(());
        }
    }
    println!(
        "Demo project `{DEMO_PROJECT}`: evaluating two models on {EVAL_PROMPTS} benign and {EVAL_PROMPTS} red-team prompts…"
    );
    for model in ["smollm2-135m", "tiny-random"] {
        let mut request = EvalRequest::new(DEMO_PROJECT, model);
        request.judge = Some("smollm2-135m-q4".into());
        request.limit = Some(EVAL_PROMPTS);
        request.max_new_tokens = 32;
        request.seed = Some(7);
        let run = match pairwise_pipeline::runs::start_eval(db, &Actor::cli(), request).await {
            Ok(run) => run,
            Err(pairwise_pipeline::PipelineError::Invalid {
                field: "prompts", ..
            }) => {
                println!(
                    "note: the demo project has no benign or red-team prompts; no evaluation demo"
                );
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let view = crate::cli::process_until_done(db, run.id, None).await?;
        anyhow::ensure!(
            view.status == pairwise_store::runs::DONE,
            "demo evaluation of {model} ended {}",
            view.status
        );
    }
    println!("Demo evaluations: two points at /eval.");
    Ok(())
}

/// Two rounds in `demo` for /rounds: round 1 is tiny-random, round 2 smollm2-135m (each with its
/// demo evaluation), and round 2 compared with round 1 by the 4-bit judge in both orders on the
/// 10 benign prompts both answered. Once per database.
async fn seed_rounds(db: &DatabaseConnection, project_id: i64) -> anyhow::Result<()> {
    use pairwise_core::{
        duel::DuelSource, run_requests::DuelRequest, run_requests::SaveRound, Actor,
    };
    if !pairwise_store::rounds::list(db, project_id)
        .await?
        .is_empty()
    {
        return Ok(());
    }
    // The demo evaluations, by model name.
    let evals =
        pairwise_store::runs::finished_of_kind(db, project_id, pairwise_pipeline::runs::EVAL)
            .await?;
    let eval_of = |model: &str| {
        evals
            .iter()
            .filter(|j| {
                serde_json::from_str::<serde_json::Value>(&j.payload)
                    .is_ok_and(|p| p["model"]["name"] == model)
            })
            .map(|j| j.id)
            .min()
    };
    let (Some(first), Some(second)) = (eval_of("tiny-random"), eval_of("smollm2-135m")) else {
        println!("note: no demo evaluations; no rounds demo");
        return Ok(());
    };
    let actor = Actor::cli();
    for (name, generator, eval_run) in [
        ("baseline", "tiny-random", first),
        ("SFT", "smollm2-135m", second),
    ] {
        let round = SaveRound {
            project: DEMO_PROJECT.into(),
            number: None,
            name: name.into(),
            generator: generator.into(),
            generation_runs: Vec::new(),
            judge_runs: Vec::new(),
            dataset_version: None,
            eval_run: Some(eval_run),
            note: "demo".into(),
        };
        pairwise_pipeline::rounds::save_round(db, &actor, round).await?;
    }
    let request = DuelRequest::new(
        DEMO_PROJECT,
        "smollm2-135m-q4",
        DuelSource::Round { round: 2 },
    );
    let run = pairwise_pipeline::runs::start_duel(db, &actor, request).await?;
    let view = crate::cli::process_until_done(db, run.id, None).await?;
    anyhow::ensure!(
        view.status == pairwise_store::runs::DONE,
        "demo round duel ended {}",
        view.status
    );
    println!(
        "Demo rounds: round 2 against round 1 at /rounds?project={DEMO_PROJECT} (win rate {}).",
        view.summary["tally"]["all"]["win_rate"]
    );
    Ok(())
}

const GUARDS: &str = "demo-guards";
/// Guard pairs the demo's judge check reads (the first 8 probes' five kinds).
const GUARD_CHECK_ITEMS: u64 = 40;

/// The reward-hacking guard builder on the built-in false-premise probes in `demo-guards`,
/// frozen as `v1`, and the 4-bit judge's check of its first 40 pairs (does it prefer each
/// original?), shown per guard kind in the version's report. Once per database.
async fn seed_guards(db: &DatabaseConnection) -> anyhow::Result<()> {
    use pairwise_core::{
        duel::DuelSource,
        requests::{BuildRequest, Builder},
        run_requests::DuelRequest,
        Actor,
    };
    if projects::find(db, GUARDS).await?.is_some() {
        return Ok(());
    }
    if models::find(db, "smollm2-135m-q4").await?.is_none() {
        println!("note: model `smollm2-135m-q4` is not registered; no guard check demo");
        return Ok(());
    }
    let project = projects::create(
        db,
        GUARDS,
        "Reward-hacking guard pairs from the built-in false-premise probes",
        None,
    )
    .await?;
    let actor = Actor::cli();
    let request = BuildRequest {
        project: GUARDS.into(),
        builder: Builder::Guards,
        input: pairwise_pipeline::builders::guards::FALSE_PREMISE_PROBES.into(),
        source: "false_premise_probes.jsonl".into(),
        mutants: None,
        mutant_budget: None,
        generator: None,
    };
    let run = pairwise_pipeline::builders::jobs::start_build(db, &actor, request).await?;
    let view = crate::cli::process_until_done(db, run.id, None).await?;
    anyhow::ensure!(
        view.status == pairwise_store::runs::DONE,
        "demo guard build ended {}",
        view.status
    );
    pairwise_store::datasets::freeze(db, project.id, "v1", &Default::default(), None).await?;
    let mut request = DuelRequest::new(
        GUARDS,
        "smollm2-135m-q4",
        DuelSource::Guards {
            dataset_version: Some("v1".into()),
        },
    );
    request.limit = Some(GUARD_CHECK_ITEMS);
    let run = pairwise_pipeline::runs::start_duel(db, &actor, request).await?;
    let view = crate::cli::process_until_done(db, run.id, None).await?;
    anyhow::ensure!(
        view.status == pairwise_store::runs::DONE,
        "demo guard check ended {}",
        view.status
    );
    println!(
        "Demo guards: {GUARD_CHECK_ITEMS} guard pairs checked at /projects/{GUARDS}/datasets/v1 (judge prefers the original {}).",
        view.summary["tally"]["all"]["win_rate"]
    );
    Ok(())
}

/// Labelled answers the demo's judged refusal check reads (of the GPT-4 file).
const JUDGED_CHECK_ROWS: usize = 40;

/// The refusal classifier against XSTest's human labels, recorded in `demo` for /eval: the rules
/// on both labelled completion files, and the rules with the 4-bit judge on the first 40 GPT-4
/// answers. Once per database.
async fn seed_refusal_checks(
    db: &DatabaseConnection,
    data: &Path,
    project_id: i64,
) -> anyhow::Result<()> {
    use pairwise_core::{run_requests::RefusalCheckRequest, Actor};
    let done =
        pairwise_store::runs::of_kind(db, project_id, pairwise_pipeline::runs::REFUSAL_CHECK)
            .await?;
    if !done.is_empty() {
        return Ok(());
    }
    let judge = models::find(db, "smollm2-135m-q4").await?.map(|m| m.name);
    let files = [
        ("xstest_v2_completions_gpt4.csv", None),
        ("xstest_v2_completions_mistralinstruct.csv", None),
        (
            "xstest_v2_completions_gpt4.csv",
            judge.map(|j| (j, JUDGED_CHECK_ROWS)),
        ),
    ];
    for (name, judged) in files {
        let path = data.join("xstest").join(name);
        if !path.is_file() {
            println!(
                "note: {} not found; no refusal classifier check",
                path.display()
            );
            continue;
        }
        let file = std::fs::File::open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        let mut rows = pairwise_core::refusal::read_labelled(file)
            .with_context(|| path.display().to_string())?;
        let judge = judged.map(|(judge, limit)| {
            rows.truncate(limit);
            judge
        });
        let request = RefusalCheckRequest {
            project: DEMO_PROJECT.into(),
            judge,
            source: name.into(),
            rows,
        };
        let run = pairwise_pipeline::runs::start_refusal_check(db, &Actor::cli(), request).await?;
        let view = crate::cli::process_until_done(db, run.id, None).await?;
        anyhow::ensure!(
            view.status == pairwise_store::runs::DONE,
            "demo refusal check ended {}",
            view.status
        );
    }
    println!("Demo refusal classifier checks against XSTest's human labels: at /eval.");
    Ok(())
}
