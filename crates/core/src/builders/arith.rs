//! The arithmetic of GSM8K calculator annotations (`<<48/2=24>>`): numbers, `+ - * /`, `^` or
//! `**` for powers, `%` as a percent sign after a number, parentheses and unary minus. Parsed
//! into a tree so a builder can drop an operand and write the expression back.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal as written (`80000`, `.5`, `1,000`) and its value.
    Num(String, f64),
    Neg(Box<Expr>),
    Bin(Box<Expr>, Op, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Pow => "^",
        }
    }

    fn precedence(self) -> u8 {
        match self {
            Op::Add | Op::Sub => 1,
            Op::Mul | Op::Div => 2,
            Op::Pow => 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read `{expr}` as arithmetic: {why}")]
pub struct ArithError {
    pub expr: String,
    pub why: String,
}

/// Parses an annotation expression.
pub fn parse(text: &str) -> Result<Expr, ArithError> {
    let fail = |why: &str| ArithError {
        expr: text.to_string(),
        why: why.to_string(),
    };
    let tokens = tokenize(text).map_err(|w| fail(&w))?;
    let mut p = Parser { tokens, at: 0 };
    let e = p.sum().map_err(|w| fail(&w))?;
    if p.at != p.tokens.len() {
        return Err(fail("unexpected text after the expression"));
    }
    Ok(e)
}

impl Expr {
    pub fn value(&self) -> f64 {
        match self {
            Expr::Num(_, v) => *v,
            Expr::Neg(e) => -e.value(),
            Expr::Bin(a, op, b) => {
                let (a, b) = (a.value(), b.value());
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div => a / b,
                    Op::Pow => a.powf(b),
                }
            }
        }
    }

    /// Every literal, left to right.
    pub fn literals(&self) -> Vec<f64> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Num(_, v) = e {
                out.push(*v);
            }
        });
        out
    }

    fn walk(&self, f: &mut impl FnMut(&Expr)) {
        f(self);
        match self {
            Expr::Num(..) => {}
            Expr::Neg(e) => e.walk(f),
            Expr::Bin(a, _, b) => {
                a.walk(f);
                b.walk(f);
            }
        }
    }

    /// The expression with every literal equal to `from` replaced by `to`.
    pub fn replace_literal(&self, from: f64, to: f64) -> Expr {
        match self {
            Expr::Num(_, v) if same(*v, from) => Expr::Num(format_number(to), to),
            Expr::Num(..) => self.clone(),
            Expr::Neg(e) => Expr::Neg(Box::new(e.replace_literal(from, to))),
            Expr::Bin(a, op, b) => Expr::Bin(
                Box::new(a.replace_literal(from, to)),
                *op,
                Box::new(b.replace_literal(from, to)),
            ),
        }
    }

    /// Every expression made by dropping one literal operand equal to `value` (its binary node
    /// becomes the other side), e.g. `16-3-4` without 4 is `16-3`.
    pub fn without_operand(&self, value: f64) -> Vec<Expr> {
        let mut out = Vec::new();
        if let Expr::Bin(a, op, b) = self {
            if matches!(**b, Expr::Num(_, v) if same(v, value)) {
                out.push((**a).clone());
            }
            if matches!(**a, Expr::Num(_, v) if same(v, value)) && *op != Op::Sub && *op != Op::Div
            {
                out.push((**b).clone());
            }
            for sub in a.without_operand(value) {
                out.push(Expr::Bin(Box::new(sub), *op, b.clone()));
            }
            for sub in b.without_operand(value) {
                out.push(Expr::Bin(a.clone(), *op, Box::new(sub)));
            }
        }
        out
    }

    fn fmt_in(&self, f: &mut fmt::Formatter<'_>, parent: u8, right: bool) -> fmt::Result {
        match self {
            Expr::Num(text, _) => f.write_str(text),
            Expr::Neg(e) => {
                f.write_str("-")?;
                e.fmt_in(f, 4, false)
            }
            Expr::Bin(a, op, b) => {
                let p = op.precedence();
                let wrap = p < parent || (right && p == parent);
                if wrap {
                    f.write_str("(")?;
                }
                // Powers group to the right: wrap any compound base or exponent.
                let inner = if *op == Op::Pow { 4 } else { p };
                a.fmt_in(f, inner, false)?;
                f.write_str(op.symbol())?;
                b.fmt_in(f, inner, true)?;
                if wrap {
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_in(f, 0, false)
    }
}

/// Equal as written numbers (GSM8K writes results rounded to a few decimals).
pub fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Whether `written` is `computed` as a solver would write it: exact, or rounded to the
/// decimals `written` shows (`10/3=3.33`), with a small relative slack for rounding of long
/// decimals (`1/3=0.333`).
pub fn agrees(written: &str, computed: f64) -> bool {
    let Some(w) = number_value(written) else {
        return false;
    };
    if same(w, computed) {
        return true;
    }
    let decimals = written
        .split_once('.')
        .map_or(0, |(_, d)| d.chars().filter(char::is_ascii_digit).count());
    let half_unit = 0.5 * 10f64.powi(-(decimals as i32));
    decimals > 0 && (w - computed).abs() <= half_unit + 1e-9
}

/// The value of a written number (`1,000`, `$5`, `.5`, `12.50`); `None` when not a number.
pub fn number_value(text: &str) -> Option<f64> {
    let t: String = text
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    if t.is_empty() || !t.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A value written as GSM8K writes results: an integer when whole, else at most four
/// decimals without trailing zeros.
pub fn format_number(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String, f64),
    Op(char),
    Open,
    Close,
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '$' => i += 1,
            '0'..='9' | '.' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_digit()
                        || chars[i] == '.'
                        || (chars[i] == ','
                            && i + 1 < chars.len()
                            && chars[i + 1].is_ascii_digit()))
                {
                    i += 1;
                }
                let written: String = chars[start..i].iter().collect();
                let mut value =
                    number_value(&written).ok_or_else(|| format!("`{written}` is not a number"))?;
                if i < chars.len() && chars[i] == '%' {
                    value /= 100.0;
                    i += 1;
                }
                out.push(Tok::Num(written, value));
            }
            '*' if chars.get(i + 1) == Some(&'*') => {
                out.push(Tok::Op('^'));
                i += 2;
            }
            '+' | '-' | '*' | '/' | '^' | 'x' | '×' | '÷' => {
                out.push(Tok::Op(match c {
                    'x' | '×' => '*',
                    '÷' => '/',
                    other => other,
                }));
                i += 1;
            }
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    if out.is_empty() {
        return Err("empty".into());
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<char> {
        match self.tokens.get(self.at) {
            Some(Tok::Op(c)) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(c @ ('+' | '-')) = self.peek_op() {
            self.at += 1;
            let right = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Sub };
            left = Expr::Bin(Box::new(left), op, Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.power()?;
        loop {
            match self.peek_op() {
                Some(c @ ('*' | '/')) => {
                    self.at += 1;
                    let right = self.power()?;
                    let op = if c == '*' { Op::Mul } else { Op::Div };
                    left = Expr::Bin(Box::new(left), op, Box::new(right));
                }
                // `2(3+4)`: implicit multiplication before a parenthesis.
                None if matches!(self.tokens.get(self.at), Some(Tok::Open)) => {
                    let right = self.power()?;
                    left = Expr::Bin(Box::new(left), Op::Mul, Box::new(right));
                }
                _ => return Ok(left),
            }
        }
    }

    fn power(&mut self) -> Result<Expr, String> {
        let base = self.unary()?;
        if self.peek_op() == Some('^') {
            self.at += 1;
            let exponent = self.power()?;
            return Ok(Expr::Bin(Box::new(base), Op::Pow, Box::new(exponent)));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Tok::Op('-')) => {
                self.at += 1;
                Ok(Expr::Neg(Box::new(self.unary()?)))
            }
            Some(Tok::Op('+')) => {
                self.at += 1;
                self.unary()
            }
            Some(Tok::Num(w, v)) => {
                self.at += 1;
                Ok(Expr::Num(w, v))
            }
            Some(Tok::Open) => {
                self.at += 1;
                let e = self.sum()?;
                if self.tokens.get(self.at) != Some(&Tok::Close) {
                    return Err("missing `)`".into());
                }
                self.at += 1;
                Ok(e)
            }
            Some(Tok::Close) => Err("unexpected `)`".into()),
            Some(Tok::Op(c)) => Err(format!("unexpected `{c}`")),
            None => Err("ends too early".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_annotation_arithmetic() {
        for (text, v) in [
            ("16-3-4", 9.0),
            ("80000*1.5", 120000.0),
            ("2^3*2", 16.0),
            ("2**3", 8.0),
            ("(3+4)*2", 14.0),
            ("2(3+4)", 14.0),
            ("-5+8", 3.0),
            (".5*10", 5.0),
            ("50%*40", 20.0),
            ("1,000/4", 250.0),
            ("$20/4", 5.0),
        ] {
            assert!(same(parse(text).unwrap().value(), v), "{text}");
        }
        assert!(parse("3 apples").is_err());
        assert!(parse("(3+4").is_err());
    }

    #[test]
    fn prints_back_with_needed_parentheses_only() {
        for text in [
            "16-3-4", "16-(3-4)", "(2+3)*4", "2*3+4", "2/(3*4)", "2^(3^2)", "(2*3)^2",
        ] {
            assert_eq!(parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn drops_an_operand() {
        let e = parse("16-3-4").unwrap();
        let dropped: Vec<String> = e
            .without_operand(4.0)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(dropped, ["16-3"]);
        let dropped: Vec<String> = e
            .without_operand(3.0)
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(dropped, ["16-4"]);
        // A first operand of `-` or `/` is not dropped (`-3` is not an omission).
        assert!(parse("16-3").unwrap().without_operand(16.0).is_empty());
    }

    #[test]
    fn written_results_agree_up_to_their_rounding() {
        assert!(agrees("3.33", 10.0 / 3.0));
        assert!(agrees("130,000", 130000.0));
        assert!(!agrees("3.4", 10.0 / 3.0));
        assert!(!agrees("25", 24.0));
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(format_number(120000.0), "120000");
        assert_eq!(format_number(1.0 / 3.0), "0.3333");
    }
}
