//! all-MiniLM-L6-v2, the sentence-transformers text encoder: a BERT of 6 layers (hidden 384, 12 heads)
//! whose token states are mean-pooled over the attention mask and L2-normalised into a 384-d sentence
//! vector. Field names follow the Hugging Face state dict, so its safetensors load by name.
//!
//! For partial fine-tuning the encoder runs in [`STAGES`] stages, as the image towers do: stage 0
//! is the embeddings (token ids in, token states out), stages 1–6 the transformer layers (token
//! states in and out); pooling follows the last.

use std::ops::Range;

use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, softmax};
use burn::tensor::{Device, Int, Tensor};

/// Hidden size, and length of the sentence vector.
pub const HIDDEN: usize = 384;
/// Longest input the model accepts, in tokens (sentence-transformers truncates at 256).
pub const MAX_TOKENS: usize = 256;
const VOCAB: usize = 30_522;
const MAX_POSITIONS: usize = 512;
const LAYERS: usize = 6;
/// Stages the encoder runs in order: the embeddings, then each transformer layer.
pub const STAGES: usize = LAYERS + 1;
/// Attention heads per layer.
pub const HEADS: usize = 12;
const INTERMEDIATE: usize = 1536;
/// The layer norms' variance epsilon (BERT's).
pub const LAYER_NORM_EPSILON: f64 = 1e-12;

/// The text encoder.
#[derive(Module, Debug)]
pub struct MiniLm {
    /// Token, position and segment embeddings.
    pub embeddings: Embeddings,
    /// Transformer layers.
    pub encoder: Encoder,
}

/// BERT's input embeddings.
#[derive(Module, Debug)]
pub struct Embeddings {
    /// WordPiece token embeddings.
    pub word_embeddings: Embedding,
    /// Learned absolute positions.
    pub position_embeddings: Embedding,
    /// Segment embeddings (always segment 0 here).
    pub token_type_embeddings: Embedding,
    /// Norm of their sum.
    pub layer_norm: LayerNorm,
}

/// The stack of transformer layers.
#[derive(Module, Debug)]
pub struct Encoder {
    /// The layers, applied in order.
    pub layer: Vec<Layer>,
}

/// One post-norm transformer layer.
#[derive(Module, Debug)]
pub struct Layer {
    /// Multi-head self-attention with its residual norm.
    pub attention: Attention,
    /// First half of the feed-forward block.
    pub intermediate: Intermediate,
    /// Second half of the feed-forward block with its residual norm.
    pub output: Output,
}

/// Self-attention and its output projection.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query/key/value projections (`attention.self` in the state dict).
    pub self_attention: SelfAttention,
    /// Output projection and norm.
    pub output: Output,
}

/// Query, key and value projections.
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
}

/// `hidden → 4·hidden` with GELU.
#[derive(Module, Debug)]
pub struct Intermediate {
    /// The projection.
    pub dense: Linear,
}

/// A projection followed by residual addition and layer norm.
#[derive(Module, Debug)]
pub struct Output {
    /// The projection.
    pub dense: Linear,
    /// The norm after the residual sum.
    pub layer_norm: LayerNorm,
}

fn layer_norm(device: &Device) -> LayerNorm {
    LayerNormConfig::new(HIDDEN)
        .with_epsilon(LAYER_NORM_EPSILON)
        .init(device)
}

impl MiniLm {
    /// The architecture with uninitialised weights.
    pub fn new(device: &Device) -> Self {
        let linear = |i, o| LinearConfig::new(i, o).init(device);
        let layer = (0..LAYERS)
            .map(|_| Layer {
                attention: Attention {
                    self_attention: SelfAttention {
                        query: linear(HIDDEN, HIDDEN),
                        key: linear(HIDDEN, HIDDEN),
                        value: linear(HIDDEN, HIDDEN),
                    },
                    output: Output {
                        dense: linear(HIDDEN, HIDDEN),
                        layer_norm: layer_norm(device),
                    },
                },
                intermediate: Intermediate {
                    dense: linear(HIDDEN, INTERMEDIATE),
                },
                output: Output {
                    dense: linear(INTERMEDIATE, HIDDEN),
                    layer_norm: layer_norm(device),
                },
            })
            .collect();
        Self {
            embeddings: Embeddings {
                word_embeddings: EmbeddingConfig::new(VOCAB, HIDDEN).init(device),
                position_embeddings: EmbeddingConfig::new(MAX_POSITIONS, HIDDEN).init(device),
                token_type_embeddings: EmbeddingConfig::new(2, HIDDEN).init(device),
                layer_norm: layer_norm(device),
            },
            encoder: Encoder { layer },
        }
    }

