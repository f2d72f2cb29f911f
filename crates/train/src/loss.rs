//! The three contrastive losses of the paper (`shared/docs/paper.md`), over a batch of B
//! (image, entity) pairs whose entities are distinct, with image and text vectors L2-normalised:
//!
//! 1. **cross-modal InfoNCE**, symmetric: each image must pick its own text among the batch's, and
//!    each text its own image;
//! 2. **image self-contrastive** (NT-Xent / supervised-contrastive): two augmented views of an image
//!    attract, all other images repel — so that look-alike entities spread apart in image space;
//! 3. **hard-negative contrastive**: each text must pick its own image among its K most similar
//!    images of other entities (chosen in image space, optionally from a memory bank of recent
//!    batches), at a sharper temperature.
//!
//! Every function takes a `scale` = 1/τ as a one-element tensor so that τ can be learned. Candidate
//! selection for (3) happens on the host ([`hard_negative_candidates`]), since it is a discrete
//! choice that carries no gradient.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Bool, Int, Tensor, TensorData};

/// Logit given to masked-out pairs: far below any real score, yet finite (no NaN through softmax).
const MASKED: f64 = -1e9;

/// Cross-modal InfoNCE: `½ [CE(softmax_j(v_i·t_j/τ), i) + CE(softmax_j(t_i·v_j/τ), i)]`.
///
/// `images` and `texts` are `[B, D]`, row i of both describing the same entity.
pub fn cross_modal_infonce(images: Tensor<2>, texts: Tensor<2>, scale: Tensor<1>) -> Tensor<1> {
    let [b, _] = images.dims();
    let logits = images.matmul(texts.transpose()) * scale.reshape([1, 1]);
    let eye = Tensor::<2>::eye(b, &logits.device());
    let image_to_text = (log_softmax(logits.clone(), 1) * eye.clone()).sum();
    let text_to_image = (log_softmax(logits, 0) * eye).sum();
    (image_to_text + text_to_image) / (-2.0 * b as f64)
}

/// Image self-contrastive loss over the 2B vectors of two views (`view_a`, `view_b`: `[B, D]`):
/// for each vector, `−mean over its positives p of log(exp(z·z_p/τ) / Σ_{a≠self} exp(z·z_a/τ))`.
/// The positives are the other view of the same image and, when an entity has several images in the
/// batch, all their views (supervised contrastive); with one image per entity it is NT-Xent.
pub fn image_self_contrastive(
    view_a: Tensor<2>,
    view_b: Tensor<2>,
    entities: &[usize],
    scale: Tensor<1>,
) -> Tensor<1> {
    let [b, _] = view_a.dims();
    assert_eq!(entities.len(), b, "one entity per image");
    let device = view_a.device();
    let z = Tensor::cat(vec![view_a, view_b], 0);
    let n = 2 * b;
    let mut positive = vec![0.0f32; n * n];
    let mut is_self = vec![false; n * n];
    for i in 0..n {
        is_self[i * n + i] = true;
        for j in 0..n {
            if i != j && entities[i % b] == entities[j % b] {
                positive[i * n + j] = 1.0;
            }
        }
    }
    let counts: Vec<f32> = positive.chunks(n).map(|row| row.iter().sum()).collect();
    let sim = z.clone().matmul(z.transpose()) * scale.reshape([1, 1]);
    let self_mask = Tensor::<2, Bool>::from_data(TensorData::new(is_self, [n, n]), &device);
    let log_prob = log_softmax(sim.mask_fill(self_mask, MASKED), 1);
    let positive = Tensor::<2>::from_data(TensorData::new(positive, [n, n]), &device);
    let counts = Tensor::<1>::from_data(TensorData::new(counts, [n]), &device);
    let per_anchor = (log_prob * positive).sum_dim(1).reshape([n]) / counts;
    per_anchor.mean().neg()
}

/// Image vectors from earlier batches, kept (without gradient) as extra hard-negative candidates.
#[derive(Debug, Clone, Default)]
pub struct MemoryBank {
    capacity: usize,
    dim: usize,
    vectors: std::collections::VecDeque<(usize, Vec<f32>)>,
}

