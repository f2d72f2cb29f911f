//! `linker.json`: how a bundle's photos are to be linked (its title, image tower, dimension, and
//! whether photos are searched for faces), how its KB vectors were made, and when it answers "not in
//! this knowledge base"; written by the exporter and read by every linker.

use serde::{Deserialize, Serialize};

use super::LinkError;
use super::abstention::Abstention;
use crate::model::ImageTowerKind;

/// How a bundle's photos are to be linked (`linker.json`, written by the exporter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkerConfig {
    /// Always `"photolink-linker"`.
    pub format: String,
    /// Version of this file's layout.
    pub version: u32,
    /// What the page calls this bundle.
    pub title: String,
    /// The image tower the weights hold.
    pub image_tower: ImageTowerKind,
    /// Dimension of the shared space.
    pub dim: usize,
    /// Whether photos are searched for faces, each linked separately.
    pub faces: bool,
    /// Present when entities' reference pictures were fused into their KB vectors; absent: every
    /// vector is its entity's text alone. (Optional, so files without it stay version 1.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub references: Option<ReferenceFusion>,
    /// When a subject is answered "not in this knowledge base"; `null` or absent (bundles older
    /// than abstention): every subject gets its best matches. Written even when `null`, so that a
    /// bundle says it was calibrated and found no rule worth shipping.
    #[serde(default)]
    pub abstention: Option<Abstention>,
}

/// How reference pictures were fused into a bundle's KB vectors: `normalize(text + weight·r)`,
/// `r` the unit mean of an entity's picture vectors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReferenceFusion {
    /// The pictures' weight against the text.
    pub weight: f32,
    /// Entities whose vector fuses pictures (the others are their text alone).
    pub entities: usize,
}

/// The `format` of [`LinkerConfig`].
pub const CONFIG_FORMAT: &str = "photolink-linker";
/// The `version` of [`LinkerConfig`] this build reads.
pub const CONFIG_VERSION: u32 = 1;

impl LinkerConfig {
    /// Parses and checks `linker.json`.
    pub fn parse(bytes: &[u8]) -> Result<Self, LinkError> {
        let config: LinkerConfig =
            serde_json::from_slice(bytes).map_err(|e| LinkError::Config {
                reason: e.to_string(),
            })?;
        if config.format != CONFIG_FORMAT || config.version != CONFIG_VERSION {
            return Err(LinkError::ConfigVersion {
                format: config.format,
                version: config.version,
            });
        }
        if let Some(reason) = config.abstention.as_ref().and_then(Abstention::invalid) {
            return Err(LinkError::Config { reason });
        }
        Ok(config)
    }
}
