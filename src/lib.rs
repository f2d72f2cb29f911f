//! photolink links a photo to the entity of a text knowledge base that it shows.
//!
//! A dual encoder (an image tower and a text tower projected into one space) scores a photo against
//! every entity of a knowledge base; the text side is precomputed and shipped as int8 shards, so at
//! link time only the image side runs — natively (the `photolink` binary) or in a browser (wasm32,
//! WebGPU or CPU). See `README.md` for the map of modules.
//!
//! Native-only rooms (training, fetching assets, the CLI) and the wasm-only façade are fenced here,
//! at their `mod` lines, and nowhere else.

pub mod backend;
pub mod kb;
pub mod linker;
pub mod loss;
pub mod model;
pub mod photo;
pub mod rng;
pub mod towers;

#[cfg(not(target_arch = "wasm32"))]
pub mod assets;
#[cfg(not(target_arch = "wasm32"))]
pub mod data;
#[cfg(not(target_arch = "wasm32"))]
pub mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod registry;
#[cfg(not(target_arch = "wasm32"))]
pub mod serve;
#[cfg(not(target_arch = "wasm32"))]
pub mod site;
#[cfg(not(target_arch = "wasm32"))]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;
