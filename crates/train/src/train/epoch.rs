//! One epoch: seeded batches of distinct entities, a step on each, and the epoch's metrics.

use super::*;

/// Batches of training-mention indices with distinct entities, in a seeded order.
pub(super) fn batches(
    train_entities: &[usize],
    batch_size: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..train_entities.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    batches_in_order(order, train_entities, batch_size)
}

/// Batches whose entities have similar texts, so that the in-batch negatives are near-twins: the
/// mentions sorted by which side of 16 seeded random hyperplanes their entity's frozen text vector
/// (`texts`, `[entities, dim]`) falls on, ties in a seeded order. New hyperplanes each epoch.
pub(super) fn similar_text_batches(
    train_entities: &[usize],
    texts: &[f32],
    dim: usize,
    batch_size: usize,
    rng: &mut SplitMix64,
) -> Vec<Vec<usize>> {
    const PLANES: usize = 16;
    let planes: Vec<f32> = (0..PLANES * dim).map(|_| rng.normal() as f32).collect();
    let code = |e: usize| -> u32 {
        let v = &texts[e * dim..(e + 1) * dim];
        planes
            .chunks(dim)
            .enumerate()
            .fold(0, |code, (bit, plane)| {
                let side = plane.iter().zip(v).map(|(p, x)| p * x).sum::<f32>() >= 0.0;
                code | (u32::from(side) << bit)
            })
    };
    let mut keyed: Vec<(u32, u64, usize)> = (0..train_entities.len())
        .map(|m| (code(train_entities[m]), rng.next_u64(), m))
        .collect();
    keyed.sort_unstable();
    batches_in_order(
        keyed.into_iter().map(|(_, _, m)| m).collect(),
        train_entities,
        batch_size,
    )
}

/// `order` cut into batches of distinct entities: a mention whose entity is already in the open
/// batch waits for the next one.
fn batches_in_order(
    order: Vec<usize>,
    train_entities: &[usize],
    batch_size: usize,
) -> Vec<Vec<usize>> {
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut deferred = Vec::new();
    let mut pending: std::collections::VecDeque<usize> = order.into();
    // Fill each batch with mentions of distinct entities; a clash waits for the next batch.
    while !pending.is_empty() || !deferred.is_empty() {
        pending.extend(deferred.drain(..));
        let mut taken = std::collections::HashSet::new();
        let rounds = pending.len();
        for _ in 0..rounds {
            let m = pending.pop_front().expect("counted");
            if open.len() < batch_size && taken.insert(train_entities[m]) {
                open.push(m);
            } else {
                deferred.push(m);
            }
        }
        if open.len() >= 2 {
            batches.push(std::mem::take(&mut open));
        } else {
            // A single leftover cannot be contrasted with anything.
            open.clear();
            deferred.clear();
        }
    }
    batches
}

