//! What a training run depends on: the losses in use and every hyper-parameter, saved as the
//! run's `config.json`; each default is written once, in [`TrainConfig::new`].

use super::*;

/// Which of the three losses train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossSet {
    /// Cross-modal InfoNCE.
    pub infonce: bool,
    /// Image self-contrastive.
    pub self_contrastive: bool,
    /// Hard-negative contrastive.
    pub hard_negative: bool,
}

impl std::fmt::Display for LossSet {
    /// `infonce,self,hard` (the losses in use), as [`LossSet::parse`] reads it back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (self.infonce, "infonce"),
            (self.self_contrastive, "self"),
            (self.hard_negative, "hard"),
        ];
        let list: Vec<&str> = names
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
        f.write_str(&list.join(","))
    }
}

impl LossSet {
    /// Parses `infonce,self,hard` (any subset, comma-separated).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut set = LossSet {
            infonce: false,
            self_contrastive: false,
            hard_negative: false,
        };
        for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match name {
                "infonce" => set.infonce = true,
                "self" => set.self_contrastive = true,
                "hard" => set.hard_negative = true,
                other => {
                    return Err(format!(
                        "unknown loss `{other}` (expected infonce, self, hard)"
                    ));
                }
            }
        }
        if set
            == (LossSet {
                infonce: false,
                self_contrastive: false,
                hard_negative: false,
            })
        {
            return Err("no loss selected".into());
        }
        Ok(set)
    }

    /// `infonce+self+hard`-style label.
    pub fn label(&self) -> String {
        let mut parts = Vec::new();
        if self.infonce {
            parts.push("infonce");
        }
        if self.self_contrastive {
            parts.push("self");
        }
        if self.hard_negative {
            parts.push("hard");
        }
        parts.join("+")
    }
}

/// How an epoch groups the training mentions into batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BatchGrouping {
    /// A seeded shuffle: the negatives of a batch are random entities.
    #[default]
    Random,
    /// Entities with similar frozen text vectors together (random hyperplanes, new each epoch):
    /// the negatives are the near-twins the whole-KB ranking must tell apart.
    SimilarTexts,
}

/// Everything a training run depends on; saved as the run's `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Benchmark folder (kb.jsonl, mentions.jsonl, images/).
    pub data: PathBuf,
    /// Converted towers.
    pub models: PathBuf,
    /// Image tower.
    pub image_tower: ImageTowerKind,
    /// Losses in use.
    pub losses: LossSet,
    /// Weight of the self-contrastive loss.
    pub lambda_self: f64,
    /// Weight of the hard-negative loss.
    pub lambda_hard: f64,
    /// Hard negatives per text.
    pub hard_k: usize,
    /// Image vectors kept from earlier batches as extra hard-negative candidates (0: off).
    pub memory_bank: usize,
    /// Shared space dimension.
    pub dim: usize,
    /// Initial temperature τ.
    pub temperature: f64,
    /// Epochs.
    pub epochs: usize,
    /// Entities per batch.
    pub batch_size: usize,
    /// How training mentions are grouped into batches (runs saved before it existed: random).
    #[serde(default)]
    pub batches: BatchGrouping,
    /// Peak AdamW learning rate (cosine decay to zero over the run).
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Seed of the training itself: initial weights, batch order, choice of views.
    pub seed: u64,
    /// Seed of the cached augmented views (kept apart from `seed` so that several training seeds
    /// share one feature cache).
    pub view_seed: u64,
    /// Augmented views cached per training photo.
    pub views: usize,
    /// Augmentations of the views.
    pub augment: AugmentConfig,
    /// Run on the CPU backend instead of the GPU.
    pub cpu: bool,
    /// Devices each step's batch is shared out over (data parallelism; runs saved before it
    /// existed: 1). On the CPU backend, replicas sharing the one CPU device.
    #[serde(default = "default_devices")]
    pub devices: usize,
    /// Stages at the end of the image tower that are fine-tuned (0: frozen; the tower's stage
    /// count: all of it).
    #[serde(default)]
    pub unfreeze_image: usize,
    /// Peak learning rate of the fine-tuned tower stages (same cosine decay as the heads'):
    /// smaller, as they start from pretrained weights.
    #[serde(default = "default_tower_learning_rate")]
    pub tower_learning_rate: f64,
    /// Stages at the end of the text tower that are fine-tuned (0: frozen; 1–6: the last
    /// transformer layers; 7: all of it, embeddings included).
    #[serde(default)]
    pub unfreeze_text: usize,
    /// Peak learning rate of the fine-tuned text-tower stages.
    #[serde(default = "default_text_learning_rate")]
    pub text_learning_rate: f64,
}

