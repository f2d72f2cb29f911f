//! Tests of a training step and of the towers it fine-tunes.

use super::*;
use burn::tensor::Int;
use photolink_core::towers::facenet::FaceNet;

fn weights(net: &FaceNet) -> [Vec<f32>; 3] {
    let read = |t: Tensor<4>| t.into_data().try_into_vec_as::<f32>().expect("f32");
    [
        read(net.blocks[12].conv1.weight.val()),
        read(net.blocks[13].conv1.weight.val()),
        net.fc
            .weight
            .val()
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32"),
    ]
}

/// `model` after one optimiser step on `batch` at a large learning rate.
fn one_step(
    model: DualEncoder,
    config: &TrainConfig,
    batch: &StepBatch,
    device: &Device,
) -> DualEncoder {
    let mut optimizers = Optimizers::new(config);
    let mut bank = MemoryBank::new(0, config.dim);
    let (model, losses) = train_step(
        model,
        &mut optimizers,
        batch,
        &mut bank,
        config,
        1e-2,
        &DataParallel::single(device.clone()),
    )
    .expect("finite loss");
    assert!(losses.total.is_finite());
    model
}

/// A FaceNet tower whose last `unfreeze` stages train, the stage they start at, and the shape
/// `[c, h, w]` of the cached activations they read.
fn facenet_tuned(unfreeze: usize, device: &Device) -> (ImageTower, usize, [usize; 3]) {
    let kind = ImageTowerKind::Facenet;
    let first_trained = kind.stages() - unfreeze;
    let tower = ImageTower::new(kind, device);
    let probe = tower.run_stages(Tensor::zeros([1, 3, 150, 150], device), 0..first_trained);
    let [_, c, h, w] = probe.dims();
    (tower, first_trained, [c, h, w])
}

#[test]
fn fine_tuning_steps_only_the_trained_stages() {
    let device = Device::flex().autodiff();
    let kind = ImageTowerKind::Facenet;
    let mut config = TrainConfig::new(PathBuf::from("unused"), kind);
    config.unfreeze_image = 2;
    let (tower, first_trained, [c, h, w]) = facenet_tuned(2, &device);
    let ImageTower::Facenet(net) = &tower else {
        unreachable!("built as FaceNet")
    };
    let before = weights(net);
    let model = DualEncoder {
        heads: HeadsConfig::new(kind).init(1, &device),
        tower: Some(tower),
        first_trained,
        text_tower: None,
        first_text_trained: minilm::STAGES,
    };
    let mut rng = SplitMix64::new(5);
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let b = 4;
    let texts = Tensor::from_data(
        TensorData::new(random(b * minilm::HIDDEN), [b, minilm::HIDDEN]),
        &device,
    );
    let batch = StepBatch {
        shape: [c, h, w],
        view_a: random(b * c * h * w),
        view_b: random(b * c * h * w),
        texts: TextInput::Vectors(texts),
        entities: (0..b).collect(),
    };
    let model = one_step(model, &config, &batch, &device);
    let Some(ImageTower::Facenet(net)) = &model.tower else {
        panic!("the tower is kept")
    };
    let after = weights(net);
    assert_eq!(before[0], after[0], "a frozen stage (block 13) changed");
    assert_ne!(before[1], after[1], "the trained block 14 did not change");
    assert_ne!(before[2], after[2], "the trained projection did not change");
}

#[test]
fn stage_by_stage_equals_the_whole_tower() {
    let device = Device::flex();
    for kind in [ImageTowerKind::Facenet, ImageTowerKind::EfficientnetLite0] {
        let tower = ImageTower::new(kind, &device);
        let side = kind.input_size();
        let mut rng = SplitMix64::new(9);
        let pixels: Vec<f32> = (0..2 * 3 * side * side)
            .map(|_| rng.normal() as f32)
            .collect();
        let images = Tensor::<4>::from_data(TensorData::new(pixels, [2, 3, side, side]), &device);
        let whole = tower
            .features(images.clone())
            .into_data()
            .try_into_vec_as::<f32>()
            .expect("f32");
        for cut in [0, 1, kind.stages() - 2, kind.stages()] {
            let split =
                tower.run_stages(tower.run_stages(images.clone(), 0..cut), cut..kind.stages());
            let split = split.into_data().try_into_vec_as::<f32>().expect("f32");
            assert_eq!(whole.len(), split.len());
            let worst = whole
                .iter()
                .zip(&split)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-5,
                "{} cut at {cut}: max |diff| {worst}",
                kind.name()
            );
        }
    }
}

