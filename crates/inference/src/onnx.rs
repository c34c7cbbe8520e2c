//! A decoder-only ONNX model with a KV cache (the optimum export contract, as in ort's phi-3
//! example): inputs `input_ids`, `attention_mask`, `position_ids`, `past_key_values.{i}.key/value`;
//! outputs `logits`, `present.{i}.key/value`. Names and cache shapes come from the graph and
//! `config.json`, never from constants.

use crate::{
    error::{InferenceError, Result},
    language_model::LanguageModel,
    model::ModelDir,
    runtime::{environment, Device, Provider},
};
use ndarray::{Array, ArrayD, Axis, IxDyn};
use ort::{
    ep,
    session::{builder::GraphOptimizationLevel, Session, SessionInputValue},
    value::{DynValue, Tensor},
};
use std::{borrow::Cow, path::PathBuf};

/// Most sequences, and most padded tokens, in one scoring batch (bounds the logits buffer).
const SCORE_BATCH_ROWS: usize = 8;
const SCORE_BATCH_TOKENS: usize = 4096;

/// One ONNX decoder session.
pub struct OnnxDecoder {
    session: Session,
    model_file: PathBuf,
    layers: usize,
    kv_heads: usize,
    head_dim: usize,
    vocab_size: usize,
    has_position_ids: bool,
    provider: Provider,
}

/// The cache of a batch of rows: per layer (key, value), each `[rows, kv_heads, len, head_dim]`.
/// Rows of different prompts share one length: a shorter row is left-padded, and `pad[r]` says
/// how many of row `r`'s first positions are padding (masked, and not counted in its positions).
pub struct KvCache {
    layers: Vec<(DynValue, DynValue)>,
    rows: usize,
    len: usize,
    pad: Vec<usize>,
}

