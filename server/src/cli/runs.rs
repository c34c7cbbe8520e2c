//! `pairwise run …`: generation, judge and reference-scoring runs (queue, optionally wait with a
//! progress bar, status, list, cancel, retry).

use anyhow::bail;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use pairwise_core::{
    duel::DuelSource,
    run_requests::{CritiqueRequest, DuelRequest, GenerateRequest, JudgeRequest, ReferenceRequest},
    Actor,
};
use pairwise_pipeline::{runs, Worker, WorkerOptions};
use pairwise_store::DatabaseConnection;
use std::time::Duration;

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
    /// Queue a critique → revision loop (Constitutional AI) over a project's red-team prompts:
    /// the final revision becomes chosen, the original rejected; prints the run id.
    Critique {
        #[command(flatten)]
        request: CritiqueRequest,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Queue a judge duel: the pairwise judge reads two answers per prompt in both orders —
    /// the project's guard pairs (`--guards`: does the judge prefer each original?) or round
    /// K's generator against round K − 1's (`--round K`); prints the run id.
    Duel {
        #[arg(long)]
        project: String,
        /// A registered judge model.
        #[arg(long)]
        judge: String,
        /// The judge's rubric (`NAME` or `NAME@VERSION`).
        #[arg(long, default_value = "default")]
        rubric: String,
        /// The guard pairs of the project …
        #[arg(long, conflicts_with = "round", required_unless_present = "round")]
        guards: bool,
        /// … of this dataset version only.
        #[arg(long, requires = "guards")]
        dataset_version: Option<String>,
        /// Round K against round K − 1.
        #[arg(long)]
        round: Option<i32>,
        /// At most this many items.
        #[arg(long)]
        limit: Option<u64>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// The loops of a critique run: principle, every critique and revision, how each ended.
    Loops {
        id: i64,
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[arg(long)]
        json: bool,
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

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Wait for the run to end (processing it in this process), then print its summary.
    #[arg(long)]
    pub wait: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
        RunCommand::Critique { request, wait } => {
            let run = runs::start_critique(db, actor, request).await?;
            for w in &run.warnings {
                eprintln!("warning: {w}");
            }
            finish_submit(db, run.id, &wait, threads).await?
        }
        RunCommand::Duel {
            project,
            judge,
            rubric,
            guards: _,
            dataset_version,
            round,
            limit,
            wait,
        } => {
            let source = match round {
                Some(round) => DuelSource::Round { round },
                None => DuelSource::Guards { dataset_version },
            };
            let mut request = DuelRequest::new(project, judge, source);
            request.rubric = rubric;
            request.limit = limit;
            let run = runs::start_duel(db, actor, request).await?;
            for w in &run.warnings {
                eprintln!("warning: {w}");
            }
            finish_submit(db, run.id, &wait, threads).await?
        }
        RunCommand::Loops {
            id,
            offset,
            limit,
            json,
        } => {
            let loops = runs::critique_loops(db, actor, id, offset, limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&loops)?);
            } else {
                for l in loops {
                    println!(
                        "prompt {} [{} · {}] {} after {} revision(s){}",
                        l.prompt_id,
                        l.constitution,
                        l.principle,
                        l.end,
                        l.revisions,
                        l.pair_hash
                            .map(|h| format!(", pair {}", &h[..12.min(h.len())]))
                            .unwrap_or_default()
                    );
                }
            }
        }
        RunCommand::Status { id, json } => {
            let view = pairwise_store::runs::show(db, id).await?;
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
            let list =
                pairwise_pipeline::runs::list_runs(db, actor, project.as_deref(), 100).await?;
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
pub(crate) async fn finish_submit(
    db: &DatabaseConnection,
    id: i64,
    wait: &WaitArgs,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    if !wait.wait {
        if wait.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&pairwise_store::runs::show(db, id).await?)?
            );
        } else {
            println!("{id}");
        }
        return Ok(());
    }
    let view = process_until_done(db, id, threads).await?;
    let mut summary = serde_json::json!({
        "id": view.id,
        "kind": view.kind,
        "status": view.status,
        "done": view.done,
        "total": view.total,
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
    if view.status != pairwise_store::runs::DONE {
        bail!("run {id} ended {}", view.status);
    }
    Ok(())
}

/// Processes queued runs in this process until run `id` ends (done, failed or cancelled), with
/// a progress bar; returns the run as it ended.
pub(crate) async fn process_until_done(
    db: &DatabaseConnection,
    id: i64,
    threads: Option<usize>,
) -> anyhow::Result<pairwise_core::dto::RunView> {
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
        let view = pairwise_store::runs::show(db, id).await?;
        bar.set_length(view.total);
        bar.set_position(view.done);
        if let Some(tps) = view.tokens_per_s {
            bar.set_message(format!("{tps:.1} tok/s"));
        }
        if matches!(
            view.status.as_str(),
            pairwise_store::runs::DONE
                | pairwise_store::runs::FAILED
                | pairwise_store::runs::CANCELLED
        ) {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    bar.finish_and_clear();
    let _ = stop_tx.send(true);
    let _ = worker.await;
    Ok(view)
}
