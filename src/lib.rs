//! photolink links a photo to the entity of a text knowledge base that it shows.
//!
//! A dual encoder (an image tower and a text tower projected into one space) scores a photo against
//! every entity of a knowledge base; the text side is precomputed and shipped as int8 shards, so at
//! link time only the image side runs — natively (the `photolink` binary, `src/cli/`) or in a
//! browser (this library, built as wasm32: the façade in `src/web/`). The work is done by the
//! workspace's crates: `photolink-kb` (the bundle format and search), `photolink-core` (photos,
//! towers, backends, the linker) and `photolink-train` (data, training, export). See `README.md`
//! for the map.

// The one target fence of the page's side: the wasm-bindgen façade exists only in wasm32.
#[cfg(target_arch = "wasm32")]
pub mod web;
