//! `pairwise eval refusal-classifier --input FILE.csv [--json]`: the refusal classifier's
//! agreement with human labels (a CSV with `completion` and `final_label`, as XSTest's labelled
//! completions).

use anyhow::Context;
use clap::Subcommand;
use pairwise_core::refusal::{evaluate, read_labelled};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Accuracy and Cohen's κ of the rule-based refusal classifier against a file's
    /// `final_label` (full_compliance / full_refusal / partial_refusal, XSTest's numbering
    /// accepted).
    RefusalClassifier {
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: EvalCommand) -> anyhow::Result<()> {
    match command {
        EvalCommand::RefusalClassifier { input, json } => {
            let file = std::fs::File::open(&input)
                .with_context(|| format!("cannot open {}", input.display()))?;
            let rows = read_labelled(file).with_context(|| format!("{}", input.display()))?;
            let eval = evaluate(&rows);
            if json {
                println!("{}", serde_json::to_string_pretty(&eval)?);
            } else {
                println!(
                    "{} answers: accuracy {:.3}, κ {}, refusal-vs-compliance accuracy {:.3}",
                    eval.n,
                    eval.accuracy,
                    eval.kappa.map_or("n/a".into(), |k| format!("{k:.3}")),
                    eval.binary_accuracy
                );
                for (human, row) in &eval.confusion {
                    let cells: Vec<String> = row.iter().map(|(r, n)| format!("{r} {n}")).collect();
                    println!("  human {human}: {}", cells.join(", "));
                }
            }
            Ok(())
        }
    }
}