impl KvCache {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn bad_graph(file: &std::path::Path, message: impl Into<String>) -> InferenceError {
    InferenceError::Malformed {
        file: file.to_owned(),
        message: message.into(),
    }
}

/// An ONNX Runtime session for `model_file` on `device` (CUDA, CPU, or CUDA falling back to the
/// CPU for `auto`) with `threads` intra-op threads (0 = ONNX Runtime's choice).
pub(crate) fn build_session(
    model_file: &std::path::Path,
    device: Device,
    threads: usize,
) -> Result<(Session, Provider)> {
    let env = environment()?;
    let build = |cuda: bool| -> Result<Session> {
        let mut builder = Session::builder(env)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| InferenceError::Ort(e.to_string()))?;
        if threads > 0 {
            builder = builder
                .with_intra_threads(threads)
                .map_err(|e| InferenceError::Ort(e.to_string()))?;
        }
        if cuda {
            builder = builder
                .with_execution_providers([ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| InferenceError::Provider {
                    provider: "cuda".into(),
                    message: e.to_string(),
                })?;
        }
        builder
            .commit_from_file(model_file)
            .map_err(|e| bad_graph(model_file, e.to_string()))
    };
    Ok(match device {
        Device::Cpu => (build(false)?, Provider::Cpu),
        Device::Cuda => (build(true)?, Provider::Cuda),
        Device::Auto => match build(true) {
            Ok(s) => (s, Provider::Cuda),
            Err(e) => {
                tracing::info!(reason = %e, "CUDA unavailable; using the CPU");
                (build(false)?, Provider::Cpu)
            }
        },
    })
}

impl OnnxDecoder {
    /// Loads `dir`'s graph on `device` with `threads` intra-op threads (0 = ONNX Runtime's choice).
    pub fn load(dir: &ModelDir, device: Device, threads: usize) -> Result<Self> {
        let (session, provider) = build_session(&dir.model_file, device, threads)?;
        let inputs: Vec<String> = session
            .inputs()
            .iter()
            .map(|o| o.name().to_owned())
            .collect();
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_owned())
            .collect();
        let file = &dir.model_file;
        for needed in ["input_ids", "attention_mask"] {
            if !inputs.iter().any(|n| n == needed) {
                return Err(bad_graph(
                    file,
                    format!("the graph has no `{needed}` input"),
                ));
            }
        }
        if !outputs.iter().any(|n| n == "logits") {
            return Err(bad_graph(file, "the graph has no `logits` output"));
        }
        let layers = dir.config.num_hidden_layers;
        let graph_layers = inputs
            .iter()
            .filter(|n| n.starts_with("past_key_values.") && n.ends_with(".key"))
            .count();
        if graph_layers != layers {
            return Err(bad_graph(
                file,
                format!("config.json says {layers} layers but the graph has {graph_layers} past_key_values inputs"),
            ));
        }
        for i in 0..layers {
            for kind in ["key", "value"] {
                if !inputs.contains(&format!("past_key_values.{i}.{kind}"))
                    || !outputs.contains(&format!("present.{i}.{kind}"))
                {
                    return Err(bad_graph(
                        file,
                        format!("the graph lacks past_key_values.{i}.{kind} or present.{i}.{kind}"),
                    ));
                }
            }
        }
        // Prefer the graph's static cache dims over config.json when the graph states them.
        let (mut kv_heads, mut head_dim) = (dir.config.num_key_value_heads, dir.config.head_dim);
        if let Some(outlet) = session
            .inputs()
            .iter()
            .find(|o| o.name() == "past_key_values.0.key")
        {
            if let ort::value::ValueType::Tensor { shape, .. } = outlet.dtype() {
                if shape.len() == 4 && shape[1] > 0 && shape[3] > 0 {
                    (kv_heads, head_dim) = (shape[1] as usize, shape[3] as usize);
                }
            }
        }
        Ok(Self {
            has_position_ids: inputs.iter().any(|n| n == "position_ids"),
            session,
            model_file: file.clone(),
            layers,
            kv_heads,
            head_dim,
            vocab_size: dir.config.vocab_size,
            provider,
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    fn empty_cache(&self, rows: usize) -> Result<KvCache> {
        let mut layers = Vec::with_capacity(self.layers);
        for _ in 0..self.layers {
            let shape = IxDyn(&[rows, self.kv_heads, 0, self.head_dim]);
            let k = Tensor::from_array(ArrayD::<f32>::zeros(shape.clone()))?.into_dyn();
            let v = Tensor::from_array(ArrayD::<f32>::zeros(shape))?.into_dyn();
            layers.push((k, v));
        }
        Ok(KvCache {
            layers,
            rows,
            len: 0,
            pad: vec![0; rows],
        })
    }

    /// Runs `ids` (`rows × seq`, every row the same length) after `cache`; returns the new cache
    /// and the full logits `[rows, seq, vocab]`.
    fn run(
        &mut self,
        cache: KvCache,
        ids: &[i64],
        rows: usize,
        seq: usize,
    ) -> Result<(KvCache, ArrayD<f32>)> {
        let past = cache.len;
        let total = past + seq;
        let pad = cache.pad;
        let input_ids = Tensor::from_array(
            Array::from_shape_vec((rows, seq), ids.to_vec())
                .map_err(|e| InferenceError::Ort(e.to_string()))?,
        )?;
        // Padding positions (before a row's first real one) are masked out.
        let mask = Tensor::from_array(Array::<i64, _>::from_shape_fn((rows, total), |(r, p)| {
            i64::from(p >= pad[r])
        }))?;
        let mut inputs: Vec<(Cow<'static, str>, SessionInputValue<'static>)> = vec![
            ("input_ids".into(), input_ids.into_dyn().into()),
            ("attention_mask".into(), mask.into_dyn().into()),
        ];
        if self.has_position_ids {
            // A row's positions count from its first real token (padding sits at 0, masked).
            let positions: Vec<i64> = pad
                .iter()
                .flat_map(|&p| (past..total).map(move |q| q.saturating_sub(p) as i64))
                .collect();
            let positions = Array::from_shape_vec((rows, seq), positions)
                .map_err(|e| InferenceError::Ort(e.to_string()))?;
            inputs.push((
                "position_ids".into(),
                Tensor::from_array(positions)?.into_dyn().into(),
            ));
        }
        for (i, (k, v)) in cache.layers.into_iter().enumerate() {
            inputs.push((format!("past_key_values.{i}.key").into(), k.into()));
            inputs.push((format!("past_key_values.{i}.value").into(), v.into()));
        }
        let mut outputs = self.session.run(inputs)?;
        let logits_value = outputs
            .remove("logits")
            .ok_or_else(|| bad_graph(&self.model_file, "no logits output"))?;
        let logits = logits_value.try_extract_array::<f32>()?.to_owned();
        let mut layers = Vec::with_capacity(self.layers);
        for i in 0..self.layers {
            let k = outputs
                .remove(format!("present.{i}.key"))
                .ok_or_else(|| bad_graph(&self.model_file, format!("no present.{i}.key")))?;
            let v = outputs
                .remove(format!("present.{i}.value"))
                .ok_or_else(|| bad_graph(&self.model_file, format!("no present.{i}.value")))?;
            layers.push((k, v));
        }
        Ok((
            KvCache {
                layers,
                rows,
                len: total,
                pad,
            },
            logits,
        ))
    }

    /// A cache-free forward pass over right-padded rows → logits `[rows, width, vocab]`.
    fn forward_padded(
        &mut self,
        ids: Vec<i64>,
        mask: Vec<i64>,
        rows: usize,
        width: usize,
    ) -> Result<ArrayD<f32>> {
        let shape_err = |e: ndarray::ShapeError| InferenceError::Ort(e.to_string());
        let mut inputs: Vec<(Cow<'static, str>, SessionInputValue<'static>)> = vec![
            (
                "input_ids".into(),
                Tensor::from_array(Array::from_shape_vec((rows, width), ids).map_err(shape_err)?)?
                    .into_dyn()
                    .into(),
            ),
            (
                "attention_mask".into(),
                Tensor::from_array(Array::from_shape_vec((rows, width), mask).map_err(shape_err)?)?
                    .into_dyn()
                    .into(),
            ),
        ];
        if self.has_position_ids {
            let positions: Vec<i64> = (0..rows).flat_map(|_| 0..width as i64).collect();
            inputs.push((
                "position_ids".into(),
                Tensor::from_array(
                    Array::from_shape_vec((rows, width), positions).map_err(shape_err)?,
                )?
                .into_dyn()
                .into(),
            ));
        }
        for (i, (k, v)) in self.empty_cache(rows)?.layers.into_iter().enumerate() {
            inputs.push((format!("past_key_values.{i}.key").into(), k.into()));
            inputs.push((format!("past_key_values.{i}.value").into(), v.into()));
        }
        let mut outputs = self.session.run(inputs)?;
        let logits = outputs
            .remove("logits")
            .ok_or_else(|| bad_graph(&self.model_file, "no logits output"))?;
        Ok(logits.try_extract_array::<f32>()?.to_owned())
    }

    /// A new cache from `cache`'s arrays mapped by `f`, with the given rows, length and padding.
    fn map_cache(
        &self,
        cache: KvCache,
        (rows, len, pad): (usize, usize, Vec<usize>),
        f: impl Fn(ndarray::ArrayViewD<'_, f32>) -> ArrayD<f32>,
    ) -> Result<KvCache> {
        let mut layers = Vec::with_capacity(cache.layers.len());
        for (k, v) in cache.layers {
            let k = Tensor::from_array(f(k.try_extract_array::<f32>()?))?.into_dyn();
            let v = Tensor::from_array(f(v.try_extract_array::<f32>()?))?.into_dyn();
            layers.push((k, v));
        }
        Ok(KvCache {
            layers,
            rows,
            len,
            pad,
        })
    }
}

impl LanguageModel for OnnxDecoder {
    type Cache = KvCache;

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn prefill(&mut self, prompt: &[u32]) -> Result<(KvCache, Vec<f32>)> {
        if prompt.is_empty() {
            return Err(InferenceError::Request("the prompt has no tokens".into()));
        }
        let ids: Vec<i64> = prompt.iter().map(|&t| i64::from(t)).collect();
        let cache = self.empty_cache(1)?;
        let (cache, logits) = self.run(cache, &ids, 1, prompt.len())?;
        let last = logits
            .index_axis(Axis(0), 0)
            .index_axis(Axis(0), prompt.len() - 1)
            .iter()
            .copied()
            .collect();
        Ok((cache, last))
    }

    fn prefill_many(&mut self, prompts: &[&[u32]]) -> Result<(KvCache, Vec<Vec<f32>>)> {
        if let [prompt] = prompts {
            let (cache, last) = self.prefill(prompt)?;
            return Ok((cache, vec![last]));
        }
        if prompts.is_empty() || prompts.iter().any(|p| p.is_empty()) {
            return Err(InferenceError::Request("a prompt has no tokens".into()));
        }
        // One run over the prompts left-padded to the longest: the padding is masked (as in
        // `join`), and each row's positions start at its first real token.
        let (rows, width) = (
            prompts.len(),
            prompts.iter().map(|p| p.len()).max().unwrap_or(0),
        );
        let mut cache = self.empty_cache(rows)?;
        cache.pad = prompts.iter().map(|p| width - p.len()).collect();
        let mut ids = vec![0i64; rows * width];
        for (r, prompt) in prompts.iter().enumerate() {
            let start = r * width + cache.pad[r];
            for (slot, &t) in ids[start..(r + 1) * width].iter_mut().zip(prompt.iter()) {
                *slot = i64::from(t);
            }
        }
        let (cache, logits) = self.run(cache, &ids, rows, width)?;
        let last = (0..rows)
            .map(|r| {
                logits
                    .index_axis(Axis(0), r)
                    .index_axis(Axis(0), width - 1)
                    .iter()
                    .copied()
                    .collect()
            })
            .collect();
        Ok((cache, last))
    }

    fn step(&mut self, cache: KvCache, tokens: &[u32]) -> Result<(KvCache, Vec<f32>)> {
        let rows = tokens.len();
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let (cache, logits) = self.run(cache, &ids, rows, 1)?;
        Ok((cache, logits.into_raw_vec_and_offset().0))
    }

    fn retain(&mut self, cache: KvCache, keep: &[usize]) -> Result<KvCache> {
        if keep.len() == cache.rows && keep.iter().enumerate().all(|(i, &k)| i == k) {
            return Ok(cache);
        }
        // Padding every kept row has (the longest rows left) is cut off the front.
        let pad: Vec<usize> = keep.iter().map(|&r| cache.pad[r]).collect();
        let cut = pad.iter().copied().min().unwrap_or(0);
        let shape = (
            keep.len(),
            cache.len - cut,
            pad.iter().map(|p| p - cut).collect(),
        );
        self.map_cache(cache, shape, |a| {
            a.select(Axis(0), keep)
                .slice_axis(Axis(2), ndarray::Slice::from(cut..))
                .to_owned()
        })
    }

    fn join(&mut self, a: KvCache, b: KvCache) -> Result<KvCache> {
        let len = a.len.max(b.len);
        let rows = a.rows + b.rows;
        let (shift_a, shift_b) = (len - a.len, len - b.len);
        let mut pad: Vec<usize> = a.pad.iter().map(|p| p + shift_a).collect();
        pad.extend(b.pad.iter().map(|p| p + shift_b));
        // Row blocks stacked, each right-aligned in the longer length (zeros before it).
        let place =
            |out: &mut ArrayD<f32>, x: &DynValue, from: usize, shift: usize| -> Result<()> {
                let x = x.try_extract_array::<f32>()?;
                let to = from + x.shape()[0];
                out.slice_each_axis_mut(|ax| match ax.axis.index() {
                    0 => ndarray::Slice::from(from..to),
                    2 => ndarray::Slice::from(shift..),
                    _ => ndarray::Slice::from(..),
                })
                .assign(&x);
                Ok(())
            };
        let mut layers = Vec::with_capacity(a.layers.len());
        for ((ak, av), (bk, bv)) in a.layers.iter().zip(&b.layers) {
            let stacked = |x: &DynValue, y: &DynValue| -> Result<DynValue> {
                let dims = x.try_extract_array::<f32>()?.shape().to_vec();
                let mut out = ArrayD::<f32>::zeros(IxDyn(&[rows, dims[1], len, dims[3]]));
                place(&mut out, x, 0, shift_a)?;
                place(&mut out, y, a.rows, shift_b)?;
                Ok(Tensor::from_array(out)?.into_dyn())
            };
            layers.push((stacked(ak, bk)?, stacked(av, bv)?));
        }
        Ok(KvCache {
            layers,
            rows,
            len,
            pad,
        })
    }

    fn full_logits(&mut self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        // Micro-batches of similar length, right-padded: with a causal mask, padding after a
        // sequence never changes the logits of its own positions, and the attention mask hides it.
        let mut order: Vec<usize> = (0..sequences.len()).collect();
        order.sort_by_key(|&i| sequences[i].len());
        let mut out: Vec<Vec<f32>> = vec![Vec::new(); sequences.len()];
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            while end < order.len() {
                let width = sequences[order[end]].len();
                let rows = end - start + 1;
                if end > start && (rows > SCORE_BATCH_ROWS || rows * width > SCORE_BATCH_TOKENS) {
                    break;
                }
                end += 1;
            }
            let batch: Vec<usize> = order[start..end]
                .iter()
                .copied()
                .filter(|&i| !sequences[i].is_empty())
                .collect();
            start = end;
            if batch.is_empty() {
                continue;
            }
            let width = batch.iter().map(|&i| sequences[i].len()).max().unwrap_or(0);
            let rows = batch.len();
            let mut ids = vec![0i64; rows * width];
            let mut mask = vec![0i64; rows * width];
            for (r, &i) in batch.iter().enumerate() {
                for (j, &t) in sequences[i].iter().enumerate() {
                    ids[r * width + j] = i64::from(t);
                    mask[r * width + j] = 1;
                }
            }
            let logits = self.forward_padded(ids, mask, rows, width)?;
            let vocab = self.vocab_size;
            for (r, &i) in batch.iter().enumerate() {
                let len = sequences[i].len();
                let row = logits.index_axis(Axis(0), r);
                out[i] = row.iter().take(len * vocab).copied().collect();
            }
        }
        Ok(out)
    }
}
