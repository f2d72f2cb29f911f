//! A run's data in the shape training and evaluation use: the cached features, the gold entity of
//! every mention, and the model's vectors of a split ranked over the whole KB.

use super::*;

/// The data of a run in the shape training and evaluation use.
pub(super) struct Context<'a> {
    pub(super) features: &'a Features,
    /// The text tower's tokens and frozen-stage states, when it is fine-tuned.
    pub(super) text: Option<&'a TextStates>,
    /// Entity index of each training mention.
    pub(super) train_entities: Vec<usize>,
    pub(super) dev_entities: Vec<usize>,
    pub(super) test_entities: Vec<usize>,
    pub(super) entities: usize,
    /// Length of the pretrained tower's features, on which look-alikes are found.
    pub(super) frozen_dim: usize,
    /// Listed by the benchmark, or else found on the first evaluation: quadratic in the training
    /// photos, and not needed to embed.
    pub(super) lookalikes: std::cell::OnceCell<LookAlikes>,
    /// Per entity: whether it has a training mention.
    pub(super) seen: Vec<bool>,
    /// Per mention of each split (train, dev, test): the other entities drawn identically in its
    /// source.
    pub(super) class_mates: [Vec<Vec<usize>>; 3],
}

impl<'a> Context<'a> {
    pub(super) fn new(
        dataset: &Dataset,
        features: &'a Features,
        text: Option<&'a TextStates>,
        image_tower: ImageTowerKind,
    ) -> Self {
        let entity_of = |split: Split| -> Vec<usize> {
            dataset
                .split(split)
                .map(|m| {
                    dataset
                        .entity_index(&m.entity)
                        .expect("loaded mentions name known entities")
                })
                .collect()
        };
        let gold = Split::ALL.map(entity_of);
        let lookalikes = std::cell::OnceCell::new();
        let file = dataset.lookalike_file();
        if let Some(file) = file {
            let _ = lookalikes.set(LookAlikes::listed(file.flags(dataset)));
        }
        let classes = file.map(|f| f.class_index(dataset)).unwrap_or_default();
        let class_mates = Split::ALL.map(|split| {
            dataset
                .split(split)
                .zip(&gold[split as usize])
                .map(|(m, &g)| classes.mates(m, g))
                .collect()
        });
        let [train_entities, dev_entities, test_entities] = gold;
        let mut seen = vec![false; dataset.entities().len()];
        for &e in &train_entities {
            seen[e] = true;
        }
        Self {
            features,
            text,
            train_entities,
            dev_entities,
            test_entities,
            entities: dataset.entities().len(),
            frozen_dim: image_tower.feature_dim(),
            lookalikes,
            seen,
            class_mates,
        }
    }

    pub(super) fn lookalikes(&self) -> &LookAlikes {
        self.lookalikes.get_or_init(|| {
            LookAlikes::find(
                self.features.frozen_train(),
                &self.train_entities,
                self.entities,
                self.frozen_dim,
                LOOKALIKE_FRACTION,
            )
        })
    }

    /// Gold entity index of each mention of `split`.
    pub(super) fn gold(&self, split: Split) -> &[usize] {
        match split {
            Split::Train => &self.train_entities,
            Split::Dev => &self.dev_entities,
            Split::Test => &self.test_entities,
        }
    }

    /// Unit image vectors of `split`'s mentions and unit text vectors of every entity (both
    /// row-major), through `model`.
    pub(super) fn vectors(
        &self,
        model: &DualEncoder,
        split: Split,
        device: &Device,
    ) -> (Vec<f32>, Vec<f32>) {
        let model = model.valid();
        let read = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().expect("f32");
        let [c, h, w] = self.features.shape;
        // Chunks bound the memory of the tower stages that run on activations.
        let mut images = Vec::new();
        for rows in self
            .features
            .split(split)
            .chunks(EMBED_CHUNK * self.features.dim)
        {
            let n = rows.len() / self.features.dim;
            images.extend(read(model.embed_cached(Tensor::from_data(
                TensorData::new(rows.to_vec(), [n, c, h, w]),
                device,
            ))));
        }
        let all: Vec<usize> = (0..self.entities).collect();
        let mut texts = Vec::new();
        for rows in all.chunks(EMBED_CHUNK) {
            texts.extend(read(model.embed_text_input(self.text_input(rows, device))));
        }
        (images, texts)
    }

    /// What the model's text side reads for entities `rows`.
    pub(super) fn text_input(&self, rows: &[usize], device: &Device) -> TextInput {
        match self.text {
            Some(text) => text.input(rows, device),
            None => {
                let hidden = minilm::HIDDEN;
                let vectors = features::gather_rows(&self.features.text, hidden, rows, hidden);
                TextInput::Vectors(Tensor::from_data(
                    TensorData::new(vectors, [rows.len(), hidden]),
                    device,
                ))
            }
        }
    }

    /// Ranks every entity for each mention of `split` with `model`.
    pub(super) fn evaluate(
        &self,
        model: &DualEncoder,
        split: Split,
        device: &Device,
    ) -> EvalReport {
        let gold = self.gold(split);
        if gold.is_empty() {
            let none = eval::Ranked {
                strict: Vec::new(),
                class_aware: Vec::new(),
            };
            return EvalReport::new(&none, gold, self.lookalikes(), &self.seen);
        }
        let mates = &self.class_mates[split as usize];
        let (image_vectors, text_vectors) = self.vectors(model, split, device);
        let ranked = eval::rank(
            &image_vectors,
            gold,
            mates,
            &text_vectors,
            model.heads.image.weight.dims()[1],
            device,
        );
        EvalReport::new(&ranked, gold, self.lookalikes(), &self.seen)
    }
}

/// Photos embedded at once when evaluating.
pub(super) const EMBED_CHUNK: usize = 256;

/// Share of entities counted as having a look-alike.
pub const LOOKALIKE_FRACTION: f64 = 0.25;