pub(super) fn default_devices() -> usize {
    1
}

pub(super) fn default_tower_learning_rate() -> f64 {
    1e-4
}

pub(super) fn default_text_learning_rate() -> f64 {
    2e-5
}

impl TrainConfig {
    /// The defaults of `paper.md` for a benchmark folder.
    pub fn new(data: PathBuf, image_tower: ImageTowerKind) -> Self {
        // The heads' defaults (dimension, τ) are the model's, written once there.
        let heads = HeadsConfig::new(image_tower);
        Self {
            data,
            models: PathBuf::from("models"),
            image_tower,
            losses: LossSet {
                infonce: true,
                self_contrastive: true,
                hard_negative: true,
            },
            lambda_self: 1.0,
            lambda_hard: 0.5,
            hard_k: 8,
            memory_bank: 0,
            dim: heads.dim,
            temperature: heads.temperature,
            epochs: 30,
            batch_size: 32,
            batches: BatchGrouping::Random,
            learning_rate: 1e-3,
            weight_decay: 1e-4,
            seed: 7,
            view_seed: 7,
            views: 8,
            augment: AugmentConfig::default(),
            cpu: false,
            devices: default_devices(),
            unfreeze_image: 0,
            tower_learning_rate: default_tower_learning_rate(),
            unfreeze_text: 0,
            text_learning_rate: default_text_learning_rate(),
        }
    }
}

