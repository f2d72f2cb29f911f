//! Training is reproducible on the CPU backend, and a run killed mid-way (SIGKILL, no chance to
//! clean up) and resumed with `--resume` ends with exactly the metrics and weights of an uninterrupted
//! run: no epoch is lost or repeated, and the checkpoint survives the kill — with a frozen image
//! tower, and with the last stages of both towers fine-tuned (whose weights and optimiser states
//! must survive too; the exported bundle then carries the tuned image tower and KB vectors encoded
//! by the tuned text tower). `--devices 2` (each batch shared out over two replicas) gives the
//! metrics of one device with the same batches.
//! Needs the converted towers (`photolink assets fetch`).

#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use image::{ImageBuffer, Rgb};

const EPOCHS: usize = 60;

/// A tiny benchmark: eight entities, each a coloured shape; dev and test are shifted copies. The
/// discs name their training image as a reference picture, the bars none.
fn synthetic_benchmark(dir: &Path) {
    let colours = [
        ("red", [220u8, 30, 30]),
        ("green", [30, 200, 60]),
        ("blue", [30, 60, 220]),
        ("yellow", [230, 220, 40]),
    ];
    std::fs::create_dir_all(dir.join("images")).unwrap();
    let mut kb = String::new();
    let mut mentions = String::new();
    for (c, (colour, rgb)) in colours.iter().enumerate() {
        for (s, shape) in ["disc", "bar"].iter().enumerate() {
            let id = format!("{colour}-{shape}");
            let images = match *shape {
                "disc" => format!(",\"images\":[\"{id}-train.png\"]"),
                _ => String::new(),
            };
            kb += &format!(
                "{{\"id\":\"{id}\",\"name\":\"{colour} {shape}\",\"description\":\"a {colour} {shape} on grey\"{images}}}\n"
            );
            for (split, shift) in [("train", 0i32), ("dev", 6), ("test", -5)] {
                let img = ImageBuffer::from_fn(96, 96, |x, y| {
                    let (x, y) = (x as i32 - 48 - shift, y as i32 - 48 + shift);
                    let inside = if s == 0 {
                        x * x + y * y < 700
                    } else {
                        x.abs() < 34 && y.abs() < 9
                    };
                    if inside {
                        Rgb(*rgb)
                    } else {
                        Rgb([128u8 + c as u8 * 9, 128, 128])
                    }
                });
                let file = format!("{id}-{split}.png");
                img.save(dir.join("images").join(&file)).unwrap();
                mentions += &format!(
                    "{{\"image\":\"{file}\",\"entity\":\"{id}\",\"split\":\"{split}\"}}\n"
                );
            }
        }
    }
    std::fs::write(dir.join("kb.jsonl"), kb).unwrap();
    std::fs::write(dir.join("mentions.jsonl"), mentions).unwrap();
}

fn train_command(data: &Path, out: &Path, extra: &[&str]) -> Command {
    train_command_for(EPOCHS, data, out, extra)
}

fn train_command_for(epochs: usize, data: &Path, out: &Path, extra: &[&str]) -> Command {
    let models = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_photolink"));
    cmd.args([
        "train",
        "--image-tower",
        "efficientnet_lite0",
        "--device",
        "cpu",
    ])
    .args([
        "--epochs",
        &epochs.to_string(),
        "--batch-size",
        "4",
        "--views",
        "2",
        "--seed",
        "3",
    ])
    .arg("--data")
    .arg(data)
    .arg("--models")
    .arg(models)
    .arg("--out")
    .arg(out)
    .args(extra);
    cmd
}

/// metrics.jsonl without the wall-clock throughput, which differs between any two runs.
fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("images_per_second");
            v
        })
        .collect()
}