impl MemoryBank {
    /// A bank keeping at most `capacity` vectors of length `dim` (0 disables it).
    pub fn new(capacity: usize, dim: usize) -> Self {
        Self {
            capacity,
            dim,
            vectors: Default::default(),
        }
    }

    /// Adds a batch (`vectors` row-major `[entities.len(), dim]`), evicting the oldest.
    pub fn push(&mut self, vectors: &[f32], entities: &[usize]) {
        if self.capacity == 0 {
            return;
        }
        for (row, &entity) in vectors.chunks(self.dim).zip(entities) {
            if self.vectors.len() == self.capacity {
                self.vectors.pop_front();
            }
            self.vectors.push_back((entity, row.to_vec()));
        }
    }

    /// Number of stored vectors.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether the bank holds nothing.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The stored vectors, row-major `[len, dim]`, in the order candidates index them.
    pub fn flat(&self) -> Vec<f32> {
        self.vectors
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .collect()
    }

    fn iter(&self) -> impl Iterator<Item = (usize, &[f32])> {
        self.vectors.iter().map(|(e, v)| (*e, v.as_slice()))
    }
}

/// For each image of the batch, the indices of its `k` most similar images (by dot product) that
/// show another entity, among the batch (indices `0..B`) and the bank (indices `B..`). Rows have
/// fewer than `k` entries when fewer candidates exist.
pub fn hard_negative_candidates(
    images: &[f32],
    entities: &[usize],
    bank: Option<&MemoryBank>,
    k: usize,
) -> Vec<Vec<usize>> {
    let b = entities.len();
    let dim = images.len() / b.max(1);
    let mut pool: Vec<(usize, &[f32])> = images
        .chunks(dim)
        .zip(entities)
        .map(|(v, &e)| (e, v))
        .collect();
    if let Some(bank) = bank {
        pool.extend(bank.iter());
    }
    (0..b)
        .map(|i| {
            let anchor = &images[i * dim..(i + 1) * dim];
            let mut scored: Vec<(f32, usize)> = pool
                .iter()
                .enumerate()
                .filter(|(_, (e, _))| *e != entities[i])
                .map(|(j, (_, v))| (anchor.iter().zip(*v).map(|(a, b)| a * b).sum(), j))
                .collect();
            scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            scored.into_iter().take(k).map(|(_, j)| j).collect()
        })
        .collect()
}

