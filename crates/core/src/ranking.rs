//! Bradley–Terry strengths from pairwise comparisons: P(a beats b) = σ(θ_a − θ_b).
//!
//! The fit maximises the log-likelihood (optionally with an L2 prior `alpha·Σθ²`, the penalty of
//! the `choix` package) by Newton's method with a backtracking line search, and returns the
//! log-strengths centred to mean 0, as `choix` does. **Ties count half**: a tie between a and b
//! is half a win each way (one of the two choices the issue allows; Davidson's model would add a
//! tie parameter that no other part of Pairwise uses). Without a prior the maximum-likelihood
//! strengths exist only when the comparison graph is strongly connected (every item both beats,
//! or ties, and is beaten by, or ties, some chain of the others); otherwise the fit is an error
//! that names an item and asks for a prior.

use std::collections::{BTreeMap, HashMap, VecDeque};

/// The result of one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Winner {
    A,
    B,
    Tie,
}

/// One comparison of items `a` and `b` (indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comparison {
    pub a: usize,
    pub b: usize,
    pub winner: Winner,
}

/// Why strengths could not be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RankError {
    #[error("no comparisons")]
    Empty,
    #[error("{0} items: at most {MAX_ITEMS} can be ranked at once")]
    TooMany(usize),
    #[error("comparison {0} compares an item with itself")]
    SelfComparison(usize),
    #[error(
        "item {item} {how}: without a prior the maximum-likelihood strengths do not exist \
         (give a small alpha, e.g. 0.01)"
    )]
    NotConnected { item: usize, how: &'static str },
    #[error("alpha must be finite and at least 0, not {0}")]
    Alpha(f64),
}

/// Most items one fit takes (the Newton step solves an n×n system).
pub const MAX_ITEMS: usize = 1000;

/// Bradley–Terry log-strengths of items `0..n`, centred to mean 0.
pub fn bradley_terry(
    n: usize,
    comparisons: &[Comparison],
    alpha: f64,
) -> Result<Vec<f64>, RankError> {
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(RankError::Alpha(alpha));
    }
    if comparisons.is_empty() || n == 0 {
        return Err(RankError::Empty);
    }
    if n > MAX_ITEMS {
        return Err(RankError::TooMany(n));
    }
    // wins[(i, j)] = how often i beat j (ties add a half each way).
    let mut wins: HashMap<(usize, usize), f64> = HashMap::new();
    for (k, c) in comparisons.iter().enumerate() {
        if c.a == c.b {
            return Err(RankError::SelfComparison(k + 1));
        }
        let (w, l, weight) = match c.winner {
            Winner::A => (c.a, c.b, 1.0),
            Winner::B => (c.b, c.a, 1.0),
            Winner::Tie => {
                *wins.entry((c.b, c.a)).or_default() += 0.5;
                (c.a, c.b, 0.5)
            }
        };
        *wins.entry((w, l)).or_default() += weight;
    }
    if alpha == 0.0 {
        connected(n, &wins)?;
    }
    let wins: Vec<((usize, usize), f64)> = {
        let sorted: BTreeMap<(usize, usize), f64> = wins.into_iter().collect();
        sorted.into_iter().collect()
    };
    // Without a prior the strengths are defined up to a constant: the last one is pinned at 0
    // while solving, and the result is centred afterwards.
    let free = if alpha == 0.0 { n - 1 } else { n };
    let mut theta = vec![0.0; n];
    let mut value = objective(&theta, &wins, alpha);
    for _ in 0..200 {
        let (gradient, hessian) = derivatives(&theta, &wins, alpha, free);
        let step = solve(hessian, gradient.iter().map(|g| -g).collect());
        let largest = step.iter().fold(0.0f64, |m, s| m.max(s.abs()));
        // Backtracking: halve the step until the objective does not grow.
        let mut t = 1.0;
        loop {
            let mut trial = theta.clone();
            for (x, s) in trial.iter_mut().zip(&step) {
                *x += t * s;
            }
            let v = objective(&trial, &wins, alpha);
            if v <= value + 1e-15 * value.abs().max(1.0) || t < 1e-8 {
                theta = trial;
                value = v;
                break;
            }
            t /= 2.0;
        }
        if largest * t < 1e-13 {
            break;
        }
    }
    let mean = theta.iter().sum::<f64>() / n as f64;
    Ok(theta.into_iter().map(|x| x - mean).collect())
}