impl TrainConfig {
    /// Checks every option against its range before any work starts, naming the first one that is
    /// out of it.
    pub fn validate(&self) -> Result<(), TrainError> {
        let invalid = |option: &'static str, value: String, expected: &'static str| {
            Err(TrainError::InvalidOption {
                option,
                value,
                expected,
            })
        };
        // (0, high] and [0, high]; NaN is in neither.
        let positive_at_most = |v: f64, high: f64| v > 0.0 && v <= high;
        let non_negative_at_most = |v: f64, high: f64| (0.0..=high).contains(&v);
        if !(2..=4096).contains(&self.batch_size) {
            return invalid(
                "--batch-size",
                self.batch_size.to_string(),
                "2 to 4096 entities (a batch of one has nothing to contrast with)",
            );
        }
        let min_views = if self.losses.self_contrastive { 2 } else { 1 };
        if !(min_views..=64).contains(&self.views) {
            return invalid(
                "--views",
                self.views.to_string(),
                "1 to 64 cached views per photo, and at least 2 with the self-contrastive loss (its two views must differ)",
            );
        }
        if !(1..=64).contains(&self.devices) || self.devices > self.batch_size {
            return invalid(
                "--devices",
                self.devices.to_string(),
                "1 to 64 devices, and no more than --batch-size (each device takes a share of a batch)",
            );
        }
        if !(1..=1_000_000).contains(&self.epochs) {
            return invalid("--epochs", self.epochs.to_string(), "1 to 1,000,000");
        }
        if !(1..=photolink_kb::layout::MAX_DIM).contains(&self.dim) {
            return invalid(
                "--dim",
                self.dim.to_string(),
                "1 to 4096 (the bundle format's limit)",
            );
        }
        if !positive_at_most(self.temperature, 10.0) {
            return invalid(
                "--temperature",
                self.temperature.to_string(),
                "a number in (0, 10]",
            );
        }
        for (option, lr) in [
            ("--lr", self.learning_rate),
            ("--tower-lr", self.tower_learning_rate),
            ("--text-lr", self.text_learning_rate),
        ] {
            if !positive_at_most(lr, 1.0) {
                return invalid(option, lr.to_string(), "a learning rate in (0, 1]");
            }
        }
        for (option, lambda) in [
            ("--lambda-self", self.lambda_self),
            ("--lambda-hard", self.lambda_hard),
        ] {
            if !non_negative_at_most(lambda, 100.0) {
                return invalid(option, lambda.to_string(), "a weight in [0, 100]");
            }
        }
        if !non_negative_at_most(self.weight_decay, 1.0) {
            return invalid(
                "weight_decay",
                self.weight_decay.to_string(),
                "a number in [0, 1]",
            );
        }
        let min_hard = usize::from(self.losses.hard_negative);
        if !(min_hard..=1024).contains(&self.hard_k) {
            return invalid(
                "--hard-k",
                self.hard_k.to_string(),
                "1 to 1024 hard negatives per text with the hard-negative loss",
            );
        }
        if self.memory_bank > 1_000_000 {
            return invalid(
                "--memory-bank",
                self.memory_bank.to_string(),
                "0 to 1,000,000 vectors",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TrainConfig {
        TrainConfig::new(PathBuf::from("data/x"), ImageTowerKind::Facenet)
    }

    #[test]
    fn the_defaults_are_valid() {
        config().validate().unwrap();
        let mut c = config();
        c.image_tower = ImageTowerKind::EfficientnetLite0;
        c.validate().unwrap();
    }

    #[test]
    fn every_option_out_of_range_is_refused_by_name() {
        type Break = Box<dyn Fn(&mut TrainConfig)>;
        let cases: Vec<(&str, Break)> = vec![
            ("--views", Box::new(|c| c.views = 0)),
            ("--views", Box::new(|c| c.views = 1)),
            ("--batch-size", Box::new(|c| c.batch_size = 1)),
            ("--batch-size", Box::new(|c| c.batch_size = 0)),
            ("--epochs", Box::new(|c| c.epochs = 0)),
            ("--devices", Box::new(|c| c.devices = 0)),
            ("--devices", Box::new(|c| c.devices = 33)),
            ("--dim", Box::new(|c| c.dim = 0)),
            ("--dim", Box::new(|c| c.dim = 1 << 40)),
            ("--temperature", Box::new(|c| c.temperature = 0.0)),
            ("--temperature", Box::new(|c| c.temperature = f64::NAN)),
            ("--lr", Box::new(|c| c.learning_rate = -1e-3)),
            ("--lr", Box::new(|c| c.learning_rate = f64::INFINITY)),
            ("--tower-lr", Box::new(|c| c.tower_learning_rate = 0.0)),
            ("--text-lr", Box::new(|c| c.text_learning_rate = 5.0)),
            ("--lambda-self", Box::new(|c| c.lambda_self = -1.0)),
            ("--lambda-hard", Box::new(|c| c.lambda_hard = f64::NAN)),
            ("--hard-k", Box::new(|c| c.hard_k = 0)),
            ("--memory-bank", Box::new(|c| c.memory_bank = usize::MAX)),
        ];
        for (option, break_it) in cases {
            let mut c = config();
            break_it(&mut c);
            match c.validate() {
                Err(TrainError::InvalidOption { option: o, .. }) => assert_eq!(o, option),
                other => panic!("{option}: {other:?}"),
            }
        }
    }

    #[test]
    fn one_view_is_enough_without_the_self_contrastive_loss() {
        let mut c = config();
        c.views = 1;
        c.losses.self_contrastive = false;
        c.validate().unwrap();
        c.lambda_self = 0.0;
        c.validate().unwrap();
        let err = {
            let mut c = config();
            c.batch_size = 1;
            c.validate().unwrap_err().to_string()
        };
        assert_eq!(
            err,
            "--batch-size 1: expected 2 to 4096 entities (a batch of one has nothing to contrast with)"
        );
    }
}