/// Hard-negative contrastive loss: for each text `t_i`, cross-entropy of its own image `v_i` against
/// its candidates (from [`hard_negative_candidates`]) at scale 1/τ_h.
///
/// `bank` holds the bank's vectors `[M, D]` (no gradient) when candidates index past the batch.
pub fn hard_negative(
    texts: Tensor<2>,
    images: Tensor<2>,
    bank: Option<Tensor<2>>,
    candidates: &[Vec<usize>],
    scale: Tensor<1>,
) -> Tensor<1> {
    let [b, dim] = images.dims();
    let device = images.device();
    let k = candidates.iter().map(Vec::len).max().unwrap_or(0);
    let positive = (texts.clone() * images.clone()).sum_dim(1); // [B, 1]
    if k == 0 {
        // No other entity to contrast with: the loss is constant.
        return positive.sum() * 0.0;
    }
    let pool = match bank {
        Some(bank) => Tensor::cat(vec![images, bank.detach()], 0),
        None => images,
    };
    // Short rows repeat their first candidate and mask the copies out.
    let mut index = Vec::with_capacity(b * k);
    let mut padding = Vec::with_capacity(b * k);
    for row in candidates {
        for slot in 0..k {
            index.push(row.get(slot).or(row.first()).copied().unwrap_or(0) as i64);
            padding.push(slot >= row.len());
        }
    }
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [b * k]), &device);
    let negatives = pool.select(0, index).reshape([b, k, dim]);
    let negative = (texts.reshape([b, 1, dim]) * negatives)
        .sum_dim(2)
        .reshape([b, k]);
    let padding = Tensor::<2, Bool>::from_data(TensorData::new(padding, [b, k]), &device);
    let logits =
        Tensor::cat(vec![positive, negative.mask_fill(padding, MASKED)], 1) * scale.reshape([1, 1]);
    let log_prob = log_softmax(logits, 1);
    log_prob.narrow(1, 0, 1).mean().neg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    fn tensor(rows: &[[f32; 2]]) -> Tensor<2> {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_data(TensorData::new(flat, [rows.len(), 2]), &Device::flex())
    }

    fn scalar(t: Tensor<1>) -> f32 {
        t.into_data().try_into_vec_as::<f32>().unwrap()[0]
    }

    fn scale(s: f32) -> Tensor<1> {
        Tensor::from_data(TensorData::new(vec![s], [1]), &Device::flex())
    }

    /// ln(1 + e^x): cross-entropy of a two-way softmax whose wrong logit leads by x.
    fn softplus(x: f64) -> f64 {
        (1.0 + x.exp()).ln()
    }

    #[test]
    fn infonce_by_hand() {
        // v = [(1,0), (0,1)], t = [(0.6,0.8), (0.8,0.6)], scale 2: logits = 2·[[.6,.8],[.8,.6]].
        // Row 0: own logit 1.2, other 1.6 → CE = softplus(0.4); row 1: own 1.2, other 1.6 → same.
        // Columns are the same by symmetry, so the loss is softplus(0.4).
        let loss = cross_modal_infonce(
            tensor(&[[1.0, 0.0], [0.0, 1.0]]),
            tensor(&[[0.6, 0.8], [0.8, 0.6]]),
            scale(2.0),
        );
        assert!((f64::from(scalar(loss)) - softplus(0.4)).abs() < 1e-6);
    }

    #[test]
    fn self_contrastive_by_hand() {
        // Views a = [(1,0), (0,1)], b = [(1,0), (0.6,0.8)] of entities [0, 1], scale 1.
        // Dot products: a0·a1 = 0, a0·b0 = 1, a0·b1 = 0.6, a1·b0 = 0, a1·b1 = 0.8, b0·b1 = 0.6.
        // Each anchor: −ln(e^pos / (e^pos + Σ e^others)).
        let l = |pos: f64, others: &[f64]| {
            -(pos.exp() / (pos.exp() + others.iter().map(|x| x.exp()).sum::<f64>())).ln()
        };
        let expected = (l(1.0, &[0.0, 0.6]) // a0: positive b0; a1, b1
            + l(0.8, &[0.0, 0.0]) // a1: positive b1; a0, b0
            + l(1.0, &[0.0, 0.6]) // b0: positive a0; a1, b1
            + l(0.8, &[0.6, 0.6])) // b1: positive a1; a0, b0
            / 4.0;
        let loss = image_self_contrastive(
            tensor(&[[1.0, 0.0], [0.0, 1.0]]),
            tensor(&[[1.0, 0.0], [0.6, 0.8]]),
            &[0, 1],
            scale(1.0),
        );
        assert!(
            (f64::from(scalar(loss)) - expected).abs() < 1e-6,
            "{expected}"
        );
    }

    #[test]
    fn self_contrastive_treats_same_entity_images_as_positives() {
        // Entity 0 has two images: each anchor has 3 positives among the 3 others → with identical
        // vectors everywhere, log_prob = ln(1/3) for every pair, loss = ln 3.
        let v = tensor(&[[1.0, 0.0], [1.0, 0.0]]);
        let loss = image_self_contrastive(v.clone(), v, &[0, 0], scale(1.0));
        assert!((f64::from(scalar(loss)) - 3f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn hard_negatives_are_the_most_similar_other_entities() {
        let images = [1.0, 0.0, 0.8, 0.6, 0.0, 1.0, 1.0, 0.0];
        let entities = [0, 1, 2, 0];
        let chosen = hard_negative_candidates(&images, &entities, None, 2);
        // Image 0 = (1,0): same-entity image 3 excluded; 1 (0.8) before 2 (0.0).
        assert_eq!(chosen[0], vec![1, 2]);
        assert_eq!(chosen[2], vec![1, 0]); // (0,1): image 1 scores 0.6, then 0 and 3 tie at 0 → lower index
        let mut bank = MemoryBank::new(2, 2);
        bank.push(&[0.0, -1.0, 0.9, 0.1], &[5, 6]);
        let chosen = hard_negative_candidates(&images, &entities, Some(&bank), 1);
        assert_eq!(chosen[0], vec![5]); // bank entry 1 (index 4 + 1), similarity 0.9
    }

    #[test]
    fn hard_negative_by_hand_with_padding() {
        // t0 = (1,0), v0 = (0.8,0.6), negatives of 0: [v1 = (0.6,0.8)]; of 1: none (padded).
        // Row 0 logits (scale 1): own 0.8, negative 0.6 → softplus(−0.2).
        // Row 1: t1 = (0,1), v1 = (0.6,0.8): only its own logit → loss 0.
        let loss = hard_negative(
            tensor(&[[1.0, 0.0], [0.0, 1.0]]),
            tensor(&[[0.8, 0.6], [0.6, 0.8]]),
            None,
            &[vec![1], vec![]],
            scale(1.0),
        );
        let expected = softplus(-0.2) / 2.0;
        assert!((f64::from(scalar(loss)) - expected).abs() < 1e-6);
    }

    /// Central finite differences against autodiff, through L2 normalisation, for all three losses.
    #[test]
    fn gradients_match_finite_differences() {
        use photolink_core::towers::minilm::l2_normalize;
        use photolink_kb::rng::SplitMix64;

        let device = Device::flex().autodiff();
        let (b, d) = (4, 3);
        let mut rng = SplitMix64::new(11);
        let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
        let images = random(b * d);
        let views = random(b * d);
        let texts = random(b * d);
        let entities = [0, 1, 2, 0];
        let candidates = hard_negative_candidates(&images, &entities, None, 2);

        // The loss as a function of the (unnormalised) image vectors.
        let loss_of = |x: &[f32], which: usize, grad: bool| -> (f32, Option<Vec<f32>>) {
            let mut input = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [b, d]), &device);
            if grad {
                input = input.require_grad();
            }
            let v = l2_normalize(input.clone());
            let other = |data: &[f32]| {
                l2_normalize(Tensor::<2>::from_data(
                    TensorData::new(data.to_vec(), [b, d]),
                    &device,
                ))
            };
            let scale = Tensor::<1>::from_data(TensorData::new(vec![3.0f32], [1]), &device);
            let loss = match which {
                0 => cross_modal_infonce(v, other(&texts), scale),
                1 => image_self_contrastive(v, other(&views), &entities, scale),
                _ => hard_negative(other(&texts), v, None, &candidates, scale),
            };
            let value = loss.clone().into_data().try_into_vec_as::<f32>().unwrap()[0];
            let g = grad.then(|| {
                let grads = loss.backward();
                input
                    .grad(&grads)
                    .unwrap()
                    .into_data()
                    .try_into_vec_as::<f32>()
                    .unwrap()
            });
            (value, g)
        };
        for which in 0..3 {
            let (_, analytic) = loss_of(&images, which, true);
            let analytic = analytic.unwrap();
            let h = 1e-2f32;
            for i in 0..images.len() {
                let mut plus = images.clone();
                plus[i] += h;
                let mut minus = images.clone();
                minus[i] -= h;
                let numeric =
                    (loss_of(&plus, which, false).0 - loss_of(&minus, which, false).0) / (2.0 * h);
                let error = (numeric - analytic[i]).abs();
                assert!(
                    error <= 2e-3 + 2e-2 * analytic[i].abs(),
                    "loss {which}, coordinate {i}: numeric {numeric}, autodiff {}",
                    analytic[i]
                );
            }
        }
    }
}