/// The negative penalised log-likelihood.
fn objective(theta: &[f64], wins: &[((usize, usize), f64)], alpha: f64) -> f64 {
    let prior: f64 = alpha * theta.iter().map(|x| x * x).sum::<f64>();
    prior
        + wins
            .iter()
            .map(|&((w, l), c)| c * softplus(theta[l] - theta[w]))
            .sum::<f64>()
}

/// log(1 + eˣ) without overflow.
fn softplus(x: f64) -> f64 {
    if x > 0.0 {
        x + (-x).exp().ln_1p()
    } else {
        x.exp().ln_1p()
    }
}

/// Gradient and Hessian of the objective over the first `free` parameters.
fn derivatives(
    theta: &[f64],
    wins: &[((usize, usize), f64)],
    alpha: f64,
    free: usize,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut g: Vec<f64> = theta[..free].iter().map(|x| 2.0 * alpha * x).collect();
    let mut h = vec![vec![0.0; free]; free];
    for (i, row) in h.iter_mut().enumerate() {
        row[i] = 2.0 * alpha;
    }
    for &((w, l), c) in wins {
        // z = P(l beats w); the term is c·log(1 + e^(θl − θw)).
        let z = 1.0 / (1.0 + (theta[w] - theta[l]).exp());
        let v = c * z * (1.0 - z);
        if w < free {
            g[w] -= c * z;
            h[w][w] += v;
        }
        if l < free {
            g[l] += c * z;
            h[l][l] += v;
        }
        if w < free && l < free {
            h[w][l] -= v;
            h[l][w] -= v;
        }
    }
    (g, h)
}

/// Solves `a·x = b` for a symmetric positive definite `a` (Gaussian elimination with partial
/// pivoting, which is exact enough at these sizes and tolerates a nearly singular `a`).
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let p = a[col][col];
        if p.abs() < 1e-300 {
            continue;
        }
        let (top, rest) = a.split_at_mut(col + 1);
        let pivot_row = &top[col];
        for (offset, lower) in rest.iter_mut().enumerate() {
            let f = lower[col] / p;
            if f == 0.0 {
                continue;
            }
            for (x, y) in lower[col..].iter_mut().zip(&pivot_row[col..]) {
                *x -= f * y;
            }
            b[col + 1 + offset] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| a[row][k] * x[k]).sum();
        x[row] = if a[row][row].abs() < 1e-300 {
            0.0
        } else {
            (b[row] - s) / a[row][row]
        };
    }
    x
}

