//! The interface generation and scoring need from a causal language model, so that they can be
//! tested on a scripted model and run on ONNX Runtime alike.

use crate::error::Result;

/// A causal LM with a key/value cache whose rows (sequences) decode in lockstep, one token per
/// row per step; rows of different prompts may have different lengths (left-padded).
pub trait LanguageModel {
    /// The key/value cache of a batch of rows.
    type Cache;

    fn vocab_size(&self) -> usize;

    /// Runs the prompt once (batch of one) → its cache and the logits of its last position.
    fn prefill(&mut self, prompt: &[u32]) -> Result<(Self::Cache, Vec<f32>)>;

    /// Copies a one-row cache into `n` rows (the candidates share the prompt's prefill).
    fn expand(&mut self, cache: Self::Cache, n: usize) -> Result<Self::Cache>;

    /// Feeds one token per row → the new cache and `rows × vocab` logits, row-major.
    fn step(&mut self, cache: Self::Cache, tokens: &[u32]) -> Result<(Self::Cache, Vec<f32>)>;

    /// Keeps only the rows at `keep` (finished rows stop costing compute).
    fn retain(&mut self, cache: Self::Cache, keep: &[usize]) -> Result<Self::Cache>;

    /// Appends `b`'s rows after `a`'s (continuous batching: a new prompt's rows join a batch in
    /// flight). Each row keeps its own positions: the shorter cache is left-padded to the other's
    /// length and the padding is masked in every later step.
    fn join(&mut self, a: Self::Cache, b: Self::Cache) -> Result<Self::Cache>;

    /// Teacher forcing without a cache: for each sequence, the logits of every position
    /// (`len × vocab`, row-major).
    fn full_logits(&mut self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>>;
}
