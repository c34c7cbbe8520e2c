//! `pairwise round …`: iteration rounds (record the next one, list them side by side). Compare
//! a round with the previous one with `pairwise run duel --round K`.

use clap::Subcommand;
use pairwise_core::{dto::RoundView, run_requests::SaveRound, Actor};
use pairwise_pipeline::rounds;
use pairwise_store::DatabaseConnection;

#[derive(Debug, Subcommand)]
pub enum RoundCommand {
    /// Record a project's next round: its generator, the runs made with it, the dataset
    /// version made from them and the generator's evaluation.
    Save {
        #[arg(long)]
        project: String,
        /// A registered model.
        #[arg(long)]
        generator: String,
        /// The round's number (default: one after the last).
        #[arg(long)]
        number: Option<i32>,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, value_delimiter = ',')]
        generation_runs: Vec<i64>,
        #[arg(long, value_delimiter = ',')]
        judge_runs: Vec<i64>,
        #[arg(long)]
        dataset_version: Option<String>,
        /// A finished evaluation run of the generator.
        #[arg(long)]
        eval_run: Option<i64>,
        #[arg(long, default_value = "")]
        note: String,
        #[arg(long)]
        json: bool,
    },
    /// A project's rounds side by side.
    List {
        #[arg(long)]
        project: String,
        #[arg(long)]
        json: bool,
    },
}

fn pct(v: Option<f64>) -> String {
    v.map_or("—".into(), |v| format!("{:.1}%", v * 100.0))
}

fn line(r: &RoundView) -> String {
    let win = r
        .vs_previous
        .as_ref()
        .and_then(|d| d.tally.get("all").map(|t| (d, t)))
        .map_or("—".into(), |(d, t)| {
            format!(
                "{} ({}–{} of {}, run {} {})",
                pct(t.win_rate),
                t.first_wins,
                t.second_wins,
                t.items,
                d.run,
                d.status
            )
        });
    let gold: Vec<String> = r
        .judge_gold
        .iter()
        .map(|g| format!("run {} {} of {}", g.run, pct(g.accuracy), g.n))
        .collect();
    format!(
        "round {} {}: {}@{} · pairs {} · over-refusal {} · harmlessness {} · win vs previous {} · judge vs gold {}",
        r.number,
        r.name,
        r.generator,
        &r.generator_version[..12.min(r.generator_version.len())],
        r.pairs.map_or("—".into(), |n| n.to_string()),
        pct(r.figures.as_ref().and_then(|f| f.over_refusal)),
        pct(r.figures.as_ref().and_then(|f| f.harmlessness)),
        win,
        if gold.is_empty() { "—".into() } else { gold.join(", ") }
    )
}

pub async fn run(
    db: &DatabaseConnection,
    actor: &Actor,
    command: RoundCommand,
) -> anyhow::Result<()> {
    match command {
        RoundCommand::Save {
            project,
            generator,
            number,
            name,
            generation_runs,
            judge_runs,
            dataset_version,
            eval_run,
            note,
            json,
        } => {
            let request = SaveRound {
                project,
                number,
                name,
                generator,
                generation_runs,
                judge_runs,
                dataset_version,
                eval_run,
                note,
            };
            let round = rounds::save_round(db, actor, request).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&round)?);
            } else {
                println!("{}", line(&round));
            }
        }
        RoundCommand::List { project, json } => {
            let list = rounds::list_rounds(db, actor, &project).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for r in &list {
                    println!("{}", line(r));
                }
            }
        }
    }
    Ok(())
}