/// Whether every item reaches every other along "beat or tied" edges, both ways.
fn connected(n: usize, wins: &HashMap<(usize, usize), f64>) -> Result<(), RankError> {
    let mut forward = vec![Vec::new(); n];
    let mut backward = vec![Vec::new(); n];
    for (&(w, l), &c) in wins {
        if c > 0.0 {
            forward[w].push(l);
            backward[l].push(w);
        }
    }
    let reach = |edges: &[Vec<usize>]| {
        let mut seen = vec![false; n];
        let mut queue = VecDeque::from([0]);
        seen[0] = true;
        while let Some(i) = queue.pop_front() {
            for &j in &edges[i] {
                if !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        seen
    };
    // Item 0 must reach every item by wins (each of them loses somewhere along a chain), and be
    // reached from each (each wins somewhere along a chain).
    if let Some(item) = reach(&forward).iter().position(|s| !s) {
        return Err(RankError::NotConnected {
            item,
            how: "is never beaten by the rest (directly or through others)",
        });
    }
    if let Some(item) = reach(&backward).iter().position(|s| !s) {
        return Err(RankError::NotConnected {
            item,
            how: "never beats the rest (directly or through others)",
        });
    }
    Ok(())
}

/// A line of a comparisons file that cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: `{field}`: {message}")]
pub struct InputError {
    pub line: u64,
    pub field: &'static str,
    pub message: String,
}

/// Comparisons read from JSONL lines `{"a": ID, "b": ID, "winner": "a"|"b"|"tie"}` (ids are
/// strings or numbers), with the ids in order of first appearance; blank lines are skipped.
#[derive(Debug, Default)]
pub struct Comparisons {
    pub ids: Vec<serde_json::Value>,
    pub comparisons: Vec<Comparison>,
}

impl Comparisons {
    pub fn read(reader: impl std::io::BufRead) -> Result<Self, InputError> {
        let mut out = Self::default();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, line) in reader.lines().enumerate() {
            let line_no = i as u64 + 1;
            let err = |field: &'static str, message: String| InputError {
                line: line_no,
                field,
                message,
            };
            let text = line.map_err(|e| err("line", e.to_string()))?;
            if text.trim().is_empty() {
                continue;
            }
            let row: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| err("line", format!("invalid JSON: {e}")))?;
            let mut id = |field: &'static str| -> Result<usize, InputError> {
                let v = &row[field];
                let key = match v {
                    serde_json::Value::String(s) if !s.is_empty() => format!("s{s}"),
                    serde_json::Value::Number(n) => format!("n{n}"),
                    serde_json::Value::Null => {
                        return Err(err(field, "missing (a string or a number)".into()))
                    }
                    other => return Err(err(field, format!("not an id: {other}"))),
                };
                Ok(*index.entry(key).or_insert_with(|| {
                    out.ids.push(v.clone());
                    out.ids.len() - 1
                }))
            };
            let (a, b) = (id("a")?, id("b")?);
            if a == b {
                return Err(err("b", "the same item as `a`".into()));
            }
            let winner = match row["winner"].as_str() {
                Some("a") => Winner::A,
                Some("b") => Winner::B,
                Some("tie") => Winner::Tie,
                _ => {
                    return Err(err(
                        "winner",
                        format!("must be \"a\", \"b\" or \"tie\", not {}", row["winner"]),
                    ))
                }
            };
            out.comparisons.push(Comparison { a, b, winner });
        }
        Ok(out)
    }
}

/// One ranked item: its id, log-strength (mean 0) and rank (1 = strongest).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ranked {
    pub id: serde_json::Value,
    pub strength: f64,
    pub rank: usize,
}

/// Items by strength, strongest first (equal strengths keep the order of first appearance).
pub fn ranked(ids: &[serde_json::Value], strengths: &[f64]) -> Vec<Ranked> {
    let mut order: Vec<usize> = (0..ids.len().min(strengths.len())).collect();
    order.sort_by(|&i, &j| strengths[j].total_cmp(&strengths[i]).then(i.cmp(&j)));
    order
        .into_iter()
        .enumerate()
        .map(|(r, i)| Ranked {
            id: ids[i].clone(),
            strength: strengths[i],
            rank: r + 1,
        })
        .collect()
}

