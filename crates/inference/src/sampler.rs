//! Logits processing and seeded sampling in Hugging Face order: repetition penalty over prompt
//! and generated tokens → temperature → top-k → top-p → sample (transformers
//! `RepetitionPenaltyLogitsProcessor`, `TemperatureLogitsWarper`, `TopKLogitsWarper`,
//! `TopPLogitsWarper`). Each candidate owns a ChaCha20 stream seeded from its `seed`.

use crate::params::DecodingParams;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Picks the next token of one sequence.
#[derive(Debug, Clone)]
pub struct Sampler {
    params: DecodingParams,
    rng: ChaCha20Rng,
    /// Tokens the repetition penalty applies to (prompt and generated), each once.
    seen: Vec<u32>,
    seen_mask: Vec<bool>,
}

impl Sampler {
    /// A sampler for one candidate whose context starts with `prompt_ids`.
    pub fn new(params: DecodingParams, prompt_ids: &[u32], vocab_size: usize) -> Self {
        let mut sampler = Self {
            rng: ChaCha20Rng::seed_from_u64(params.seed),
            params,
            seen: Vec::new(),
            seen_mask: vec![false; vocab_size],
        };
        for &id in prompt_ids {
            sampler.observe(id);
        }
        sampler
    }

    pub fn params(&self) -> &DecodingParams {
        &self.params
    }

    /// Records a token of the context (the penalty counts each distinct token once, as HF does).
    pub fn observe(&mut self, id: u32) {
        if let Some(seen) = self.seen_mask.get_mut(id as usize) {
            if !*seen {
                *seen = true;
                self.seen.push(id);
            }
        }
    }

    /// Processes `logits` in place and returns the chosen token. Non-finite logits never win.
    pub fn sample(&mut self, logits: &mut [f32]) -> u32 {
        apply_repetition_penalty(logits, &self.seen, self.params.sampling.repetition_penalty);
        if self.params.is_greedy() {
            return argmax(logits);
        }
        let probs = processed_distribution(logits, &self.params);
        let u: f64 = self.rng.gen();
        draw(&probs, u)
    }
}

/// Divides positive logits and multiplies negative ones by `penalty` for every seen token
/// (HF semantics; `candle-transformers` `apply_repeat_penalty`).
pub fn apply_repetition_penalty(logits: &mut [f32], seen: &[u32], penalty: f32) {
    if penalty == 1.0 {
        return;
    }
    for &id in seen {
        if let Some(l) = logits.get_mut(id as usize) {
            *l = if *l < 0.0 { *l * penalty } else { *l / penalty };
        }
    }
}

/// Index of the largest logit; the first one on ties (as `torch.argmax` and `numpy.argmax`).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0usize;
    let mut best_value = f32::NEG_INFINITY;
    for (i, &v) in logits.iter().enumerate() {
        if v > best_value {
            best = i;
            best_value = v;
        }
    }
    best as u32
}

/// The probabilities after temperature, top-k and top-p (already penalised logits in). Removed
/// tokens have probability 0; the rest sum to 1.
pub fn processed_distribution(logits: &[f32], params: &DecodingParams) -> Vec<f64> {
    let t = f64::from(params.sampling.temperature.max(f32::MIN_POSITIVE));
    let mut scaled: Vec<f64> = logits
        .iter()
        .map(|&l| {
            if l.is_finite() {
                f64::from(l) / t
            } else {
                f64::NEG_INFINITY
            }
        })
        .collect();
    let k = params.sampling.top_k as usize;
    if k > 0 && k < scaled.len() {
        // HF keeps every token whose logit is ≥ the k-th largest (ties at the boundary stay).
        let mut sorted = scaled.clone();
        sorted.select_nth_unstable_by(k - 1, |a, b| b.total_cmp(a));
        let kth = sorted[k - 1];
        for v in &mut scaled {
            if *v < kth {
                *v = f64::NEG_INFINITY;
            }
        }
    }
    let mut probs = softmax(&scaled);
    if params.sampling.top_p < 1.0 {
        nucleus(&mut probs, f64::from(params.sampling.top_p));
    }
    probs
}

