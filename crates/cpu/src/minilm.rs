//! all-MiniLM-L6-v2 (a 6-layer BERT) on the CPU fast path, for encoding a KB's texts: the same
//! computation as `photolink_core::towers::minilm`, from that module's weights.
//!
//! A batch's texts are not padded to a common length: their tokens are stacked into one
//! `[tokens, hidden]` matrix, so every dense layer is one GEMM over exactly the batch's tokens
//! (the query, key and value projections fused into one), and attention runs within each text.
//! Burn's padded batch masks the padding with a −10⁴ bias, whose softmax weight rounds to zero in
//! f32, so leaving it out computes the same vectors.

use crate::gemm::{Epilogue, PackedWeights};
use crate::{LinearWeights, ShapeError, check_len};

/// A layer norm's parameters.
#[derive(Debug, Clone)]
pub struct LayerNormWeights {
    /// Scale, one per feature.
    pub gamma: Vec<f32>,
    /// Shift, one per feature.
    pub beta: Vec<f32>,
    /// Added to the variance.
    pub epsilon: f32,
}

/// One transformer layer's parameters.
pub struct LayerWeights {
    /// Query projection.
    pub query: LinearWeights,
    /// Key projection.
    pub key: LinearWeights,
    /// Value projection.
    pub value: LinearWeights,
    /// Attention output projection.
    pub attention_output: LinearWeights,
    /// The norm after attention.
    pub attention_norm: LayerNormWeights,
    /// Feed-forward expansion (GELU after it).
    pub intermediate: LinearWeights,
    /// Feed-forward projection.
    pub output: LinearWeights,
    /// The norm after the feed-forward block.
    pub output_norm: LayerNormWeights,
}

/// Everything the encoder is made of.
pub struct MiniLmWeights {
    /// Token embeddings `[vocabulary, hidden]`.
    pub words: Vec<f32>,
    /// Position embeddings `[positions, hidden]`.
    pub positions: Vec<f32>,
    /// The embedding of token type 0 (every token here).
    pub token_type: Vec<f32>,
    /// The norm after the embeddings.
    pub embedding_norm: LayerNormWeights,
    /// Attention heads per layer.
    pub heads: usize,
    /// The layers.
    pub layers: Vec<LayerWeights>,
}

struct Layer {
    qkv: PackedWeights,
    attention_output: PackedWeights,
    attention_norm: LayerNormWeights,
    intermediate: PackedWeights,
    intermediate_len: usize,
    output: PackedWeights,
    output_norm: LayerNormWeights,
}

/// The sentence encoder, weights packed for this machine's GEMM kernel.
pub struct MiniLm {
    hidden: usize,
    heads: usize,
    words: Vec<f32>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: LayerNormWeights,
    layers: Vec<Layer>,
}

impl MiniLm {
    /// Packs `weights`; fails on inconsistent shapes.
    pub fn new(w: MiniLmWeights) -> Result<Self, ShapeError> {
        let hidden = w.token_type.len();
        if hidden == 0 || w.heads == 0 || !hidden.is_multiple_of(w.heads) {
            return Err(ShapeError::Chain("hidden size not a multiple of the heads"));
        }
        if !w.words.len().is_multiple_of(hidden) || !w.positions.len().is_multiple_of(hidden) {
            return Err(ShapeError::Chain("embedding tables not of the hidden size"));
        }
        check_norm(&w.embedding_norm, hidden)?;
        let mut layers = Vec::with_capacity(w.layers.len());
        for l in &w.layers {
            for linear in [&l.query, &l.key, &l.value, &l.attention_output] {
                linear.check(hidden, hidden)?;
            }
            let inner = l.intermediate.outputs;
            l.intermediate.check(hidden, inner)?;
            l.output.check(inner, hidden)?;
            check_norm(&l.attention_norm, hidden)?;
            check_norm(&l.output_norm, hidden)?;
            // One [hidden, 3·hidden] product for the three projections: row i is q's, k's and
            // v's row i side by side.
            let mut qkv = Vec::with_capacity(hidden * 3 * hidden);
            for i in 0..hidden {
                for p in [&l.query, &l.key, &l.value] {
                    qkv.extend_from_slice(&p.weights[i * hidden..(i + 1) * hidden]);
                }
            }
            let qkv_bias: Vec<f32> = [&l.query, &l.key, &l.value]
                .iter()
                .flat_map(|p| p.bias.iter().copied())
                .collect();
            let pack =
                |p: &LinearWeights| PackedWeights::new(&p.weights, p.inputs, p.outputs, &p.bias);
            layers.push(Layer {
                qkv: PackedWeights::new(&qkv, hidden, 3 * hidden, &qkv_bias),
                attention_output: pack(&l.attention_output),
                attention_norm: l.attention_norm.clone(),
                intermediate: pack(&l.intermediate),
                intermediate_len: inner,
                output: pack(&l.output),
                output_norm: l.output_norm.clone(),
            });
        }
        Ok(Self {
            hidden,
            heads: w.heads,
            words: w.words,
            positions: w.positions,
            token_type: w.token_type,
            embedding_norm: w.embedding_norm,
            layers,
        })
    }