pub(super) fn run_epoch(
    mut model: DualEncoder,
    optimizers: &mut Optimizers,
    ctx: &Context,
    config: &TrainConfig,
    epoch: usize,
    parallel: &DataParallel,
) -> Result<(DualEncoder, EpochMetrics), TrainError> {
    let device = parallel.main();
    let started = Instant::now();
    let mut rng = SplitMix64::new(config.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let plan = match config.batches {
        BatchGrouping::Random => batches(&ctx.train_entities, config.batch_size, &mut rng),
        BatchGrouping::SimilarTexts => similar_text_batches(
            &ctx.train_entities,
            &ctx.features.text,
            minilm::HIDDEN,
            config.batch_size,
            &mut rng,
        ),
    };
    let f = ctx.features;
    // Values of one cached view (the frozen stages' output), not the shared space's `config.dim`.
    let view_len = f.dim;
    let mut bank = MemoryBank::new(config.memory_bank, config.dim);
    let (mut sum, mut sum_cm, mut sum_self, mut sum_hard) = (0.0, 0.0, 0.0, 0.0);
    let mut images = 0usize;
    let progress = bar(plan.len(), format!("epoch {epoch}/{}", config.epochs));
    for (step, batch) in plan.iter().enumerate() {
        let b = batch.len();
        let entities: Vec<usize> = batch.iter().map(|&m| ctx.train_entities[m]).collect();
        // Two different cached views of each photo.
        let (mut a, mut v) = (
            Vec::with_capacity(b * view_len),
            Vec::with_capacity(b * view_len),
        );
        for &m in batch {
            let first = rng.below(f.views as u64) as usize;
            let second =
                (first + 1 + rng.below(f.views.max(2) as u64 - 1) as usize) % f.views.max(1);
            a.extend_from_slice(f.view(m, first));
            v.extend_from_slice(f.view(m, second));
        }
        let texts = ctx.text_input(&entities, device);
        // Cosine decay to zero over the whole run: the last epochs settle instead of jittering, so
        // the final weights (the ones exported and evaluated) are not a lucky or unlucky step.
        let done = (epoch - 1) as f64 + step as f64 / plan.len() as f64;
        let lr = config.learning_rate
            * 0.5
            * (1.0 + (std::f64::consts::PI * done / config.epochs as f64).cos());
        let batch = StepBatch {
            shape: f.shape,
            view_a: a,
            view_b: v,
            texts,
            entities,
        };
        let (next, losses) = train_step(model, optimizers, &batch, &mut bank, config, lr, parallel)
            .map_err(|value| TrainError::NonFinite {
                epoch,
                step: step + 1,
                value,
            })?;
        model = next;
        sum += f64::from(losses.total);
        sum_cm += f64::from(losses.infonce);
        sum_self += f64::from(losses.self_contrastive);
        sum_hard += f64::from(losses.hard_negative);
        images += 2 * b;
        progress.set_prefix(format!("loss {:.4}", sum / (step + 1) as f64));
        progress.inc(1);
    }
    progress.finish();
    let steps = plan.len().max(1) as f64;
    let seconds = started.elapsed().as_secs_f64();
    let dev = ctx.evaluate(&model, Split::Dev, device);
    let scale = scalar(&model.heads.scale());
    let metrics = EpochMetrics {
        epoch,
        loss: sum / steps,
        loss_infonce: sum_cm / steps,
        loss_self: sum_self / steps,
        loss_hard: sum_hard / steps,
        dev_acc1: dev.all.acc1,
        temperature: 1.0 / f64::from(scale),
        images_per_second: images as f64 / seconds.max(1e-9),
    };
    eprintln!(
        "epoch {epoch}: loss {:.4} (infonce {:.4}, self {:.4}, hard {:.4}), dev acc@1 {:.1}%, τ {:.4}, {:.0} images/s",
        metrics.loss,
        metrics.loss_infonce,
        metrics.loss_self,
        metrics.loss_hard,
        100.0 * metrics.dev_acc1,
        metrics.temperature,
        metrics.images_per_second
    );
    Ok((model, metrics))
}

pub(super) fn scalar(t: &Tensor<1>) -> f32 {
    t.clone().into_data().try_into_vec_as::<f32>().expect("f32")[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similar_text_batches_keep_near_twins_together_and_every_mention_once() {
        // Entities 0..8 have texts near one direction, 8..16 near the opposite one.
        let dim = 4;
        let texts: Vec<f32> = (0..16)
            .flat_map(|e| {
                let sign = if e < 8 { 1.0 } else { -1.0 };
                [sign, sign * 0.5, 0.01 * e as f32, -sign]
            })
            .collect();
        let entities: Vec<usize> = (0..16).collect();
        for seed in 0..5 {
            let mut rng = SplitMix64::new(seed);
            let plan = similar_text_batches(&entities, &texts, dim, 8, &mut rng);
            let mut seen: Vec<usize> = plan.iter().flatten().copied().collect();
            seen.sort_unstable();
            assert_eq!(seen, entities);
            for batch in &plan {
                let first_half = batch.iter().filter(|&&m| m < 8).count();
                assert!(first_half == 0 || first_half == batch.len(), "{plan:?}");
            }
        }
        // Random batches mix them (seed 1: not all batches pure).
        let mut rng = SplitMix64::new(1);
        let plan = batches(&entities, 8, &mut rng);
        assert!(
            plan.iter()
                .any(|b| b.iter().any(|&m| m < 8) && b.iter().any(|&m| m >= 8))
        );
    }
}
