//! Tower weights in Burn's own format (burnpack), loaded from bytes so that the browser and the CLI
//! share one loader, and built from named arrays by the native converters. Loading is strict: a
//! missing, unused or misshapen tensor is an error that names it, never a silently random layer.

use burn::module::Module;
use burn::store::burn_pack::Tensor as PackTensor;
use burn::store::{ApplyResult, BurnpackStore, FloatCastAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType};

use super::eight_bit;

/// Storage precision of a weight file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats: exact.
    F32,
    /// 16-bit floats: half the download, converted to f32 on load.
    F16,
    /// One byte per weight with an affine map per output channel ([`super::eight_bit`]): a
    /// quarter of the download, dequantised to f32 on load.
    U8,
}

impl Precision {
    /// `"f32"`, `"f16"` or `"u8"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::U8 => "u8",
        }
    }

    /// Every precision a weight file is written in.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::F16, Precision::U8];
}

/// Weights that do not fit the network they were loaded into.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WeightsError {
    /// The bytes are not a burnpack file (truncated, wrong magic, unsupported version).
    #[error("not a valid weight file: {0}")]
    Format(String),
    /// The file and the network disagree.
    #[error("weights do not match the network: {0}")]
    Mismatch(String),
}

/// A tensor by its module path (`blocks.3.conv1.weight`), row-major f32 in Burn's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    /// Module path.
    pub name: String,
    /// Shape in Burn's layout.
    pub shape: Vec<usize>,
    /// Values.
    pub values: Vec<f32>,
}

/// Loads burnpack `bytes` (f32, f16 or 8-bit) into `module`, as f32 parameters.
pub fn load<M: Module>(module: M, bytes: Vec<u8>) -> Result<M, WeightsError> {
    load_part(module, bytes, &[])
}

/// Like [`load`], for a module that is part of what the file holds: file tensors whose path starts
/// with one of `unused_prefixes` (say, a classifier head the module leaves out) are not an error.
pub fn load_part<M: Module>(
    mut module: M,
    bytes: Vec<u8>,
    unused_prefixes: &[&str],
) -> Result<M, WeightsError> {
    // One read for every precision: 8-bit tensors come back dequantised, f16 ones are cast here.
    let tensors = eight_bit::dequantize_file(bytes)?;
    let to_f32 = Box::new(FloatCastAdapter::to(DType::F32));
    let mut result = module.apply(tensors, None, Some(to_f32), false);
    result
        .unused
        .retain(|name| !unused_prefixes.iter().any(|p| name.starts_with(p)));
    strict(result)?;
    Ok(module)
}

/// Assigns named arrays to `module`'s parameters; every parameter must be given, with its shape, and
/// every array must be used.
pub fn assign<M: Module>(mut module: M, tensors: Vec<NamedTensor>) -> Result<M, WeightsError> {
    let mut packed = Vec::with_capacity(tensors.len());
    for t in tensors {
        let expected: usize = t.shape.iter().product();
        if expected != t.values.len() {
            return Err(WeightsError::Mismatch(format!(
                "{}: shape {:?} needs {expected} values, got {}",
                t.name,
                t.shape,
                t.values.len()
            )));
        }
        let bytes: Vec<u8> = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
        packed.push(PackTensor::new(
            t.name,
            DType::F32,
            t.shape,
            None,
            Bytes::from_bytes_vec(bytes),
        ));
    }
    let result = module.apply(packed, None, None, false);
    strict(result)?;
    Ok(module)
}

/// Serialises `module`'s parameters as burnpack at `precision`. Reads parameters back
/// synchronously, so call it on a CPU module.
pub fn to_burnpack<M: Module>(module: &M, precision: Precision) -> Result<Vec<u8>, WeightsError> {
    if precision == Precision::U8 {
        let f32_file = to_burnpack(module, Precision::F32)?;
        let (bytes, _) = eight_bit::pack(f32_file, &eight_bit::Sources::default())?;
        return Ok(bytes);
    }
    let mut store = BurnpackStore::from_bytes(None);
    if precision == Precision::F16 {
        store = store.with_to_adapter(FloatCastAdapter::to(DType::F16));
    }
    module
        .save_into(&mut store)
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    Ok(bytes.to_vec())
}

fn strict(result: ApplyResult) -> Result<(), WeightsError> {
    let mut problems = Vec::new();
    if !result.errors.is_empty() {
        problems.push(format!("{:?}", result.errors));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().map(|(n, _)| n.as_str()).collect();
        problems.push(format!("missing tensors {names:?}"));
    }
    if !result.unused.is_empty() {
        problems.push(format!("unexpected tensors {:?}", result.unused));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(WeightsError::Mismatch(problems.join("; ")))
    }
}
