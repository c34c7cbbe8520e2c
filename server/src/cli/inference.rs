//! `pairwise generate`, `pairwise score` and `pairwise bench generate`: the inference crate from
//! the command line, with everything needed to reproduce a candidate in the JSON output.

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pairwise_inference::{chat_template::Message, DecodingParams, Device, Engine, PromptInput};
use serde_json::json;
use std::{path::PathBuf, time::Instant};

#[derive(Debug, Args)]
pub struct ModelArgs {
    /// Model directory (model.onnx, tokenizer.json, tokenizer_config.json, config.json).
    #[arg(long)]
    pub model: PathBuf,
    /// Execution provider: cpu, cuda (error if unavailable) or auto (cuda, else cpu).
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// ONNX Runtime intra-op threads (0 = its default).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

#[derive(Debug, Args)]
pub struct SamplingArgs {
    #[command(flatten)]
    pub sampling: pairwise_inference::Sampling,
    #[arg(long, default_value_t = 128)]
    pub max_new_tokens: u32,
    /// Seed of the first candidate; candidate i uses seed + i.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop string (repeatable).
    #[arg(long)]
    pub stop: Vec<String>,
}

impl SamplingArgs {
    fn params(&self, n: usize) -> Vec<DecodingParams> {
        (0..n as u64)
            .map(|i| DecodingParams {
                sampling: self.sampling,
                max_new_tokens: self.max_new_tokens,
                seed: self.seed.wrapping_add(i),
                stop: self.stop.clone(),
            })
            .collect()
    }
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The user message (or the raw text with --no-chat-template).
    #[arg(long)]
    pub prompt: String,
    /// Number of candidates (one prefill, batched decoding).
    #[arg(long, default_value_t = 8)]
    pub n: usize,
    #[command(flatten)]
    pub sampling: SamplingArgs,
    /// Use the prompt as raw text instead of rendering the chat template.
    #[arg(long)]
    pub no_chat_template: bool,
    /// One JSON line per candidate.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ScoreArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[arg(long)]
    pub prompt: String,
    /// Response to score (repeatable; scored as one batch).
    #[arg(long, required = true)]
    pub response: Vec<String>,
    #[arg(long)]
    pub no_chat_template: bool,
    #[arg(long)]
    pub json: bool,
}

fn prompt_input(prompt: &str, raw: bool) -> PromptInput {
    if raw {
        PromptInput::Raw(prompt.to_owned())
    } else {
        PromptInput::Chat(vec![Message::new("user", prompt)])
    }
}

fn load(args: &ModelArgs) -> anyhow::Result<Engine> {
    let engine = Engine::load(&args.model, args.device, args.threads)
        .with_context(|| format!("loading {}", args.model.display()))?;
    eprintln!(
        "model {} (version {}…) on {}",
        args.model.display(),
        &engine.version()[..12],
        engine.provider().as_str()
    );
    Ok(engine)
}

pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    if args.n == 0 {
        anyhow::bail!("`--n` must be at least 1");
    }
    let params = args.sampling.params(args.n);
    for p in &params {
        p.validate()?;
    }
    let mut engine = load(&args.model)?;
    let prompt_ids = engine.encode_prompt(&prompt_input(&args.prompt, args.no_chat_template))?;
    let total = args.n as u64 * u64::from(args.sampling.max_new_tokens);
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("generating {wide_bar} {pos}/{len} tokens ({per_sec})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let generation = engine.generate(&prompt_ids, &params, |_| bar.inc(1))?;
    bar.finish_and_clear();
    let provider = engine.provider().as_str();
    for (candidate, p) in generation.candidates.iter().zip(&params) {
        if args.json {
            let line = json!({
                "index": candidate.index,
                "text": candidate.text,
                "token_ids": candidate.token_ids,
                "prompt_token_ids": generation.prompt_token_ids,
                "params": p,
                "seed": p.seed,
                "model_version": engine.version(),
                "provider": provider,
                "finish_reason": candidate.finish_reason,
                "token_count": candidate.token_count,
                "mean_logprob": candidate.mean_logprob,
                "timings": { "prefill_ms": generation.prefill_ms, "decode_ms": candidate.decode_ms, "batch_decode_ms": generation.decode_ms, "steps": generation.steps },
            });
            println!("{line}");
        } else {
            println!(
                "--- candidate {} (seed {}, {:?}, {} tokens, mean logprob {:.3})",
                candidate.index,
                p.seed,
                candidate.finish_reason,
                candidate.token_count,
                candidate.mean_logprob
            );
            println!("{}", candidate.text);
        }
    }
    if !args.json {
        let secs = (generation.prefill_ms + generation.decode_ms) / 1000.0;
        eprintln!(
            "{} tokens in {:.2}s ({:.1} tokens/s)",
            generation.generated_tokens,
            secs,
            generation.generated_tokens as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

pub fn score(args: ScoreArgs) -> anyhow::Result<()> {
    let mut engine = load(&args.model)?;
    let started = Instant::now();
    let scores = engine.score(
        &prompt_input(&args.prompt, args.no_chat_template),
        &args.response,
    )?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    for (response, s) in args.response.iter().zip(&scores) {
        if args.json {
            println!(
                "{}",
                json!({"response": response, "sum_logprob": s.sum, "mean_logprob": s.mean, "count": s.count, "token_logprobs": s.token_logprobs, "model_version": engine.version(), "provider": engine.provider().as_str(), "elapsed_ms": ms})
            );
        } else {
            println!(
                "sum {:.4}  mean {:.4}  tokens {}  {response}",
                s.sum, s.mean, s.count
            );
        }
    }
    Ok(())
}