/// Keeps the most likely tokens until their mass reaches `top_p` (always at least the best one)
/// and renormalises. The nucleus is usually a few dozen tokens, so instead of sorting the whole
/// vocabulary it selects the top `m` in linear time and sorts only those, growing `m` until the
/// mass is reached.
fn nucleus(probs: &mut [f64], top_p: f64) {
    let mut candidates: Vec<usize> = (0..probs.len()).filter(|&i| probs[i] > 0.0).collect();
    let n = candidates.len();
    if n == 0 {
        return;
    }
    let by_prob = |a: &usize, b: &usize| probs[*b].total_cmp(&probs[*a]).then(a.cmp(b));
    let mut m = 64.min(n);
    let keep = loop {
        if m < n {
            candidates.select_nth_unstable_by(m - 1, by_prob);
        }
        candidates[..m].sort_unstable_by(by_prob);
        let mut mass = 0.0;
        let mut found = None;
        for (rank, &i) in candidates[..m].iter().enumerate() {
            mass += probs[i];
            if mass >= top_p {
                found = Some(rank + 1);
                break;
            }
        }
        match found {
            Some(k) => break k,
            None if m == n => break n,
            None => m = (m * 4).min(n),
        }
    };
    let kept: Vec<(usize, f64)> = candidates[..keep].iter().map(|&i| (i, probs[i])).collect();
    let total: f64 = kept.iter().map(|(_, p)| p).sum();
    probs.iter_mut().for_each(|p| *p = 0.0);
    for (i, p) in kept {
        probs[i] = p / total;
    }
}

fn softmax(logits: &[f64]) -> Vec<f64> {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        // Nothing is finite: fall back to uniform rather than NaN.
        return vec![1.0 / logits.len().max(1) as f64; logits.len()];
    }
    let exp: Vec<f64> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f64 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Inverse-CDF draw over `probs` with `u` in [0, 1): spelled out so that a seed means the same
/// token whatever version of `rand` is linked.
pub fn draw(probs: &[f64], u: f64) -> u32 {
    let mut cumulative = 0.0;
    let mut last_nonzero = 0;
    for (i, &p) in probs.iter().enumerate() {
        if p > 0.0 {
            cumulative += p;
            last_nonzero = i;
            if u < cumulative {
                return i as u32;
            }
        }
    }
    last_nonzero as u32
}

