//! `pairwise agreement`: agreement statistics offline from a ratings file.

use anyhow::{bail, Context};
use clap::Args;
use std::{io::BufReader, path::PathBuf};

#[derive(Debug, Args)]
pub struct AgreementArgs {
    /// JSONL (one rating per line) or CSV (by its extension).
    #[arg(long)]
    pub input: PathBuf,
    /// CSV, one rating per row: the item column …
    #[arg(long)]
    pub item_col: Option<String>,
    /// … the annotator column …
    #[arg(long)]
    pub annotator_col: Option<String>,
    /// … and the label column.
    #[arg(long)]
    pub label_col: Option<String>,
    /// CSV, one item per row: these columns are annotators (e.g. annotation_1,annotation_2);
    /// --item-col names the item column (default: the row number).
    #[arg(long, value_delimiter = ',')]
    pub wide: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

/// Reads ratings and prints the statistics.
pub fn agreement(args: AgreementArgs) -> anyhow::Result<()> {
    use pairwise_core::agreement::{self, CsvLayout};
    let file = std::fs::File::open(&args.input)
        .with_context(|| format!("cannot open {}", args.input.display()))?;
    let is_csv = args
        .input
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let ratings = if is_csv {
        let layout = if !args.wide.is_empty() {
            CsvLayout::Wide {
                columns: args.wide.clone(),
                item: args.item_col.clone(),
            }
        } else {
            match (&args.item_col, &args.annotator_col, &args.label_col) {
                (Some(item), Some(annotator), Some(label)) => CsvLayout::Long {
                    item: item.clone(),
                    annotator: annotator.clone(),
                    label: label.clone(),
                },
                _ => bail!(
                    "a CSV needs --wide COL1,COL2 or all of --item-col, --annotator-col, --label-col"
                ),
            }
        };
        agreement::read_csv(file, &layout)
    } else {
        agreement::read_jsonl(BufReader::new(file))
    }
    .with_context(|| args.input.display().to_string())?;
    if ratings.is_empty() {
        bail!("{}: no ratings", args.input.display());
    }
    let stats = agreement::agreement(&ratings);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
    } else {
        let f = |x: Option<f64>| x.map_or_else(|| "undefined".to_owned(), |v| format!("{v:.4}"));
        println!(
            "{} ratings of {} items by {} annotators ({} labels)",
            stats.ratings,
            stats.items,
            stats.annotators.len(),
            stats.labels.len()
        );
        println!("percent agreement   {}", f(stats.percent_agreement));
        println!(
            "Fleiss' kappa       {} ({} items)",
            f(stats.fleiss_kappa),
            stats.fleiss_items
        );
        println!("Krippendorff alpha  {}", f(stats.krippendorff_alpha));
        for c in &stats.cohen {
            println!(
                "Cohen's kappa {} / {}: {} on {} shared items",
                c.a,
                c.b,
                f(c.kappa),
                c.n
            );
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct RankArgs {
    /// JSONL comparisons, one a line: {"a": ID, "b": ID, "winner": "a"|"b"|"tie"}.
    #[arg(long)]
    pub input: PathBuf,
    /// L2 prior on the log-strengths (choix's `alpha`); 0 = maximum likelihood, which needs every
    /// item to both win and lose along some chain of comparisons.
    #[arg(long, default_value_t = 0.0)]
    pub alpha: f64,
    #[arg(long)]
    pub json: bool,
}

/// `pairwise rank`: Bradley–Terry strengths of the items in a comparisons file (ties count
/// half a win each way), strongest first.
pub fn rank(args: RankArgs) -> anyhow::Result<()> {
    use pairwise_core::ranking::{bradley_terry, ranked, Comparisons};
    let file = std::fs::File::open(&args.input)
        .with_context(|| format!("cannot open {}", args.input.display()))?;
    let read = Comparisons::read(BufReader::new(file))
        .with_context(|| format!("{}", args.input.display()))?;
    let strengths = match bradley_terry(read.ids.len(), &read.comparisons, args.alpha) {
        Ok(s) => s,
        // Name the item by its id, not its index.
        Err(pairwise_core::ranking::RankError::NotConnected { item, how }) => bail!(
            "{}: item {} {how}: without a prior the maximum-likelihood strengths do not exist \
             (give a small --alpha, e.g. 0.01)",
            args.input.display(),
            read.ids[item]
        ),
        Err(e) => return Err(e).with_context(|| format!("{}", args.input.display())),
    };
    let items = ranked(&read.ids, &strengths);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "items": items,
                "comparisons": read.comparisons.len(),
                "alpha": args.alpha,
                "ties": "half a win each way",
            }))?
        );
    } else {
        println!("rank  strength  id");
        for item in &items {
            let id = match &item.id {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("{:>4}  {:>8.4}  {id}", item.rank, item.strength);
        }
    }
    Ok(())
}
