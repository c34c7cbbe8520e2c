//! A sentence embedder: an ONNX BERT-style encoder (all-MiniLM-L6-v2 as `make setup` installs it
//! under `models/minilm`: inputs `input_ids`, `attention_mask` and, where the graph has it,
//! `token_type_ids`; output `last_hidden_state` `[batch, tokens, dim]`) with its `tokenizer.json`.
//! A text's embedding is the mean of its token states over the attention mask, L2-normalised
//! (sentence-transformers' pooling for this model), so the dot product of two is their cosine.

use crate::{
    error::{InferenceError, Result},
    onnx::build_session,
    runtime::Device,
};
use ndarray::Array2;
use ort::{session::Session, value::Tensor};
use std::path::{Path, PathBuf};

/// Texts per batch.
const BATCH: usize = 32;
/// Tokens kept of a text (the model's trained length).
const MAX_TOKENS: usize = 256;

pub struct Embedder {
    session: Session,
    tokenizer: tokenizers::Tokenizer,
    token_types: bool,
    model_file: PathBuf,
}

impl Embedder {
    /// The encoder in `dir` (`model.onnx` and `tokenizer.json`), on the CPU.
    pub fn load(dir: impl AsRef<Path>, threads: usize) -> Result<Self> {
        let dir = dir.as_ref();
        let model_file = dir.join("model.onnx");
        let tokenizer_file = dir.join("tokenizer.json");
        for f in [&model_file, &tokenizer_file] {
            if !f.is_file() {
                return Err(InferenceError::Malformed {
                    file: f.clone(),
                    message: "missing (run `make setup` for models/minilm)".into(),
                });
            }
        }
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_file)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        let (session, _) = build_session(&model_file, Device::Cpu, threads)?;
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        if !inputs.contains(&"input_ids") || !inputs.contains(&"attention_mask") {
            return Err(InferenceError::Malformed {
                file: model_file,
                message: "an embedder needs `input_ids` and `attention_mask` inputs".into(),
            });
        }
        let token_types = inputs.contains(&"token_type_ids");
        if !session
            .outputs()
            .iter()
            .any(|o| o.name() == "last_hidden_state")
        {
            return Err(InferenceError::Malformed {
                file: model_file,
                message: "an embedder needs a `last_hidden_state` output".into(),
            });
        }
        Ok(Self {
            session,
            tokenizer,
            token_types,
            model_file,
        })
    }

    /// The token ids of `text` as the encoder reads it (special tokens added, truncated).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .tokenizer
            .encode(text, true)
            .map_err(|e| InferenceError::Tokenizer(e.to_string()))?
            .get_ids()
            .to_vec())
    }

    /// One L2-normalised embedding per text, in order.
    pub fn embed(&mut self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            let encoded = batch
                .iter()
                .map(|t| self.encode(t))
                .collect::<Result<Vec<_>>>()?;
            let width = encoded.iter().map(Vec::len).max().unwrap_or(0).max(1);
            let rows = batch.len();
            let mut ids = Array2::<i64>::zeros((rows, width));
            let mut mask = Array2::<i64>::zeros((rows, width));
            for (r, seq) in encoded.iter().enumerate() {
                for (c, &id) in seq.iter().enumerate() {
                    ids[(r, c)] = i64::from(id);
                    mask[(r, c)] = 1;
                }
            }
            let outputs = if self.token_types {
                self.session.run(ort::inputs![
                    "input_ids" => Tensor::from_array(ids)?,
                    "attention_mask" => Tensor::from_array(mask.clone())?,
                    "token_type_ids" => Tensor::from_array(Array2::<i64>::zeros((rows, width)))?,
                ])?
            } else {
                self.session.run(ort::inputs![
                    "input_ids" => Tensor::from_array(ids)?,
                    "attention_mask" => Tensor::from_array(mask.clone())?,
                ])?
            };
            let states = outputs["last_hidden_state"].try_extract_array::<f32>()?;
            let shape = states.shape().to_vec();
            if shape.len() != 3 || shape[0] != rows || shape[1] != width {
                return Err(InferenceError::Malformed {
                    file: self.model_file.clone(),
                    message: format!(
                        "`last_hidden_state` has shape {shape:?}; expected [{rows}, {width}, dim]"
                    ),
                });
            }
            let dim = shape[2];
            for r in 0..rows {
                let mut v = vec![0f32; dim];
                let mut n = 0f32;
                for c in 0..width {
                    if mask[(r, c)] == 1 {
                        n += 1.0;
                        for (d, x) in v.iter_mut().enumerate() {
                            *x += states[[r, c, d]];
                        }
                    }
                }
                let norm = v
                    .iter()
                    .map(|x| (x / n.max(1.0)).powi(2))
                    .sum::<f32>()
                    .sqrt();
                for x in &mut v {
                    *x = *x / n.max(1.0) / norm.max(1e-12);
                }
                out.push(v);
            }
        }
        Ok(out)
    }
}

/// Where the sentence embedder is: `PAIRWISE_EMBEDDER` if set, else the first `models/minilm`
/// above the working directory, the executable or this checkout (as `make setup` installs it).
pub fn default_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PAIRWISE_EMBEDDER") {
        return Some(PathBuf::from(p));
    }
    crate::runtime::search_roots()
        .into_iter()
        .map(|r| r.join("models/minilm"))
        .find(|d| d.join("model.onnx").is_file())
}

/// The cosine of two L2-normalised embeddings.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model `make setup` installs, checked against the values sentence-transformers computed
    /// when it was exported (`models/minilm/verify.json`): token ids, the first eight embedding
    /// dimensions and the cosine similarities.
    #[test]
    fn minilm_matches_the_reference_embeddings() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/minilm");
        let verify: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("verify.json")).expect("models/minilm (make setup)"),
        )
        .expect("json");
        let mut e = Embedder::load(&dir, 1).expect("load");
        let sentences: Vec<&str> = verify["sentences"]
            .as_array()
            .expect("sentences")
            .iter()
            .map(|s| s.as_str().expect("text"))
            .collect();
        for (s, ids) in sentences
            .iter()
            .zip(verify["input_ids"].as_array().expect("ids"))
        {
            let want: Vec<u32> = ids
                .as_array()
                .expect("ids")
                .iter()
                .map(|i| i.as_u64().expect("id") as u32)
                .collect();
            assert_eq!(e.encode(s).expect("encode"), want, "{s}");
        }
        let vectors = e.embed(&sentences).expect("embed");
        assert_eq!(
            vectors[0].len(),
            verify["embedding_dim"].as_u64().expect("dim") as usize
        );
        for (v, first) in vectors
            .iter()
            .zip(verify["embeddings_first8"].as_array().expect("first8"))
        {
            for (x, want) in v.iter().zip(first.as_array().expect("row")) {
                let want = want.as_f64().expect("number") as f32;
                assert!((x - want).abs() < 1e-4, "{x} vs {want}");
            }
        }
        let sims = verify["cosine_similarity"].as_array().expect("cosines");
        for (i, row) in sims.iter().enumerate() {
            for (j, want) in row.as_array().expect("row").iter().enumerate() {
                let got = cosine(&vectors[i], &vectors[j]);
                let want = want.as_f64().expect("number") as f32;
                assert!((got - want).abs() < 1e-4, "cos({i},{j}) {got} vs {want}");
            }
        }
        // One at a time or in a padded batch: the same embedding.
        let alone = e.embed(&sentences[1..2]).expect("embed");
        assert!(cosine(&alone[0], &vectors[1]) > 0.99999);
    }
}
