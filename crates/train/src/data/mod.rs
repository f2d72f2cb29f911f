//! Training and evaluation data: the generic `kb.jsonl` + `mentions.jsonl` format any user can
//! produce ([`mod@format`]), the WikiPerson annotation adapter ([`wikiperson`]), the seeded
//! augmentations that make the self-contrastive views ([`mod@augment`]), and the builders of the
//! benchmarks photolink can make from registry packages ([`prepare`]), and a benchmark cut down to
//! a sample of its entities ([`sample`]). Native only.

mod archive;
pub mod augment;
mod error;
pub mod format;
pub mod lookalike_file;
pub mod prepare;
pub mod sample;
#[cfg(test)]
mod test_dir;
pub mod wikiperson;

pub use augment::{AugmentConfig, Augmenter, augment};
pub use error::DataError;
pub use format::{
    Dataset, Entity, LoadReport, MAX_REFERENCE_IMAGES, Mention, Split, SplitCounts, entity_text,
    read_kb, read_photo, write_kb, write_mentions,
};
pub use lookalike_file::{LOOKALIKES_FILE, LookAlikeFile};
pub use prepare::{BenchmarkId, PrepareReport};
