//! photolink's image side and its online pipeline, shared by the page (wasm32) and the native
//! binary: decoding and preprocessing photos ([`photo`]), the pretrained networks as Burn modules
//! ([`towers`]), the dual encoder's trainable parts ([`model`]), which compute backend runs them
//! ([`backend`]), and the linker that turns a photo into ranked KB entities ([`linker`]), with the
//! one bundle loader both faces use.
//!
//! Training uses the same functions (crops, preprocessing, subjects), so what it learns on is what
//! the linker sees. The bundle format and search are `photolink-kb`'s.

pub mod backend;
pub mod linker;
pub mod model;
pub mod photo;
pub mod towers;