    /// Longest text, in tokens.
    pub fn max_tokens(&self) -> usize {
        self.positions.len() / self.hidden
    }

    /// Size of the vocabulary.
    pub fn vocabulary(&self) -> usize {
        self.words.len() / self.hidden
    }

    /// Mean-pooled, L2-normalised sentence vectors of `texts` (token ids, each at most
    /// [`MiniLm::max_tokens`] long, ids below [`MiniLm::vocabulary`]), row-major
    /// `[texts.len(), hidden]`.
    pub fn encode(&self, texts: &[Vec<u32>]) -> Vec<f32> {
        let h = self.hidden;
        let lengths: Vec<usize> = texts.iter().map(Vec::len).collect();
        assert!(
            lengths.iter().all(|&n| n > 0 && n <= self.max_tokens()),
            "texts of 1 to {} tokens",
            self.max_tokens()
        );
        let tokens: usize = lengths.iter().sum();
        let mut x = Vec::with_capacity(tokens * h);
        for text in texts {
            for (position, &id) in text.iter().enumerate() {
                let id = id as usize;
                assert!(
                    id < self.vocabulary(),
                    "token id {id} outside the vocabulary"
                );
                let word = &self.words[id * h..(id + 1) * h];
                let pos = &self.positions[position * h..(position + 1) * h];
                x.extend(
                    word.iter()
                        .zip(pos)
                        .zip(&self.token_type)
                        .map(|((w, p), t)| w + p + t),
                );
            }
        }
        layer_norm(&mut x, &self.embedding_norm);
        for layer in &self.layers {
            x = self.layer(layer, &x, &lengths);
        }
        let mut out = Vec::with_capacity(texts.len() * h);
        let mut start = 0;
        for &n in &lengths {
            let mut mean = vec![0.0f32; h];
            for row in x[start * h..(start + n) * h].chunks_exact(h) {
                for (m, v) in mean.iter_mut().zip(row) {
                    *m += v;
                }
            }
            mean.iter_mut().for_each(|m| *m /= n as f32);
            let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            out.extend(mean.iter().map(|v| v / norm));
            start += n;
        }
        out
    }

    fn layer(&self, layer: &Layer, x: &[f32], lengths: &[usize]) -> Vec<f32> {
        let h = self.hidden;
        let tokens = x.len() / h;
        let mut qkv = vec![0.0; tokens * 3 * h];
        layer.qkv.gemm(x, tokens, &mut qkv, Epilogue::default());
        let context = self.attention(&qkv, lengths);
        let mut attended = vec![0.0; tokens * h];
        layer.attention_output.gemm(
            &context,
            tokens,
            &mut attended,
            Epilogue {
                residual: Some(x),
                ..Default::default()
            },
        );
        layer_norm(&mut attended, &layer.attention_norm);
        let mut inner = vec![0.0; tokens * layer.intermediate_len];
        layer
            .intermediate
            .gemm(&attended, tokens, &mut inner, Epilogue::default());
        inner.iter_mut().for_each(|v| *v = gelu(*v));
        let mut out = vec![0.0; tokens * h];
        layer.output.gemm(
            &inner,
            tokens,
            &mut out,
            Epilogue {
                residual: Some(&attended),
                ..Default::default()
            },
        );
        layer_norm(&mut out, &layer.output_norm);
        out
    }