#[test]
fn resume_after_kill_loses_no_epoch() {
    let root = kill_and_resume("frozen", &[]);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn fine_tuned_run_resumes_after_kill_and_exports_its_towers() {
    let root = kill_and_resume(
        "tuned",
        &[
            "--unfreeze-image",
            "2",
            "--tower-lr",
            "1e-3",
            "--unfreeze-text",
            "1",
            "--text-lr",
            "1e-3",
        ],
    );
    let run = root.join("killed");
    assert!(run.join("image-tower.bpk").exists());
    assert!(run.join("text-tower.bpk").exists());
    // The exported bundle carries the fine-tuned tower: its image weights differ from those of a
    // bundle exported from a frozen run of the same benchmark.
    let export_command = |run: &Path, kb: &Path, out: &Path, weight: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_photolink"));
        cmd.arg("export")
            .arg("--run")
            .arg(run)
            .arg("--kb")
            .arg(kb)
            .arg("--out")
            .arg(out)
            .args(["--reference-weight", weight]);
        cmd
    };
    let export_weighted = |run: &Path, out: &Path, weight: &str| {
        let kb = root.join("bench/kb.jsonl");
        let status = export_command(run, &kb, out, weight).status().unwrap();
        assert!(status.success(), "export of {} failed", run.display());
        std::fs::read(out.join("image-f32.bpk")).unwrap()
    };
    // Text only: check_kb_vectors compares every row with the text tower's vector.
    let export = |run: &Path, out: &Path| export_weighted(run, out, "0");
    let frozen = root.join("frozen");
    let status = train_command(&root.join("bench"), &frozen, &[])
        .status()
        .unwrap();
    assert!(status.success(), "frozen run failed");
    let tuned_weights = export(&run, &root.join("bundle-tuned"));
    let frozen_weights = export(&frozen, &root.join("bundle-frozen"));
    assert_eq!(tuned_weights.len(), frozen_weights.len());
    assert_ne!(
        tuned_weights, frozen_weights,
        "the fine-tuned tower was not exported"
    );
    check_embed_pixels(&root.join("bundle-tuned"), &root.join("bench/images"));
    check_tampered_weights(&root.join("bundle-tuned"), &root.join("bundle-tampered"));
    check_kb_vectors(
        &run,
        &root.join("bench/kb.jsonl"),
        &root.join("bundle-tuned"),
    );

    // Reference pictures: fused into the discs' rows, refused when one cannot be read.
    export_weighted(&frozen, &root.join("bundle-refs"), "1");
    check_reference_fusion(
        &root.join("bundle-frozen"),
        &root.join("bundle-refs"),
        &root.join("bench/images"),
    );
    check_fused_rows(
        &frozen,
        &root.join("bench/kb.jsonl"),
        &root.join("bundle-refs"),
        &root.join("bench/images"),
        0,
    );
    // With augmented views of each picture averaged in.
    let views = root.join("bundle-views");
    let status = export_command(&frozen, &root.join("bench/kb.jsonl"), &views, "1")
        .args(["--reference-views", "3"])
        .status()
        .unwrap();
    assert!(status.success(), "export with --reference-views failed");
    check_fused_rows(
        &frozen,
        &root.join("bench/kb.jsonl"),
        &views,
        &root.join("bench/images"),
        3,
    );
    let eval = Command::new(env!("CARGO_BIN_EXE_photolink"))
        .args(["eval", "--references", "--reference-weights", "1", "--run"])
        .arg(&frozen)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&eval.stdout);
    assert!(
        eval.status.success(),
        "{}",
        String::from_utf8_lossy(&eval.stderr)
    );
    for row in [
        "4 of 8 entities name some",
        "| text only |",
        "| text + 1 × references |",
        "| references alone |",
    ] {
        assert!(report.contains(row), "{row} not in:\n{report}");
    }
    let kb = std::fs::read_to_string(root.join("bench/kb.jsonl")).unwrap();
    let broken = root.join("bench/kb-broken.jsonl");
    std::fs::write(&broken, kb.replace("red-disc-train.png", "gone.png")).unwrap();
    for (weight, fails) in [("1", true), ("0", false)] {
        let out = export_command(&frozen, &broken, &root.join("bundle-broken"), weight)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(!out.status.success(), fails, "weight {weight}: {stderr}");
        if fails {
            assert!(
                stderr.contains("reference image of entity \"red-disc\"")
                    && stderr.contains("gone.png"),
                "{stderr}"
            );
        }
    }
    let absurd = export_command(&frozen, &broken, &root.join("bundle-absurd"), "NaN")
        .output()
        .unwrap();
    assert!(!absurd.status.success());
    assert!(String::from_utf8_lossy(&absurd.stderr).contains("--reference-weight NaN"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn two_cpu_devices_train_as_one_with_the_same_global_batch() {
    // Few epochs: further on, the rounding differences of a gathered batch (the same sums in
    // another order) grow as any two float trainings' do; the step-level test bounds them.
    const EPOCHS: usize = 4;
    let root = std::env::temp_dir().join(format!("photolink-devices-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    synthetic_benchmark(&root.join("bench"));
    let tuned = [
        "--unfreeze-image",
        "2",
        "--unfreeze-text",
        "1",
        "--tower-lr",
        "1e-3",
    ];
    let run = |name: &str, devices: &str| {
        let out = root.join(name);
        let extra = [&tuned[..], &["--devices", devices]].concat();
        let status = train_command_for(EPOCHS, &root.join("bench"), &out, &extra)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "{name} failed");
        metrics(&out)
    };
    let (one, two) = (run("one", "1"), run("two", "2"));
    assert_eq!(one.len(), EPOCHS);
    assert_eq!(two.len(), EPOCHS);
    for (a, b) in one.iter().zip(&two) {
        for key in [
            "loss",
            "loss_infonce",
            "loss_self",
            "loss_hard",
            "temperature",
            "dev_acc1",
        ] {
            let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-3 * x.abs().max(1e-2),
                "epoch {}: {key} {y} on two devices, {x} on one",
                a["epoch"]
            );
        }
    }
    // The run learned: the loss fell.
    let loss = |m: &serde_json::Value| m["loss"].as_f64().unwrap();
    assert!(loss(&one[EPOCHS - 1]) < loss(&one[0]));
    std::fs::remove_dir_all(&root).unwrap();
}

/// A disc's training image, linked against the bundle whose disc rows fuse that very picture,
/// scores its entity higher than against the text-only bundle; the bars, which name no picture,
/// score as before.
fn check_reference_fusion(text_only: &Path, fused: &Path, images: &Path) {
    use photolink_core::backend::Compute;
    use photolink_core::linker::{LinkOptions, Linker};
    use photolink_core::photo::{DecodeLimits, decode};
    use photolink_core::towers::weights::Precision;

    let open = |dir: &Path| Linker::open(dir, Compute::cpu(), Precision::F32).unwrap();
    let (text_only, fused) = (open(text_only), open(fused));
    let scores = |linker: &Linker, file: &str| -> std::collections::HashMap<String, f32> {
        let bytes = std::fs::read(images.join(file)).unwrap();
        let photo = decode(&bytes, &DecodeLimits::default()).unwrap();
        let options = LinkOptions { k: 8, bbox: None };
        let subjects = pollster::block_on(linker.link(&photo, options)).unwrap();
        subjects[0]
            .matches
            .iter()
            .map(|m| (m.id.clone(), m.score))
            .collect()
    };
    for colour in ["red", "green", "blue", "yellow"] {
        let disc = format!("{colour}-disc");
        let file = format!("{disc}-train.png");
        let (before, after) = (scores(&text_only, &file), scores(&fused, &file));
        assert!(
            after[&disc] > before[&disc] + 1e-3,
            "{disc}: {} with its picture fused, {} without",
            after[&disc],
            before[&disc]
        );
        for bar in ["red", "green", "blue", "yellow"].map(|c| format!("{c}-bar")) {
            assert!(
                (after[&bar] - before[&bar]).abs() < 0.02,
                "{bar} names no picture but its score moved: {} → {}",
                before[&bar],
                after[&bar]
            );
        }
    }
}

/// The network alone on a preprocessed photo (`Linker::embed_pixels`, what the browser benchmark
/// times) gives the vector the linker computes from the photo, and refuses a tensor of the wrong
/// size or of more images than one batch.
fn check_embed_pixels(bundle: &Path, images: &Path) {
    use photolink_core::backend::Compute;
    use photolink_core::photo::{DecodeLimits, decode};
    use photolink_core::towers::weights::Precision;

    let linker =
        photolink_core::linker::Linker::open(bundle, Compute::cpu(), Precision::F32).unwrap();
    let kind = linker.config().image_tower;
    let mut files: Vec<_> = std::fs::read_dir(images)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let photo = decode(&std::fs::read(&files[0]).unwrap(), &DecodeLimits::default()).unwrap();
    let from_photo = pollster::block_on(linker.embed(std::slice::from_ref(&photo))).unwrap();
    let pixels = kind.preprocess(&photo);
    let alone = pollster::block_on(linker.embed_pixels(pixels.clone())).unwrap();
    assert_eq!(alone, from_photo);
    // The 8-bit weight files link the photo as the f32 ones do (within their quantisation).
    let eight_bit =
        photolink_core::linker::Linker::open(bundle, Compute::cpu(), Precision::U8).unwrap();
    let quantized = pollster::block_on(eight_bit.embed(std::slice::from_ref(&photo))).unwrap();
    let cosine = photolink_core::towers::golden::cosine(&quantized, &from_photo);
    assert!(cosine >= 0.99, "8-bit against f32 weights: cosine {cosine}");
    assert_ne!(
        quantized, from_photo,
        "the 8-bit file was not the one loaded"
    );
    let side = kind.input_size();
    assert!(pollster::block_on(linker.embed_pixels(pixels[1..].to_vec())).is_err());
    let too_many = vec![0.0; 17 * 3 * side * side];
    assert!(pollster::block_on(linker.embed_pixels(too_many)).is_err());
}

/// Every weight file is tied to the model identity, whichever precision is loaded, and `link`'s
/// loader verifies the listed files it does not load: f16 weights replaced with their manifest
/// entry re-hashed are refused (they used to link silently with wrong rankings), and so is a
/// damaged f16 file when only the f32 weights are loaded.
fn check_tampered_weights(bundle: &Path, scratch: &Path) {
    use photolink_core::backend::Compute;
    use photolink_core::linker::{LinkError, Linker};
    use photolink_core::towers::weights::Precision;
    use photolink_kb::{KbError, Manifest, Role};

    let copy = |to: &Path| {
        let _ = std::fs::remove_dir_all(to);
        std::fs::create_dir_all(to.join("kb")).unwrap();
        for entry in walk(bundle) {
            let rel = entry.strip_prefix(bundle).unwrap();
            std::fs::copy(&entry, to.join(rel)).unwrap();
        }
    };
    let open = |dir: &Path, precision| Linker::open(dir, Compute::cpu(), precision);
    for precision in Precision::ALL {
        assert!(open(bundle, precision).is_ok(), "the intact bundle");
    }
    let manifest_path = scratch.join("manifest.json");
    copy(scratch);
    let mut manifest = Manifest::parse(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let entry = manifest
        .files
        .iter_mut()
        .find(|f| f.is(Role::ImageF16))
        .unwrap();
    let weights = scratch.join(&entry.path);
    let mut bytes = std::fs::read(&weights).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&weights, &bytes).unwrap();
    // Not re-hashed: the f32 run does not load this file but still reports it.
    match open(scratch, Precision::F32) {
        Err(LinkError::Kb(KbError::ChecksumMismatch { path, .. })) => {
            assert_eq!(path, entry.path)
        }
        other => panic!("damaged f16 weights, f32 loaded: {:?}", other.err()),
    }
    // Re-hashed: the identity no longer matches, for either precision.
    entry.sha256 = photolink_kb::layout::sha256_hex(&bytes);
    std::fs::write(&manifest_path, manifest.to_json()).unwrap();
    for precision in Precision::ALL {
        match open(scratch, precision) {
            Err(LinkError::Kb(KbError::ModelMismatch { .. })) => {}
            other => panic!("re-hashed f16 weights: {:?}", other.err()),
        }
    }
    std::fs::remove_dir_all(scratch).unwrap();
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The bundle's KB rows are the tuned text tower's vectors (through the run's heads), which
/// differ from what the pretrained text tower would give.
fn check_kb_vectors(run: &Path, kb: &Path, bundle: &Path) {
    use burn::tensor::Device;
    use photolink_core::towers::minilm::MiniLm;
    use photolink_core::towers::weights::Precision;
    use photolink_train::assets;

    let device = Device::flex();
    let finished = photolink_train::train::finished_run(run, &device).unwrap();
    let tuned = finished
        .tuned_text_tower
        .as_ref()
        .expect("a tuned text tower");
    let models = &finished.config.models;
    let pretrained = assets::load(models, Precision::F32, MiniLm::new(&device)).unwrap();
    let (texts, tuned) = kb_text_vectors(&finished, kb, tuned);
    let (_, pretrained) = kb_text_vectors(&finished, kb, &pretrained);
    let dim = finished.config.dim;
    let cosine = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>();
    let closest = tuned
        .chunks(dim)
        .zip(pretrained.chunks(dim))
        .map(|(a, b)| cosine(a, b))
        .fold(f32::MIN, f32::max);
    assert!(
        closest < 0.999,
        "fine-tuning left the text vectors unchanged (cosine {closest})"
    );
    assert_bundle_rows(bundle, &tuned, dim, &texts);
}

/// Every row of the bundle exported from the frozen run `run` with reference pictures at weight 1
/// is, computed here independently, `normalize(t + r)` for an entity that names one picture (`t`
/// its text vector, `r` its picture's vector as the linker embeds a photo) and `t` for the others.
fn check_fused_rows(run: &Path, kb: &Path, fused: &Path, images: &Path, views: usize) {
    use burn::tensor::Device;
    use photolink_core::backend::Compute;
    use photolink_core::linker::Linker;
    use photolink_core::photo::{DecodeLimits, decode};
    use photolink_core::towers::minilm::MiniLm;
    use photolink_core::towers::weights::Precision;
    use photolink_train::assets;
    use photolink_train::references::ReferenceViews;

    let device = Device::flex();
    let finished = photolink_train::train::finished_run(run, &device).unwrap();
    assert!(finished.tuned_text_tower.is_none() && finished.tuned_tower.is_none());
    let models = &finished.config.models;
    let text_tower = assets::load(models, Precision::F32, MiniLm::new(&device)).unwrap();
    let (texts, text) = kb_text_vectors(&finished, kb, &text_tower);
    let linker = Linker::open(fused, Compute::cpu(), Precision::F32).unwrap();
    let dim = finished.config.dim;
    let mut expected = Vec::new();
    let unit_sum = |a: &[f32], b: &[f32]| -> Vec<f32> {
        let sum: Vec<f32> = a.iter().zip(b).map(|(a, b)| a + b).collect();
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        sum.iter().map(|x| x / norm).collect()
    };
    // The lowest cosine between a fused row and the row of its picture alone: the views must
    // move some row, or this check could not tell them from no views.
    let mut closest_to_picture_alone = 1f32;
    let entities = photolink_train::data::read_kb(kb).unwrap();
    for (entity, t) in entities.iter().zip(text.chunks(dim)) {
        match entity.images.as_slice() {
            [] => expected.extend_from_slice(t),
            [picture] => {
                let bytes = std::fs::read(images.join(picture)).unwrap();
                let photo = decode(&bytes, &DecodeLimits::default()).unwrap();
                // The picture's vector plus the mean of its views' (the run's augmentations),
                // made a unit vector.
                let drawn = ReferenceViews::new(views, finished.config.augment.clone())
                    .unwrap()
                    .draw(photo, &entity.id, picture)
                    .unwrap();
                assert_eq!(drawn.len(), 1 + views);
                let vectors = pollster::block_on(linker.embed(&drawn)).unwrap();
                let picture_alone = unit_sum(t, &vectors[..dim]);
                let mut r: Vec<f32> = vectors[..dim].to_vec();
                for view in vectors[dim..].chunks(dim) {
                    r.iter_mut()
                        .zip(view)
                        .for_each(|(r, v)| *r += v / views as f32);
                }
                let norm = r.iter().map(|x| x * x).sum::<f32>().sqrt();
                r.iter_mut().for_each(|x| *x /= norm);
                let fused = unit_sum(t, &r);
                let cosine: f32 = fused.iter().zip(&picture_alone).map(|(a, b)| a * b).sum();
                closest_to_picture_alone = closest_to_picture_alone.min(cosine);
                expected.extend(fused);
            }
            more => panic!("{}: one picture expected, not {}", entity.id, more.len()),
        }
    }
    if views > 0 {
        assert!(
            closest_to_picture_alone < 0.995,
            "the views did not move any fused row (cosine {closest_to_picture_alone})"
        );
    }
    assert_bundle_rows(fused, &expected, dim, &texts);
}

/// The KB's texts and their unit vectors in the shared space through `net` and the run's text
/// head (row-major, KB order).
fn kb_text_vectors(
    finished: &photolink_train::train::FinishedRun,
    kb: &Path,
    net: &photolink_core::towers::minilm::MiniLm,
) -> (Vec<String>, Vec<f32>) {
    use photolink_core::towers::tokenizer::TextTokenizer;

    let models = &finished.config.models;
    let tokenizer = TextTokenizer::from_file(&models.join("minilm/tokenizer.json")).unwrap();
    let texts: Vec<String> = photolink_train::data::read_kb(kb)
        .unwrap()
        .iter()
        .map(photolink_train::data::entity_text)
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let device = burn::tensor::Device::flex();
    let (ids, mask) = tokenizer.encode(&refs).unwrap().to_tensors(&device);
    let vectors = finished
        .heads
        .embed_texts(net.forward(ids, mask))
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap();
    (texts, vectors)
}

/// Row `i` of the bundle's int8 shards is `expected`'s vector `i`: it is the top hit of that
/// vector, at a score above 0.999.
fn assert_bundle_rows(bundle: &Path, expected: &[f32], dim: usize, texts: &[String]) {
    let reader = photolink_kb::BundleReader::open(bundle).unwrap();
    let shards = reader.load_shards().unwrap();
    for (entity, vector) in expected.chunks(dim).enumerate() {
        let query = photolink_kb::Query::new(vector, &reader.manifest().quantization).unwrap();
        let hit = &photolink_kb::search(&query, &shards, 1).unwrap()[0];
        assert_eq!(hit.index as usize, entity, "{}", texts[entity]);
        assert!(
            hit.score > 0.999,
            "{}: bundle row vs expected vector {}",
            texts[entity],
            hit.score
        );
    }
}

/// Trains a reference run and a run killed after its fifth epoch and resumed, with the `extra`
/// options, checks that they end alike, and returns the scratch folder.
fn kill_and_resume(name: &str, extra: &[&str]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("photolink-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("bench");
    synthetic_benchmark(&data);

    // The uninterrupted reference run (it also fills the feature cache both runs share).
    let reference = root.join("reference");
    let status = train_command(&data, &reference, extra).status().unwrap();
    assert!(status.success(), "reference run failed");

    // The same run, killed with SIGKILL right after it reports its fifth epoch.
    let killed = root.join("killed");
    let mut child = train_command(&data, &killed, extra)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    for line in stderr.lines() {
        if line.unwrap().starts_with("epoch 5:") {
            child.kill().unwrap();
            break;
        }
    }
    child.wait().unwrap();
    let progress: serde_json::Value =
        serde_json::from_slice(&std::fs::read(killed.join("checkpoint/progress.json")).unwrap())
            .unwrap();
    let done = progress["epochs_done"].as_u64().unwrap() as usize;
    assert!(
        (4..EPOCHS).contains(&done),
        "the kill did not interrupt the run (epochs done: {done})"
    );
    assert!(
        !killed.join("heads.bpk").exists(),
        "the killed run must not have finished"
    );

    // Starting over without --resume is refused rather than overwriting the run.
    let refused = train_command(&data, &killed, extra).output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));

    let resumed = train_command(&data, &killed, extra)
        .arg("--resume")
        .status()
        .unwrap();
    assert!(resumed.success(), "resumed run failed");

    let (a, b) = (metrics(&reference), metrics(&killed));
    assert_eq!(a.len(), EPOCHS);
    assert_eq!(a, b, "resumed run diverged from the uninterrupted one");
    // Parameter ids in the weight files are random per process, so compare what the weights do.
    assert_eq!(
        std::fs::read_to_string(reference.join("test.json")).unwrap(),
        std::fs::read_to_string(killed.join("test.json")).unwrap(),
        "final test metrics differ"
    );
    // The run learned something: dev accuracy rose above chance (1/8).
    let last = a.last().unwrap()["dev_acc1"].as_f64().unwrap();
    assert!(last > 0.125, "dev acc@1 {last}");
    assert!(reference.join("plot.png").exists());
    root
}