/// Natural log-softmax of one logit row at `id` (the model's own likelihood of the token).
pub fn log_prob(logits: &[f32], id: u32) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    let chosen = logits
        .get(id as usize)
        .copied()
        .unwrap_or(f32::NEG_INFINITY);
    (f64::from(chosen - max) - sum.ln()) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(temperature: f32, top_k: u32, top_p: f32, seed: u64) -> DecodingParams {
        DecodingParams {
            sampling: crate::Sampling {
                temperature,
                top_k,
                top_p,
                ..Default::default()
            },
            seed,
            ..DecodingParams::default()
        }
    }

    #[test]
    fn greedy_takes_the_first_maximum_and_ignores_the_seed() {
        for seed in [0, 1, 99] {
            let mut s = Sampler::new(params(0.0, 0, 1.0, seed), &[], 4);
            assert_eq!(s.sample(&mut [0.1, 2.0, 2.0, -1.0]), 1);
        }
    }

    #[test]
    fn a_fixed_seed_picks_a_fixed_token() {
        // Pinned: ChaCha20 seeded with 42 draws u = 0.5266…, which falls in token 2's interval of
        // softmax([1, 2, 3, 0.5]) = [.0844, .2295, .6239, .0512] → cumulative .0844, .3139, .9378.
        let mut s = Sampler::new(params(1.0, 0, 1.0, 42), &[], 4);
        let first = s.sample(&mut [1.0, 2.0, 3.0, 0.5]);
        let u: f64 = ChaCha20Rng::seed_from_u64(42).gen();
        let probs = processed_distribution(&[1.0, 2.0, 3.0, 0.5], &params(1.0, 0, 1.0, 42));
        assert_eq!(first, draw(&probs, u));
        assert_eq!(first, 2, "u = {u}");
        // The same seed again gives the same sequence; another seed diverges somewhere.
        let run = |seed| {
            let mut s = Sampler::new(params(1.0, 0, 1.0, seed), &[], 4);
            (0..32)
                .map(|_| s.sample(&mut [1.0, 2.0, 3.0, 0.5]))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn repetition_penalty_divides_positive_and_multiplies_negative_logits() {
        let mut logits = [2.0, -2.0, 1.0];
        apply_repetition_penalty(&mut logits, &[0, 1], 2.0);
        assert_eq!(logits, [1.0, -4.0, 1.0]);
        // Through the sampler: the seen token 0 loses to token 2 under greedy.
        let mut greedy = params(0.0, 0, 1.0, 0);
        greedy.sampling.repetition_penalty = 3.0;
        let mut s = Sampler::new(greedy, &[0, 0], 3);
        assert_eq!(s.sample(&mut [3.0, -1.0, 1.5]), 2);
    }

    #[test]
    fn top_k_and_top_p_remove_the_tail() {
        let logits = [3.0, 2.0, 1.0, 0.0];
        let k2 = processed_distribution(&logits, &params(1.0, 2, 1.0, 0));
        assert!(k2[2] == 0.0 && k2[3] == 0.0 && (k2[0] + k2[1] - 1.0).abs() < 1e-12);
        // softmax = [.6439, .2369, .0871, .0321]: top_p 0.8 keeps two tokens, 0.5 keeps one.
        let p8 = processed_distribution(&logits, &params(1.0, 0, 0.8, 0));
        assert_eq!(p8.iter().filter(|&&p| p > 0.0).count(), 2);
        let p5 = processed_distribution(&logits, &params(1.0, 0, 0.5, 0));
        assert_eq!(p5, vec![1.0, 0.0, 0.0, 0.0]);
        // Temperature sharpens: at 0.5 token 0 has softmax([6,4,2,0])[0].
        let t = processed_distribution(&logits, &params(0.5, 0, 1.0, 0));
        assert!((t[0] - 0.86495).abs() < 1e-4, "{t:?}");
    }

    #[test]
    fn sampled_frequencies_match_the_processed_distribution() {
        // Chi-square goodness of fit, fixed seed: 20,000 draws over 5 tokens after temperature
        // 0.8 and top-k 4 (one token removed). df = 3; the 0.999 quantile is 16.27.
        let logits = [1.2f32, 0.3, -0.5, 2.0, 0.9];
        let p = params(0.8, 4, 1.0, 2024);
        let expected = processed_distribution(&logits, &p);
        assert_eq!(expected[2], 0.0);
        let mut s = Sampler::new(p, &[], logits.len());
        let n = 20_000;
        let mut counts = [0usize; 5];
        for _ in 0..n {
            counts[s.sample(&mut logits.clone()) as usize] += 1;
        }
        assert_eq!(counts[2], 0, "a removed token is never drawn");
        let chi2: f64 = (0..5)
            .filter(|&i| expected[i] > 0.0)
            .map(|i| {
                let e = expected[i] * n as f64;
                (counts[i] as f64 - e).powi(2) / e
            })
            .sum();
        assert!(
            chi2 < 16.27,
            "chi-square {chi2} with counts {counts:?} vs {expected:?}"
        );
    }

    #[test]
    fn the_nucleus_over_a_large_vocabulary_matches_a_full_sort() {
        // A long flat tail forces the selection to grow past its first guess.
        let logits: Vec<f32> = (0..5000)
            .map(|i| {
                if i < 3 {
                    8.0 - i as f32
                } else {
                    (i % 17) as f32 * 0.01
                }
            })
            .collect();
        for top_p in [0.1f32, 0.5, 0.9, 0.99, 0.999] {
            let fast = processed_distribution(&logits, &params(1.0, 0, top_p, 0));
            let full = softmax(&logits.iter().map(|&l| f64::from(l)).collect::<Vec<_>>());
            let mut order: Vec<usize> = (0..full.len()).collect();
            order.sort_by(|&a, &b| full[b].total_cmp(&full[a]).then(a.cmp(&b)));
            let mut mass = 0.0;
            let mut keep = 0;
            for &i in &order {
                mass += full[i];
                keep += 1;
                if mass >= f64::from(top_p) {
                    break;
                }
            }
            assert_eq!(
                fast.iter().filter(|&&p| p > 0.0).count(),
                keep,
                "top_p {top_p}"
            );
            assert!((fast.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }

    #[test]
    fn log_prob_is_the_log_softmax() {
        let lp = log_prob(&[0.0, 0.0], 1);
        assert!((lp - 0.5f32.ln()).abs() < 1e-6);
    }
}