    /// Scaled dot-product attention of each head within each text: `qkv` rows are `[q | k | v]`.
    fn attention(&self, qkv: &[f32], lengths: &[usize]) -> Vec<f32> {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let tokens = qkv.len() / (3 * h);
        let mut context = vec![0.0f32; tokens * h];
        let mut keys = Vec::new();
        let mut scores = Vec::new();
        let mut start = 0;
        for &n in lengths {
            let rows = &qkv[start * 3 * h..(start + n) * 3 * h];
            for head in 0..self.heads {
                let (q_at, k_at, v_at) = (head * d, h + head * d, 2 * h + head * d);
                // This head's keys transposed, `[d, n]`: each query's scores are then `d` axpys
                // over contiguous keys, which vectorise (a dot product per key would not).
                keys.clear();
                keys.resize(d * n, 0.0);
                for j in 0..n {
                    for c in 0..d {
                        keys[c * n + j] = rows[j * 3 * h + k_at + c];
                    }
                }
                for i in 0..n {
                    let q = &rows[i * 3 * h + q_at..i * 3 * h + q_at + d];
                    scores.clear();
                    scores.resize(n, 0.0);
                    for (c, &qc) in q.iter().enumerate() {
                        let qc = qc * scale;
                        for (s, k) in scores.iter_mut().zip(&keys[c * n..(c + 1) * n]) {
                            *s += qc * k;
                        }
                    }
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut total = 0.0;
                    for s in &mut scores {
                        *s = (*s - max).exp();
                        total += *s;
                    }
                    let out =
                        &mut context[(start + i) * h + head * d..(start + i) * h + (head + 1) * d];
                    for (j, s) in scores.iter().enumerate() {
                        let v = &rows[j * 3 * h + v_at..j * 3 * h + v_at + d];
                        let weight = s / total;
                        for (o, x) in out.iter_mut().zip(v) {
                            *o += weight * x;
                        }
                    }
                }
            }
            start += n;
        }
        context
    }
}

/// The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, as Burn computes it.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf in f32 by the rational approximation Eigen and XLA use (odd degree-13 numerator, degree-8
/// denominator in x², on x clamped to ±4 where erf is ±1 in f32): within 4e-7 of the true erf
/// (`erf_is_within_4e_7_of_the_true_value`), and branch-free, so a loop of it vectorises: libm's
/// erff measured 4.5× slower over MiniLM's activations, as costly as all its GEMMs.
fn erf(x: f32) -> f32 {
    const NUMERATOR: [f32; 7] = [
        -2.726_142_3e-10,
        2.770_681_4e-8,
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906_3e-4,
        -2.9546e-3,
        -1.609_603_3e-2,
    ];
    const DENOMINATOR: [f32; 5] = [
        -1.456_607_2e-5,
        -2.133_740_6e-4,
        -1.682_827e-3,
        -7.373_329e-3,
        -1.426_474e-2,
    ];
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let p = NUMERATOR.iter().fold(0.0, |acc, c| acc * x2 + c) * x;
    let q = DENOMINATOR.iter().fold(0.0, |acc, c| acc * x2 + c);
    p / q
}

/// Normalises each row of `x` in place: zero mean, unit variance (biased), then scale and shift.
fn layer_norm(x: &mut [f32], norm: &LayerNormWeights) {
    let h = norm.gamma.len();
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let variance = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (variance + norm.epsilon).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

fn check_norm(n: &LayerNormWeights, hidden: usize) -> Result<(), ShapeError> {
    check_len("layer norm scale", &n.gamma, hidden)?;
    check_len("layer norm shift", &n.beta, hidden)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against erf by its series in f64 (good to 1e-12 on [−4, 4]), and its limits beyond.
    #[test]
    fn erf_is_within_4e_7_of_the_true_value() {
        let series = |x: f64| {
            // erf(x) = 2/√π Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)).
            let mut term = x;
            let mut sum = x;
            for n in 1..200 {
                term *= -x * x / n as f64;
                sum += term / (2 * n + 1) as f64;
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        };
        let mut worst = 0f64;
        for i in -4000..=4000 {
            let x = i as f64 * 1e-3;
            worst = worst.max((f64::from(erf(x as f32)) - series(x)).abs());
        }
        assert!(worst <= 4e-7, "max error {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        assert!((erf(10.0) - 1.0).abs() <= 4e-7 && (erf(-10.0) + 1.0).abs() <= 4e-7);
    }
}