/// Bradley–Terry log-strengths of the items that `comparisons` name by id (`(a, b, winner)`),
/// strongest first; equal strengths keep id order, so the result is deterministic.
pub fn strengths_by_id(
    comparisons: &[(i64, i64, Winner)],
    alpha: f64,
) -> Result<Vec<(i64, f64)>, RankError> {
    let ids: Vec<i64> = comparisons
        .iter()
        .flat_map(|&(a, b, _)| [a, b])
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let indexed: Vec<Comparison> = comparisons
        .iter()
        .map(|&(a, b, winner)| Comparison {
            a: index[&a],
            b: index[&b],
            winner,
        })
        .collect();
    let strengths = bradley_terry(ids.len(), &indexed, alpha)?;
    let mut out: Vec<(i64, f64)> = ids.into_iter().zip(strengths).collect();
    out.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(a: usize, b: usize, winner: Winner) -> Comparison {
        Comparison { a, b, winner }
    }

    #[test]
    fn two_items_match_the_closed_form() {
        // 3 wins to 1: θ0 − θ1 = ln 3.
        let data = [
            c(0, 1, Winner::A),
            c(0, 1, Winner::A),
            c(1, 0, Winner::B),
            c(0, 1, Winner::B),
        ];
        let s = bradley_terry(2, &data, 0.0).expect("fit");
        assert!((s[0] - s[1] - 3f64.ln()).abs() < 1e-10, "{s:?}");
        assert!((s[0] + s[1]).abs() < 1e-12);
        // A tie is half a win each way: 1.5 to 0.5.
        let s = bradley_terry(2, &[c(0, 1, Winner::A), c(0, 1, Winner::Tie)], 0.0).expect("fit");
        assert!((s[0] - s[1] - 3f64.ln()).abs() < 1e-10, "{s:?}");
    }

    #[test]
    fn comparisons_files_name_the_bad_line_and_field() {
        let good = "{\"a\": \"x\", \"b\": 7, \"winner\": \"a\"}\n\n{\"a\": 7, \"b\": \"x\", \"winner\": \"tie\"}\n";
        let read = Comparisons::read(good.as_bytes()).expect("read");
        assert_eq!(read.ids, [serde_json::json!("x"), serde_json::json!(7)]);
        assert_eq!(read.comparisons[1], c(1, 0, Winner::Tie));
        let bad = "{\"a\": \"x\", \"b\": \"y\", \"winner\": \"a\"}\n{\"a\": \"x\", \"b\": \"y\", \"winner\": \"left\"}\n";
        let err = Comparisons::read(bad.as_bytes()).expect_err("bad winner");
        assert_eq!((err.line, err.field), (2, "winner"));
        let err = Comparisons::read("{\"b\": 1, \"winner\": \"a\"}".as_bytes()).expect_err("no a");
        assert_eq!((err.line, err.field), (1, "a"));
        let ranks = ranked(&read.ids, &[0.5, -0.5]);
        assert_eq!((ranks[0].rank, &ranks[0].id), (1, &serde_json::json!("x")));
    }

    #[test]
    fn an_item_that_never_loses_needs_a_prior() {
        let data = [c(0, 1, Winner::A), c(1, 2, Winner::A), c(2, 1, Winner::A)];
        let err = bradley_terry(3, &data, 0.0).expect_err("not connected");
        assert!(err.to_string().contains("alpha"), "{err}");
        let s = bradley_terry(3, &data, 0.01).expect("with a prior");
        assert!(s[0] > s[1] && s[0] > s[2]);
        assert!(matches!(
            bradley_terry(2, &[c(1, 1, Winner::A)], 0.0),
            Err(RankError::SelfComparison(1))
        ));
    }

    #[test]
    fn strengths_by_id_rank_any_ids_strongest_first() {
        // 30 beats 10 three times to once: the same fit as indices, keyed by id.
        let data = [
            (30, 10, Winner::A),
            (30, 10, Winner::A),
            (10, 30, Winner::B),
            (30, 10, Winner::B),
        ];
        let s = strengths_by_id(&data, 0.0).expect("fit");
        assert_eq!(s[0].0, 30);
        assert!((s[0].1 - s[1].1 - 3f64.ln()).abs() < 1e-10, "{s:?}");
        // Equal strengths keep id order.
        let tied = strengths_by_id(&[(9, 4, Winner::Tie)], 0.0).expect("fit");
        assert_eq!(tied.iter().map(|x| x.0).collect::<Vec<_>>(), [4, 9]);
        assert!(matches!(strengths_by_id(&[], 0.1), Err(RankError::Empty)));
    }
}
