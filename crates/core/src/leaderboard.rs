//! Leaderboards: Bradley–Terry strengths of entries (generator versions, decoding paths,
//! adversarial transforms) from the comparisons of their candidates, with bootstrap 95%
//! intervals, and the rank correlation of two boards.
//!
//! The intervals follow Chatbot Arena's method (Chiang et al. 2024, "Chatbot Arena: An Open
//! Platform for Evaluating LLMs by Human Preference", §5): resample the comparisons with
//! replacement, refit, and take the 2.5th and 97.5th percentiles of each entry's strength. The
//! resampling is seeded, so a board is reproducible.

use crate::ranking::{bradley_terry, Comparison, RankError};
use rand_chacha::{
    rand_core::{RngCore, SeedableRng},
    ChaCha8Rng,
};
use serde::{Deserialize, Serialize};

/// Bootstrap rounds of a board unless asked otherwise.
pub const DEFAULT_ROUNDS: usize = 200;
/// The seed of the resampling unless asked otherwise.
pub const DEFAULT_SEED: u64 = 1;
/// The L2 prior of every fit: an entry that never loses still gets a finite strength, and a
/// resample that leaves an entry out keeps it at the prior's centre.
pub const BOARD_ALPHA: f64 = 0.01;

/// What a board ranks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum BoardBy {
    /// Generator model versions (`name@version`).
    #[default]
    Generator,
    /// Decoding paths (conservative, diverse, adversarial).
    Path,
    /// Adversarial prompt transforms (`none` for untransformed prompts).
    Transform,
}

impl BoardBy {
    pub const ALL: [BoardBy; 3] = [Self::Generator, Self::Path, Self::Transform];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generator => "generator",
            Self::Path => "path",
            Self::Transform => "transform",
        }
    }
}

impl std::str::FromStr for BoardBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str() == s.trim())
            .ok_or_else(|| format!("unknown board `{s}` (expected generator, path or transform)"))
    }
}

/// Ranks a project's generators, paths or transforms (reviewer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct LeaderboardRequest {
    /// generator, path or transform.
    #[cfg_attr(feature = "cli", arg(long, default_value = "generator"))]
    #[serde(default)]
    pub by: BoardBy,
    /// The judge board's rubric version (`name@version`, or `name` for its latest; default: the
    /// newest finished judge run's). Judgments of other rubric versions are never mixed in.
    #[cfg_attr(feature = "cli", arg(long))]
    #[serde(default)]
    pub rubric: Option<String>,
    /// Bootstrap rounds of the 95% intervals (at most 2000).
    #[cfg_attr(feature = "cli", arg(long, default_value_t = DEFAULT_ROUNDS))]
    #[serde(default = "default_rounds")]
    pub rounds: usize,
    /// The seed of the resampling.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = DEFAULT_SEED))]
    #[serde(default = "default_seed")]
    pub seed: u64,
}

impl Default for LeaderboardRequest {
    fn default() -> Self {
        Self {
            by: BoardBy::default(),
            rubric: None,
            rounds: DEFAULT_ROUNDS,
            seed: DEFAULT_SEED,
        }
    }
}

/// Most bootstrap rounds a request may ask for.
pub const MAX_ROUNDS: usize = 2000;

fn default_rounds() -> usize {
    DEFAULT_ROUNDS
}

fn default_seed() -> u64 {
    DEFAULT_SEED
}

/// A project's judge-based and human-based boards side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaderboardView {
    pub project: String,
    pub by: BoardBy,
    /// The rubric version of the judge board (`None`: no finished judge run).
    pub rubric: Option<String>,
    pub rounds: usize,
    pub seed: u64,
    /// From the judge runs of `rubric`: scores compared within a prompt, verdicts per order.
    pub judge: Vec<Standing>,
    pub judge_comparisons: u64,
    /// From counted human votes on items that compare two candidates.
    pub human: Vec<Standing>,
    pub human_comparisons: u64,
    /// Spearman's ρ of the entries both boards rank.
    pub rank_correlation: Option<f64>,
}

/// One entry of a board.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Standing {
    pub name: String,
    /// 1 = strongest.
    pub rank: usize,
    /// Log-strength, centred to mean 0.
    pub strength: f64,
    /// The bootstrap 95% interval of the strength.
    pub low: f64,
    pub high: f64,
    /// Comparisons the entry took part in.
    pub comparisons: u64,
    /// Its share of wins in them (ties count half).
    pub win_rate: f64,
}

