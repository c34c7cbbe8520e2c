//! The interface generation and scoring need from a causal language model, so that they can be
//! tested on a scripted model and run on ONNX Runtime alike.

use crate::error::{InferenceError, Result};

/// A causal LM with a key/value cache whose rows (sequences) decode in lockstep, one token per
/// row per step; rows of different prompts may have different lengths (left-padded).
pub trait LanguageModel {
    /// The key/value cache of a batch of rows.
    type Cache;

    fn vocab_size(&self) -> usize;

    /// Runs the prompt once (batch of one) → its cache and the logits of its last position.
    fn prefill(&mut self, prompt: &[u32]) -> Result<(Self::Cache, Vec<f32>)>;

    /// Runs several prompts at once → one cache with a row per prompt (in order) and the logits
    /// of each prompt's last position. Each row must decode exactly as its prompt prefilled
    /// alone would; this default prefills them one by one and joins the caches.
    fn prefill_many(&mut self, prompts: &[&[u32]]) -> Result<(Self::Cache, Vec<Vec<f32>>)> {
        let mut cache: Option<Self::Cache> = None;
        let mut logits = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            let (one, last) = self.prefill(prompt)?;
            logits.push(last);
            cache = Some(match cache.take() {
                None => one,
                Some(current) => self.join(current, one)?,
            });
        }
        let cache = cache.ok_or_else(|| InferenceError::Request("no prompts to prefill".into()))?;
        Ok((cache, logits))
    }

    /// Feeds one token per row → the new cache and `rows × vocab` logits, row-major.
    fn step(&mut self, cache: Self::Cache, tokens: &[u32]) -> Result<(Self::Cache, Vec<f32>)>;

    /// Keeps only the rows at `keep`, in that order (finished rows stop costing compute); an
    /// index may repeat, which copies the row (a prompt's candidates share its prefill).
    fn retain(&mut self, cache: Self::Cache, keep: &[usize]) -> Result<Self::Cache>;

    /// Appends `b`'s rows after `a`'s (continuous batching: a new prompt's rows join a batch in
    /// flight). Each row keeps its own positions: the shorter cache is left-padded to the other's
    /// length and the padding is masked in every later step.
    fn join(&mut self, a: Self::Cache, b: Self::Cache) -> Result<Self::Cache>;

    /// Teacher forcing without a cache: for each sequence, the logits of every position
    /// (`len × vocab`, row-major).
    fn full_logits(&mut self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>>;
}