/// Token ids `[n, len]` with a mask whose row `i` has `lengths[i]` real tokens ([CLS] … [SEP]).
fn tokens(lengths: &[usize], len: usize, device: &Device) -> (Tensor<2, Int>, Tensor<2>) {
    let mut rng = SplitMix64::new(11);
    let mut ids = Vec::new();
    let mut mask = Vec::new();
    for &n in lengths {
        for t in 0..len {
            ids.push(if t < n {
                1000 + rng.below(20_000) as i64
            } else {
                0
            });
            mask.push(if t < n { 1.0 } else { 0.0 });
        }
    }
    let shape = [lengths.len(), len];
    (
        Tensor::from_data(TensorData::new(ids, shape), device),
        Tensor::from_data(TensorData::new(mask, shape), device),
    )
}

fn max_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    let a = a.into_data().try_into_vec_as::<f32>().expect("f32");
    let b = b.into_data().try_into_vec_as::<f32>().expect("f32");
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn text_tower_stage_by_stage_and_trimmed_equals_the_whole_tower() {
    let device = Device::flex();
    let net = MiniLm::new(&device);
    let (ids, mask) = tokens(&[9, 5], 12, &device);
    let whole = net.forward(ids.clone(), mask.clone());
    for cut in 1..=minilm::STAGES {
        let front = net.run_layers(net.embed(ids.clone()), mask.clone(), 1..cut);
        let split = minilm::pool(
            net.run_layers(front, mask.clone(), cut..minilm::STAGES),
            mask.clone(),
        );
        let worst = max_diff(whole.clone(), split);
        assert!(worst < 1e-5, "cut at {cut}: max |diff| {worst}");
    }
    // Padding beyond a batch's longest text changes nothing (TextStates trims it).
    let trimmed_ids = ids.slice([0..2, 0..9]);
    let trimmed_mask = mask.slice([0..2, 0..9]);
    let worst = max_diff(whole, net.forward(trimmed_ids, trimmed_mask));
    assert!(worst < 1e-5, "trimmed padding: max |diff| {worst}");
}

#[test]
fn every_text_input_kind_gives_the_frozen_towers_vectors() {
    let device = Device::flex();
    let kind = ImageTowerKind::Facenet;
    let net = MiniLm::new(&device);
    let (ids, mask) = tokens(&[6, 3, 8], 8, &device);
    let heads = HeadsConfig::new(kind).init(2, &device);
    let expected = heads.embed_texts(net.forward(ids.clone(), mask.clone()));
    let model = |first_text_trained: usize, text_tower: Option<MiniLm>| DualEncoder {
        heads: heads.clone(),
        tower: None,
        first_trained: kind.stages(),
        text_tower,
        first_text_trained,
    };
    // Frozen: the sentence vectors themselves.
    let vectors = TextInput::Vectors(net.forward(ids.clone(), mask.clone()));
    let frozen = model(minilm::STAGES, None).embed_text_input(vectors);
    // Fully trained: token ids through every stage.
    let tokens = TextInput::Tokens(ids.clone(), mask.clone());
    let full = model(0, Some(net.clone())).embed_text_input(tokens);
    // Last 3 stages trained: the states of the first 4.
    let states = net.run_layers(net.embed(ids), mask.clone(), 1..4);
    let partly = model(4, Some(net)).embed_text_input(TextInput::States(states, mask));
    for (what, got) in [("frozen", frozen), ("full", full), ("partly", partly)] {
        let worst = max_diff(expected.clone(), got);
        assert!(worst < 1e-5, "{what}: max |diff| {worst}");
    }
}

#[test]
fn text_fine_tuning_steps_only_the_trained_layers() {
    let device = Device::flex().autodiff();
    let kind = ImageTowerKind::Facenet;
    let mut config = TrainConfig::new(PathBuf::from("unused"), kind);
    config.unfreeze_text = 1;
    let first_text_trained = minilm::STAGES - 1;
    let net = MiniLm::new(&device);
    let (ids, mask) = tokens(&[7, 4, 6, 5], 7, &device);
    // Detached, as the trainer's states are: they come from host memory.
    let states = net
        .run_layers(net.embed(ids), mask.clone(), 1..first_text_trained)
        .detach();
    let read = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().expect("f32");
    let layer_weights =
        |net: &MiniLm| [4, 5].map(|l| read(net.encoder.layer[l].intermediate.dense.weight.val()));
    let before = layer_weights(&net);
    let model = DualEncoder {
        heads: HeadsConfig::new(kind).init(1, &device),
        tower: None,
        first_trained: kind.stages(),
        text_tower: Some(net),
        first_text_trained,
    };
    let mut rng = SplitMix64::new(5);
    let b = 4;
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let dim = kind.feature_dim();
    let batch = StepBatch {
        shape: [dim, 1, 1],
        view_a: random(b * dim),
        view_b: random(b * dim),
        texts: TextInput::States(states, mask),
        entities: (0..b).collect(),
    };
    let model = one_step(model, &config, &batch, &device);
    let after = layer_weights(model.text_tower.as_ref().expect("the text tower is kept"));
    assert_eq!(before[0], after[0], "the frozen layer 5 changed");
    assert_ne!(before[1], after[1], "the trained layer 6 did not change");
}

