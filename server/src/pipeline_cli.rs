//! `pairwise model …`, `pairwise rubric …`, `pairwise run …` and `pairwise worker`: the models
//! registry, rubric versions, generation and judge runs, and standalone job workers.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pairwise_core::{
    requests::{RegisterModel, SaveRubric},
    rubric::RubricSpec,
    run_requests::{GenerateRequest, JudgeRequest, ReferenceRequest},
    Actor,
};
use pairwise_pipeline::{runs, Worker, WorkerOptions};
use pairwise_store::{jobs, models, rubrics, DatabaseConnection};
use std::{path::PathBuf, time::Duration};

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Register a model directory (optimum layout) under a name; its files' hash is its version.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = ["generator", "judge", "reward", "reference"])]
        kind: String,
        /// cpu, cuda or auto.
        #[arg(long, default_value = "cpu")]
        device: String,
        dir: PathBuf,
    },
    /// List registered models with their versions.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum RubricCommand {
    /// List every version of every rubric.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one version (`NAME` for the latest, or `NAME@VERSION`) as JSON.
    Show { rubric: String },
    /// Save a spec (JSON file: dimensions, templates, temperature) as the next version of NAME.
    Save {
        #[arg(long)]
        name: String,
        spec: PathBuf,
        /// Allow a judge temperature above 0.3.
        #[arg(long)]
        force: bool,
    },
    /// Field-by-field differences between two versions (`NAME@1 NAME@2`).
    Diff { a: String, b: String },
}