/// The entries of a board, strongest first (equal strengths keep name order).
pub fn board(
    names: &[String],
    comparisons: &[Comparison],
    rounds: usize,
    seed: u64,
) -> Result<Vec<Standing>, RankError> {
    let n = names.len();
    let strengths = bradley_terry(n, comparisons, BOARD_ALPHA)?;
    let mut samples: Vec<Vec<f64>> = vec![Vec::with_capacity(rounds); n];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = comparisons.len() as u64;
    let mut resample = Vec::with_capacity(comparisons.len());
    for _ in 0..rounds {
        resample.clear();
        for _ in 0..m {
            // Lemire's multiply-shift: an index in 0..m without modulo bias worth the name.
            let i = ((u128::from(rng.next_u64()) * u128::from(m)) >> 64) as usize;
            resample.push(comparisons[i]);
        }
        for (s, x) in samples
            .iter_mut()
            .zip(bradley_terry(n, &resample, BOARD_ALPHA)?)
        {
            s.push(x);
        }
    }
    let mut played = vec![0u64; n];
    let mut wins = vec![0f64; n];
    for c in comparisons {
        played[c.a] += 1;
        played[c.b] += 1;
        let (wa, wb) = match c.winner {
            crate::ranking::Winner::A => (1.0, 0.0),
            crate::ranking::Winner::B => (0.0, 1.0),
            crate::ranking::Winner::Tie => (0.5, 0.5),
        };
        wins[c.a] += wa;
        wins[c.b] += wb;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| {
        strengths[j]
            .total_cmp(&strengths[i])
            .then(names[i].cmp(&names[j]))
    });
    Ok(order
        .into_iter()
        .enumerate()
        .map(|(r, i)| {
            let (low, high) = if rounds == 0 {
                (strengths[i], strengths[i])
            } else {
                (
                    percentile(&mut samples[i], 0.025),
                    percentile(&mut samples[i], 0.975),
                )
            };
            Standing {
                name: names[i].clone(),
                rank: r + 1,
                strength: strengths[i],
                low,
                high,
                comparisons: played[i],
                win_rate: if played[i] == 0 {
                    0.0
                } else {
                    wins[i] / played[i] as f64
                },
            }
        })
        .collect())
}

/// The `q` quantile by linear interpolation between order statistics (numpy's default).
fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (pos - lo as f64)
}

/// Spearman's rank correlation of the entries two boards share (`None` under 2 shared entries,
/// or when one board ranks them all alike). Ranks are re-taken among the shared entries, ties by
/// strength getting their mean rank.
pub fn spearman(a: &[Standing], b: &[Standing]) -> Option<f64> {
    let shared: Vec<(f64, f64)> = a
        .iter()
        .filter_map(|x| {
            b.iter()
                .find(|y| y.name == x.name)
                .map(|y| (x.strength, y.strength))
        })
        .collect();
    if shared.len() < 2 {
        return None;
    }
    let ra = ranks(&shared.iter().map(|s| s.0).collect::<Vec<_>>());
    let rb = ranks(&shared.iter().map(|s| s.1).collect::<Vec<_>>());
    pearson(&ra, &rb)
}

/// Ranks (1-based, ties averaged).
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for k in &order[i..=j] {
            out[*k] = mean;
        }
        i = j + 1;
    }
    out
}

/// Pearson's correlation of two equally long samples (none when either is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::Winner;

    fn c(a: usize, b: usize, winner: Winner) -> Comparison {
        Comparison { a, b, winner }
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_board_orders_entries_and_brackets_each_strength() {
        // a beats b 30–10, b beats c 30–10, a beats c 35–5.
        let mut data = Vec::new();
        for (x, y, wins, losses) in [(0, 1, 30, 10), (1, 2, 30, 10), (0, 2, 35, 5)] {
            data.extend(std::iter::repeat_n(c(x, y, Winner::A), wins));
            data.extend(std::iter::repeat_n(c(x, y, Winner::B), losses));
        }
        let b = board(&names(&["a", "b", "c"]), &data, 300, 7).expect("board");
        assert_eq!(
            b.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
            ["a", "b", "c"]
        );
        for s in &b {
            assert!(s.low < s.strength && s.strength < s.high, "{s:?}");
            assert_eq!(s.comparisons, 80);
        }
        assert!((b[0].win_rate - 65.0 / 80.0).abs() < 1e-12);
        // The same seed gives the same intervals; another seed other ones.
        let again = board(&names(&["a", "b", "c"]), &data, 300, 7).expect("board");
        assert_eq!(b, again);
        let other = board(&names(&["a", "b", "c"]), &data, 300, 8).expect("board");
        assert_ne!(b[0].low, other[0].low);
    }

    #[test]
    fn more_evidence_narrows_the_interval() {
        let few: Vec<Comparison> =
            [c(0, 1, Winner::A), c(0, 1, Winner::A), c(0, 1, Winner::B)].repeat(3);
        let many = few.repeat(30);
        let width = |d: &[Comparison]| {
            let b = board(&names(&["x", "y"]), d, 300, 1).expect("board");
            b[0].high - b[0].low
        };
        assert!(width(&many) < width(&few) / 3.0);
    }

    #[test]
    fn spearman_matches_the_textbook_values() {
        let st = |pairs: &[(&str, f64)]| -> Vec<Standing> {
            pairs
                .iter()
                .map(|&(name, strength)| Standing {
                    name: name.into(),
                    rank: 0,
                    strength,
                    low: strength,
                    high: strength,
                    comparisons: 0,
                    win_rate: 0.0,
                })
                .collect()
        };
        let a = st(&[("p", 3.0), ("q", 2.0), ("r", 1.0), ("s", 0.0)]);
        assert_eq!(spearman(&a, &a), Some(1.0));
        let reversed = st(&[("p", 0.0), ("q", 1.0), ("r", 2.0), ("s", 3.0)]);
        assert_eq!(spearman(&a, &reversed), Some(-1.0));
        // One swap of neighbours among four: 1 − 6·2/(4·15) = 0.8 (scipy.stats.spearmanr).
        let swapped = st(&[
            ("p", 3.0),
            ("q", 1.0),
            ("r", 2.0),
            ("s", 0.0),
            ("extra", 9.0),
        ]);
        assert!((spearman(&a, &swapped).expect("rho") - 0.8).abs() < 1e-12);
        assert_eq!(spearman(&a, &st(&[("p", 1.0)])), None);
    }
}