/// The losses of `steps` optimiser steps from `model` on `batches` (cycled), with the batch shared
/// out over `parallel`, and the weights the steps end with: [heads' image projection, the tuned
/// image stage's projection, the tuned text layer's dense weights].
fn losses_over(
    model: &DualEncoder,
    batches: &[StepBatch],
    steps: usize,
    config: &TrainConfig,
    parallel: &DataParallel,
) -> (Vec<StepLosses>, [Vec<f32>; 3]) {
    // A fresh copy of the same weights (new autodiff leaves, same parameter ids) for each run.
    let mut model = model.clone().fork(parallel.main());
    let mut optimizers = Optimizers::new(config);
    let mut bank = MemoryBank::new(config.memory_bank, config.dim);
    let mut losses = Vec::new();
    for step in 0..steps {
        let batch = &batches[step % batches.len()];
        let lr = 1e-3;
        let (next, step_losses) = train_step(
            model,
            &mut optimizers,
            batch,
            &mut bank,
            config,
            lr,
            parallel,
        )
        .expect("finite loss");
        model = next;
        losses.push(step_losses);
    }
    let read2 = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().expect("f32");
    let Some(ImageTower::Facenet(net)) = &model.tower else {
        panic!("the tower is kept")
    };
    let text = model.text_tower.as_ref().expect("the text tower is kept");
    (
        losses,
        [
            read2(model.heads.image.weight.val()),
            read2(net.fc.weight.val()),
            read2(text.encoder.layer[5].intermediate.dense.weight.val()),
        ],
    )
}

#[test]
fn two_and_three_cpu_devices_give_the_losses_of_one_with_the_same_global_batch() {
    let device = Device::flex().autodiff();
    let kind = ImageTowerKind::Facenet;
    let mut config = TrainConfig::new(PathBuf::from("unused"), kind);
    config.unfreeze_image = 1;
    config.unfreeze_text = 1;
    config.hard_k = 3;
    config.memory_bank = 16;
    let (tower, first_trained, [c, h, w]) = facenet_tuned(1, &device);
    let first_text_trained = minilm::STAGES - 1;
    let net = MiniLm::new(&device);
    let model = DualEncoder {
        heads: HeadsConfig::new(kind).init(3, &device),
        tower: Some(tower),
        first_trained,
        text_tower: Some(net.clone()),
        first_text_trained,
    };
    // Two global batches of 7 entities (shares of 4+3 on two devices, 3+2+2 on three).
    let mut rng = SplitMix64::new(21);
    let mut random = |n: usize| -> Vec<f32> { (0..n).map(|_| rng.normal() as f32).collect() };
    let b = 7;
    let batches: Vec<StepBatch> = (0..2)
        .map(|i| {
            let (ids, mask) = tokens(&[7, 4, 6, 5, 3, 7, 2], 7, &device);
            let states = net
                .run_layers(net.embed(ids), mask.clone(), 1..first_text_trained)
                .detach();
            StepBatch {
                shape: [c, h, w],
                view_a: random(b * c * h * w),
                view_b: random(b * c * h * w),
                texts: TextInput::States(states, mask),
                entities: (i * b..(i + 1) * b).collect(),
            }
        })
        .collect();
    let steps = 4;
    let (one, one_weights) = losses_over(
        &model,
        &batches,
        steps,
        &config,
        &DataParallel::single(device.clone()),
    );
    for devices in [2, 3] {
        let parallel = DataParallel::replicated(device.clone(), devices);
        let (many, many_weights) = losses_over(&model, &batches, steps, &config, &parallel);
        for (step, (a, b)) in one.iter().zip(&many).enumerate() {
            for (what, x, y) in [
                ("total", a.total, b.total),
                ("infonce", a.infonce, b.infonce),
                ("self", a.self_contrastive, b.self_contrastive),
                ("hard", a.hard_negative, b.hard_negative),
            ] {
                assert!(
                    (x - y).abs() <= 1e-4 * x.abs().max(1.0),
                    "{devices} devices, step {}: {what} loss {y} against {x} on one device",
                    step + 1
                );
            }
        }
        // The losses moved: the steps trained something.
        assert_ne!(one[0].total, one[steps - 1].total);
        for (what, a, b) in [
            ("heads", &one_weights[0], &many_weights[0]),
            ("image stage", &one_weights[1], &many_weights[1]),
            ("text layer", &one_weights[2], &many_weights[2]),
        ] {
            let worst = a
                .iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst <= 1e-4,
                "{devices} devices: {what} weights differ by {worst}"
            );
        }
    }
}
