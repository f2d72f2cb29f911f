//! The knowledge-base bundle: photolink's public contract between the trainer (which exports the
//! KB's text vectors) and every static site (which downloads and searches them).
//!
//! A bundle is a directory: `manifest.json` (format, version, model identity, dimension, count,
//! quantisation, every file's length and sha256, optional coarse partitions), int8 shards of
//! bounded size, one metadata file per shard, optionally one refinement file per shard (4-bit
//! residuals that re-score the top candidates), and whatever image-side files the exporter adds.
//! Shared by native code and wasm32: nothing here needs more than `std`, serde and sha2, so the fuzz
//! targets and the wasm KB bench build it in seconds. Reading and writing bundle *directories* (and
//! the workspace's one atomic file write) are behind the `fs` feature, which native code turns on.
//!
//! Typical reader flow (the browser does the same with `fetch` for each `entry.path`):
//!
//! ```ignore
//! let manifest = Manifest::parse(&manifest_bytes)?;
//! manifest.check_model(model_identity, model_dim)?;
//! let query = Query::new(&image_embedding, &manifest.quantization)?;
//! let mut searcher = Searcher::new(query, 10);
//! for entry in manifest.shards() {
//!     let mut shard = Shard::parse(fetch(&entry.path)?, entry, manifest.dim)?; // sha256 + header
//!     if let Some(r) = manifest.refinement_for(entry) {
//!         shard = shard.with_refinement(Refinement::parse(fetch(&r.path)?, r, manifest.dim)?)?;
//!     }
//!     searcher.add_shard(&shard)?;                                               // progressive
//! }
//! for hit in searcher.hits() {
//!     let (shard_entry, meta_entry) = manifest.locate(hit.index)?;
//!     let meta = MetaShard::parse(&fetch(&meta_entry.path)?, meta_entry)?;
//!     println!("{} {:.3}", meta.get(hit.index).unwrap().name, hit.score);
//! }
//! ```
//!
//! Modules: [`layout`] (limits, file lengths, the row-file header, roles, digests: what every other
//! module builds on), [`manifest`] (the table of contents and its checks), [`safe_path`] (file names that
//! stay inside the bundle), [`shard`] (binary layout), [`refine`] (residual refinement files),
//! [`metadata`] (entity records),
//! [`quantize`] (int8 rows, int16 queries), [`kernel`] (SIMD dot products), [`topk`] (bounded
//! heap), [`search`](mod@search) (query, searcher, exact f32 reference), [`partition`] (k-means, probing,
//! recall), `writer` and `reader` (directories, feature `fs`), `atomic_file` and `bounded_read` (feature `fs`),
//! [`rng`] (the seeded generator of k-means and of every reproducible sample), [`synthetic`]
//! (clustered vectors for measuring scale), [`error`].

#[cfg(feature = "fs")]
pub mod atomic_file;
#[cfg(feature = "fs")]
pub mod bounded_read;
pub mod error;
pub mod kernel;
pub mod layout;
pub mod manifest;
pub mod metadata;
pub mod partition;
pub mod quantize;
#[cfg(feature = "fs")]
pub mod reader;
pub mod refine;
pub mod rng;
pub mod safe_path;
pub mod search;
pub mod shard;
pub mod synthetic;
pub mod topk;
#[cfg(feature = "fs")]
pub mod writer;

#[cfg(all(test, feature = "fs"))]
mod tests;

pub use error::KbError;
pub use kernel::Kernel;
pub use layout::Role;
pub use manifest::{FileEntry, Manifest, verify_file};
pub use metadata::{EntityMeta, MetaShard};
pub use partition::{KMeansOptions, RecallPoint};
pub use quantize::Quantization;
#[cfg(feature = "fs")]
pub use reader::BundleReader;
pub use refine::Refinement;
pub use search::{Query, Searcher, exact_f32, search};
pub use shard::Shard;
pub use topk::Hit;
#[cfg(feature = "fs")]
pub use writer::{BundleWriter, WriterOptions};