#[derive(Debug, Subcommand)]
pub enum RunCommand {
    /// Queue a generation run over a project's prompts; prints the run id.
    Generate {
        #[command(flatten)]
        request: GenerateRequest,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Queue a judge run over a project's candidates; prints the run id.
    Judge {
        #[command(flatten)]
        request: JudgeRequest,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Queue a reference-scoring run: each candidate's mean per-token log-prob under a reference
    /// model (hard negatives vs trivial ones); prints the run id.
    Reference {
        #[command(flatten)]
        request: ReferenceRequest,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// One run's status.
    Status {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Recent runs.
    List {
        #[arg(long)]
        project: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Cancel a queued or running run.
    Cancel { id: i64 },
    /// Queue a failed or cancelled run again (stored work is kept).
    Retry { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum PairsCommand {
    /// Build chosen/rejected pairs from a finished judge run by strategy (atomic; duplicates by
    /// stable hash are skipped).
    Build {
        #[arg(long)]
        project: String,
        /// The judge run.
        #[arg(long)]
        run: i64,
        /// extreme or margin (pointwise runs), pairwise (pairwise runs).
        #[arg(long)]
        strategy: pairwise_core::strategy::Strategy,
        /// Margin strategy: neighbours whose score gap is below this.
        #[arg(long, default_value_t = pairwise_core::strategy::DEFAULT_MARGIN_THRESHOLD)]
        threshold: f64,
        #[arg(long)]
        min_margin: Option<f64>,
        /// Drop saturated margins above this.
        #[arg(long)]
        max_margin: Option<f64>,
        /// Reference log-prob gap (nats/token) above which a pair is a trivial negative.
        #[arg(long, default_value_t = pairwise_pipeline::pairing::DEFAULT_TRIVIAL_GAP)]
        trivial_gap: f64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn pairs(
    db: &DatabaseConnection,
    actor: &Actor,
    command: PairsCommand,
) -> anyhow::Result<()> {
    let PairsCommand::Build {
        project,
        run,
        strategy,
        threshold,
        min_margin,
        max_margin,
        trivial_gap,
        json,
    } = command;
    let request = pairwise_pipeline::BuildRequest {
        project: project.clone(),
        judge_run: run,
        strategy,
        threshold,
        min_margin,
        max_margin,
        trivial_gap,
    };
    let report = pairwise_pipeline::build_pairs(db, &request, actor).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} new {} pairs in {project} from run {run} ({} chosen, {} filtered by margin, {} duplicates, {} trivial negatives)",
            report.inserted, strategy.as_str(), report.chosen, report.filtered, report.duplicates, report.trivial_negatives
        );
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Wait for the run to end (processing it in this process), then print its summary.
    #[arg(long)]
    pub wait: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Seconds a claim lasts without a heartbeat (a killed worker's run is taken over after it).
    #[arg(long, default_value_t = 30)]
    pub lease_secs: u64,
    /// Stop once the queue is empty.
    #[arg(long)]
    pub exit_when_idle: bool,
    /// ONNX Runtime threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub async fn model(
    db: &DatabaseConnection,
    actor: &Actor,
    command: ModelCommand,
) -> anyhow::Result<()> {
    match command {
        ModelCommand::Add {
            name,
            kind,
            device,
            dir,
        } => {
            let request = RegisterModel {
                name,
                kind,
                dir: dir.display().to_string(),
                device,
            };
            let view = pairwise_pipeline::models::register_model(db, actor, request).await?;
            println!(
                "registered {} ({}) version {}",
                view.name, view.kind, view.version
            );
        }
        ModelCommand::List { json } => {
            let list = models::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for m in list {
                    println!(
                        "{:<20} {:<10} {:<5} {}  {}",
                        m.name,
                        m.kind,
                        m.device,
                        &m.version[..12.min(m.version.len())],
                        m.path
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn rubric(
    db: &DatabaseConnection,
    actor: &Actor,
    command: RubricCommand,
) -> anyhow::Result<()> {
    match command {
        RubricCommand::List { json } => {
            let list = rubrics::list(db).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in list {
                    let dims: Vec<_> = r.spec.dimensions.iter().map(|d| d.name.as_str()).collect();
                    println!(
                        "{}@{}  {}  {}",
                        r.name,
                        r.version,
                        dims.join(","),
                        if r.locked { "locked" } else { "" }
                    );
                }
            }
        }
        RubricCommand::Show { rubric } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&rubrics::show(db, &rubric).await?)?
            );
        }
        RubricCommand::Save { name, spec, force } => {
            let text = std::fs::read_to_string(&spec)
                .with_context(|| format!("cannot read {}", spec.display()))?;
            let parsed: RubricSpec = serde_json::from_str(&text)
                .with_context(|| format!("{}: not a rubric spec", spec.display()))?;
            let request = SaveRubric {
                name,
                spec: parsed,
                force,
            };
            let view = pairwise_pipeline::rubrics::save_rubric(db, actor, request).await?;
            println!("saved {}@{}", view.name, view.version);
        }
        RubricCommand::Diff { a, b } => {
            let (ra, rb) = (rubrics::show(db, &a).await?, rubrics::show(db, &b).await?);
            let changes = pairwise_core::rubric::diff(&ra.spec, &rb.spec);
            println!("{}", serde_json::to_string_pretty(&changes)?);
        }
    }
    Ok(())
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: RunCommand,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    match command {
        RunCommand::Generate { request, wait } => {
            let run = runs::start_generation(db, actor, request).await?;
            finish_submit(db, run.id, &wait, threads).await?
        }
        RunCommand::Judge { request, wait } => {
            let run = runs::start_judge(db, actor, request).await?;
            for w in &run.warnings {
                eprintln!("warning: {w}");
            }
            finish_submit(db, run.id, &wait, threads).await?
        }
        RunCommand::Reference { request, wait } => {
            let run = runs::start_reference(db, actor, request).await?;
            finish_submit(db, run.id, &wait, threads).await?
        }
        RunCommand::Status { id, json } => {
            let view = jobs::show(db, id).await?;
            let mut value = serde_json::to_value(&view)?;
            if view.kind == pairwise_pipeline::runs::GENERATE {
                value["candidates"] = pairwise_store::candidates::count_for_job(db, id)
                    .await?
                    .into();
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!(
                    "run {} ({}) {}: {}/{}{}",
                    view.id,
                    view.kind,
                    view.status,
                    view.done,
                    view.total,
                    view.error.map(|e| format!(" — {e}")).unwrap_or_default()
                );
            }
        }
        RunCommand::List { project, json } => {
            let project_id = match project {
                Some(name) => Some(pairwise_store::projects::require(db, &name).await?.id),
                None => None,
            };
            let list = jobs::list(db, project_id, 100).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in list {
                    println!(
                        "{:>5} {:<9} {:<10} {:<12} {}/{}",
                        r.id, r.kind, r.status, r.project, r.done, r.total
                    );
                }
            }
        }
        RunCommand::Cancel { id } => {
            runs::cancel_run(db, actor, id).await?;
            println!("run {id} cancelled");
        }
        RunCommand::Retry { id } => {
            runs::retry_run(db, actor, id).await?;
            println!("run {id} queued again");
        }
    }
    Ok(())
}

/// Prints the id; with --wait, processes queued runs in this process until this one ends, with
/// a progress bar, then prints the summary.
async fn finish_submit(
    db: &DatabaseConnection,
    id: i64,
    wait: &WaitArgs,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    if !wait.wait {
        if wait.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&jobs::show(db, id).await?)?
            );
        } else {
            println!("{id}");
        }
        return Ok(());
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} run {prefix} [{bar:30}] {pos}/{len} {msg} ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(id.to_string());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut options = WorkerOptions::default();
    if let Some(t) = threads {
        options.threads = t;
    }
    let worker = tokio::spawn(Worker::new(db.clone(), options).run(stop_rx));
    let view = loop {
        let view = jobs::show(db, id).await?;
        bar.set_length(view.total);
        bar.set_position(view.done);
        if let Some(tps) = view.tokens_per_s {
            bar.set_message(format!("{tps:.1} tok/s"));
        }
        if matches!(
            view.status.as_str(),
            jobs::DONE | jobs::FAILED | jobs::CANCELLED
        ) {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    bar.finish_and_clear();
    let _ = stop_tx.send(true);
    let _ = worker.await;
    let mut summary = serde_json::json!({
        "id": view.id,
        "kind": view.kind,
        "status": view.status,
    });
    if let (Some(object), Some(extra)) = (summary.as_object_mut(), view.summary.as_object()) {
        for (k, v) in extra {
            object.insert(k.clone(), v.clone());
        }
        if let Some(e) = &view.error {
            object.insert("error".into(), e.clone().into());
        }
        if !view.warnings.is_empty() {
            object.insert("warnings".into(), serde_json::json!(view.warnings));
        }
    }
    if wait.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!("{summary}");
    }
    if view.status != jobs::DONE {
        bail!("run {id} ended {}", view.status);
    }
    Ok(())
}

/// `pairwise worker`: processes queued runs until interrupted (or, with --exit-when-idle, until
/// the queue is empty).
pub async fn worker(db: &DatabaseConnection, args: WorkerArgs) -> anyhow::Result<()> {
    let mut options = WorkerOptions {
        lease: Duration::from_secs(args.lease_secs.max(1)),
        ..WorkerOptions::default()
    };
    if let Some(t) = args.threads {
        options.threads = t;
    }
    let mut worker = Worker::new(db.clone(), options);
    eprintln!("worker {} waiting for runs", worker.id());
    if args.exit_when_idle {
        while let Some((id, outcome)) = worker.run_one().await? {
            eprintln!("run {id}: {outcome:?}");
        }
        return Ok(());
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    });
    worker.run(stop_rx).await;
    Ok(())
}

/// The report as text for a terminal.
pub fn print_report(r: &pairwise_core::dto::QualityReport) {
    println!("{} {}: {} pairs", r.project, r.version, r.pairs);
    let tokens = r.length_tokens.as_ref().map(|d| ("tokens", d));
    for (label, d) in [("characters", &r.length_chars), ("words", &r.length_words)]
        .into_iter()
        .chain(tokens)
    {
        println!(
            "  length chosen - rejected ({label}): mean {:.1}, median {:.1}, chosen longer in {:.1}%",
            d.mean,
            d.median,
            d.share_chosen_longer * 100.0
        );
    }
    println!(
        "  templated chosen answers: {:.1}% of {} in {} clusters shown; repeated prompts: {}; trivial negatives: {}",
        r.templated_share * 100.0,
        r.templates_sampled,
        r.templates.len(),
        r.repeated_prompts,
        r.trivial_negatives
    );
    for c in r.templates.iter().take(5) {
        println!(
            "    {} × {}{}",
            c.size,
            c.examples.first().map(String::as_str).unwrap_or(""),
            if c.refusal_like { "  [refusal]" } else { "" }
        );
    }
    for c in &r.contamination {
        println!(
            "  contamination ({}): {} of {} prompts exact, {} near (Jaccard >= {})",
            c.against, c.exact, c.compared, c.near, c.threshold
        );
    }
    println!("  strategies: {:?}", r.by_strategy);
    println!("  sources: {:?}", r.by_source);
    for j in &r.judge_runs {
        println!(
            "  judge run {} ({}, {}): parse failures {:.1}%{}",
            j.run,
            j.mode,
            j.rubric,
            j.parse_failure_rate * 100.0,
            j.inconsistency_rate
                .map(|i| format!(", position inconsistency {:.1}%", i * 100.0))
                .unwrap_or_default()
        );
    }
}