    /// Token ids `[batch, len]` and their attention mask (1 for real tokens, 0 for padding) →
    /// L2-normalised sentence vectors `[batch, 384]`.
    pub fn forward(&self, token_ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<2> {
        let states = self.token_states(token_ids, mask.clone());
        pool(states, mask)
    }

    /// The last layer's token states `[batch, len, 384]`.
    pub fn token_states(&self, token_ids: Tensor<2, Int>, mask: Tensor<2>) -> Tensor<3> {
        self.run_layers(self.embed(token_ids), mask, 1..STAGES)
    }

    /// Stage 0: token ids `[batch, len]` → embedded token states `[batch, len, 384]`.
    pub fn embed(&self, token_ids: Tensor<2, Int>) -> Tensor<3> {
        let [batch, len] = token_ids.dims();
        let device = token_ids.device();
        let positions = Tensor::<1, Int>::arange(0..len as i64, &device)
            .reshape([1, len])
            .repeat_dim(0, batch);
        let segments = Tensor::<2, Int>::zeros([batch, len], &device);
        let e = &self.embeddings;
        e.layer_norm.forward(
            e.word_embeddings.forward(token_ids)
                + e.position_embeddings.forward(positions)
                + e.token_type_embeddings.forward(segments),
        )
    }

    /// Runs the transformer layers of `stages` (a range within `1..STAGES`) on the token states
    /// stage `stages.start` reads.
    pub fn run_layers(&self, mut x: Tensor<3>, mask: Tensor<2>, stages: Range<usize>) -> Tensor<3> {
        assert!(
            stages.start >= 1 && stages.end <= STAGES,
            "stages {stages:?}: the layers are stages 1..{STAGES}"
        );
        let [batch, len] = mask.dims();
        // Padding keys get a large negative score so that softmax ignores them.
        let key_bias = (mask.neg() + 1.0).reshape([batch, 1, 1, len]) * -1e4;
        for layer in &self.encoder.layer[stages.start - 1..stages.end - 1] {
            x = layer.forward(x, key_bias.clone());
        }
        x
    }
}

/// The stages of a [`MiniLm`] from some stage on: what fine-tuning changes, and so all a training
/// run needs to save (one layer is 7 MB; the whole tower 90 MB).
#[derive(Module, Debug)]
pub struct TrainedStages {
    /// The embeddings, when stage 0 is among them.
    pub embeddings: Option<Embeddings>,
    /// The transformer layers among them, in order.
    pub layers: Vec<Layer>,
}

impl MiniLm {
    /// A copy of stages `first..STAGES`.
    pub fn trained_stages(&self, first: usize) -> TrainedStages {
        TrainedStages {
            embeddings: (first == 0).then(|| self.embeddings.clone()),
            layers: self.encoder.layer[first.max(1) - 1..].to_vec(),
        }
    }

    /// This tower with its last stages replaced by `stages`.
    pub fn with_trained_stages(mut self, stages: TrainedStages) -> Self {
        if let Some(embeddings) = stages.embeddings {
            self.embeddings = embeddings;
        }
        let first = LAYERS - stages.layers.len();
        self.encoder.layer.truncate(first);
        self.encoder.layer.extend(stages.layers);
        self
    }
}

/// Token states `[batch, len, 384]` → their mean over the real tokens of `mask`, L2-normalised: the
/// sentence vectors `[batch, 384]`.
pub fn pool(states: Tensor<3>, mask: Tensor<2>) -> Tensor<2> {
    let [batch, len, _] = states.dims();
    let weights = mask.reshape([batch, len, 1]);
    let summed = (states * weights.clone())
        .sum_dim(1)
        .reshape([batch, HIDDEN]);
    let counts = weights.sum_dim(1).reshape([batch, 1]).clamp_min(1e-9);
    l2_normalize(summed / counts)
}

impl Layer {
    fn forward(&self, x: Tensor<3>, key_bias: Tensor<4>) -> Tensor<3> {
        let [batch, len, _] = x.dims();
        let head_dim = HIDDEN / HEADS;
        let heads = |t: Tensor<3>| t.reshape([batch, len, HEADS, head_dim]).swap_dims(1, 2);
        let a = &self.attention.self_attention;
        let (q, k, v) = (
            heads(a.query.forward(x.clone())),
            heads(a.key.forward(x.clone())),
            heads(a.value.forward(x.clone())),
        );
        let scores = q.matmul(k.swap_dims(2, 3)) / (head_dim as f64).sqrt() + key_bias;
        let context = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, len, HIDDEN]);
        let attended = self.attention.output.forward(context, x);
        let hidden = gelu(self.intermediate.dense.forward(attended.clone()));
        self.output.forward(hidden, attended)
    }
}

impl Output {
    fn forward(&self, x: Tensor<3>, residual: Tensor<3>) -> Tensor<3> {
        self.layer_norm.forward(self.dense.forward(x) + residual)
    }
}

/// Rows scaled to unit Euclidean length.
pub fn l2_normalize(x: Tensor<2>) -> Tensor<2> {
    let norm = x
        .clone()
        .powf_scalar(2.0)
        .sum_dim(1)
        .sqrt()
        .clamp_min(1e-12);
    x / norm
}
