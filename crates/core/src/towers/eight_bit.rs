//! Weight files in 8 bits: a burnpack file in which each large tensor is one byte per value with an
//! affine map per output channel, `value = f32(min_c + step_c · byte) · factor_c`, dequantised to
//! f32 when the file is loaded; small tensors (biases) stay f32, and so do large ones that the
//! network's source held in f32 ([`Sources`]).
//!
//! The optional per-channel `factor` is for weights converted from an 8-bit source and then scaled
//! per output channel: FaceNet's convolutions come from face-api.js's uint8 weights folded with the
//! scale layers that follow them. Storing the source's bytes, min and step with the fold's factor
//! gives back today's f32 weights bit for bit, where re-quantising the folded floats could not.
//!
//! Each quantised tensor `W` is stored as `W` (U8, W's shape) beside `W.u8_min` and `W.u8_step`
//! (F64, one per channel) and, if scaled, `W.u8_factor` (F32). The channel axis is fixed by the
//! rank ([`channel_axis`]), so the file needs no layout metadata.

use std::collections::BTreeMap;

use burn::store::burn_pack::{Reader, Tensor as PackTensor, Writer};
use burn::tensor::{Bytes, DType};

use super::weights::{NamedTensor, WeightsError};

const MIN: &str = ".u8_min";
const STEP: &str = ".u8_step";
const FACTOR: &str = ".u8_factor";

/// Tensors with fewer values stay f32: biases and norms, a few kilobytes in all, and a bias error
/// shifts every output.
pub const MIN_QUANTIZED_VALUES: usize = 1024;

/// The output-channel axis of a weight of this shape in Burn's layouts: the last of a rank-2
/// `Linear` weight (`[in, out]`), the first of a convolution's (`[out, in, kh, kw]`).
pub fn channel_axis(shape: &[usize]) -> usize {
    if shape.len() == 2 { 1 } else { 0 }
}

/// One tensor in 8 bits.
#[derive(Debug, Clone, PartialEq)]
pub struct EightBit {
    /// Module path.
    pub name: String,
    /// Shape in Burn's layout.
    pub shape: Vec<usize>,
    /// One byte per value, row-major.
    pub bytes: Vec<u8>,
    /// Per channel: the value of byte 0.
    pub min: Vec<f64>,
    /// Per channel: the value between two bytes.
    pub step: Vec<f64>,
    /// Per channel: a factor applied after the affine map, in f32 (see the module docs).
    pub factor: Option<Vec<f32>>,
}

impl EightBit {
    /// `values` (row-major in `shape`) mapped per output channel onto 256 evenly spaced levels
    /// from the channel's minimum to its maximum, each to the nearest. (Shrinking each channel's
    /// range to the least squared error was tried: EfficientNet-Lite0's golden cosine moved by
    /// 4e-7.) Weights that are NaN or infinite are refused.
    pub fn quantize(name: &str, shape: &[usize], values: &[f32]) -> Result<Self, WeightsError> {
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            return Err(WeightsError::Mismatch(format!(
                "{name}: a weight is {bad}, which 8 bits cannot hold"
            )));
        }
        let channels = shape[channel_axis(shape)];
        let mut per_channel: Vec<Vec<f64>> = vec![Vec::new(); channels];
        for (i, &v) in values.iter().enumerate() {
            per_channel[channel_of(shape, i)].push(f64::from(v));
        }
        let (min, step): (Vec<f64>, Vec<f64>) = per_channel
            .iter()
            .map(|v| {
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                (lo, (hi - lo) / 255.0)
            })
            .unzip();
        let bytes = values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let c = channel_of(shape, i);
                level(f64::from(v), min[c], step[c])
            })
            .collect();
        Ok(Self {
            name: name.to_string(),
            shape: shape.to_vec(),
            bytes,
            min,
            step,
            factor: None,
        })
    }

    /// The f32 values, row-major. The affine map is evaluated in f64 and rounded once, as
    /// TensorFlow.js dequantises its uint8 weights.
    pub fn dequantize(&self) -> Vec<f32> {
        self.bytes
            .iter()
            .enumerate()
            .map(|(i, &b)| {
                let c = channel_of(&self.shape, i);
                let v = (f64::from(b) * self.step[c] + self.min[c]) as f32;
                match &self.factor {
                    Some(f) => v * f[c],
                    None => v,
                }
            })
            .collect()
    }

    fn check(&self) -> Result<(), WeightsError> {
        let channels = self.shape.get(channel_axis(&self.shape)).copied();
        let count: usize = self.shape.iter().product();
        let per_channel_ok = |n: usize| Some(n) == channels;
        if self.shape.is_empty()
            || count != self.bytes.len()
            || !per_channel_ok(self.min.len())
            || !per_channel_ok(self.step.len())
            || self
                .factor
                .as_ref()
                .is_some_and(|f| !per_channel_ok(f.len()))
        {
            return Err(WeightsError::Mismatch(format!(
                "{}: 8-bit tensor of shape {:?} has {} bytes and {}/{}/{} per-channel values",
                self.name,
                self.shape,
                self.bytes.len(),
                self.min.len(),
                self.step.len(),
                self.factor.as_ref().map_or(0, Vec::len)
            )));
        }
        let finite = self.min.iter().chain(&self.step).all(|v| v.is_finite())
            && self.factor.iter().flatten().all(|v| v.is_finite());
        if !finite {
            return Err(WeightsError::Mismatch(format!(
                "{}: a per-channel value of the 8-bit tensor is not finite",
                self.name
            )));
        }
        Ok(())
    }
}

/// The byte nearest to `v` on the levels `min + step · byte`.
fn level(v: f64, min: f64, step: f64) -> u8 {
    if step == 0.0 {
        0
    } else {
        ((v - min) / step).round().clamp(0.0, 255.0) as u8
    }
}

fn channel_of(shape: &[usize], index: usize) -> usize {
    if channel_axis(shape) == 0 {
        index / (shape.iter().skip(1).product::<usize>()).max(1)
    } else {
        index % shape[1]
    }
}

/// A float tensor of a module, as burnpack holds it.
fn float_values(tensor: &PackTensor) -> Result<Vec<f32>, WeightsError> {
    let bytes = tensor
        .to_bytes()
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

fn pack_tensor(name: String, dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> PackTensor {
    PackTensor::new(name, dtype, shape, None, Bytes::from_bytes_vec(bytes))
}

/// What a module's tensors may be stored as instead of a fresh per-channel quantisation: the
/// forms its source had (face-api.js ships most of FaceNet in uint8 and eight of its convolutions
/// in float32).
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Tensors the source held in 8 bits.
    pub eight_bit: Vec<EightBit>,
    /// Large tensors the source held in f32, kept so.
    pub float: Vec<NamedTensor>,
}

impl Sources {
    /// The sources an 8-bit file was written from: its 8-bit tensors, and the large tensors it
    /// kept in f32.
    pub fn of_file(bytes: Vec<u8>) -> Result<Self, WeightsError> {
        let unpacked = unpack(bytes)?;
        let mut float = Vec::new();
        for t in unpacked.plain {
            let shape = t.shape.to_vec();
            if quantizable(t.dtype, &shape) {
                float.push(NamedTensor {
                    values: float_values(&t)?,
                    name: t.name,
                    shape,
                });
            }
        }
        Ok(Self {
            eight_bit: unpacked.eight_bit,
            float,
        })
    }

    /// How many tensors of a module these sources should give.
    pub fn len(&self) -> usize {
        let large = |shape: &[usize]| quantizable(DType::F32, shape);
        self.eight_bit.iter().filter(|e| large(&e.shape)).count()
            + self.float.iter().filter(|f| large(&f.shape)).count()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a source tensor named `source` is the module's tensor at path `path` (the module may
/// hold the source's network under a prefix, as the image side holds its tower).
fn same_tensor(source: &str, path: &str) -> bool {
    path == source || path.strip_suffix(source).is_some_and(|p| p.ends_with('.'))
}

/// Whether a tensor is stored in 8 bits (unless a source keeps it f32).
fn quantizable(dtype: DType, shape: &[usize]) -> bool {
    dtype == DType::F32
        && shape.len() >= 2
        && shape.iter().product::<usize>() >= MIN_QUANTIZED_VALUES
}

fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The 8-bit file of a module's f32 tensors (`f32_file`, burnpack). A tensor that `sources` hold
/// (same path, or the source's path as a suffix) with exactly its values is stored in the source's
/// form, 8-bit or f32; other large tensors are quantised per channel ([`EightBit::quantize`]), small
/// ones stay f32. Returns the file and how many tensors were stored in their source's form.
pub fn pack(f32_file: Vec<u8>, sources: &Sources) -> Result<(Vec<u8>, usize), WeightsError> {
    let tensors = Reader::from_bytes(Bytes::from_bytes_vec(f32_file))
        .and_then(Reader::into_tensors)
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    let mut out = Vec::with_capacity(tensors.len() * 3);
    let mut from_source = 0;
    for tensor in tensors {
        let shape = tensor.shape.to_vec();
        if !quantizable(tensor.dtype, &shape) {
            out.push(tensor);
            continue;
        }
        let values = float_values(&tensor)?;
        let kept_f32 = sources.float.iter().any(|f| {
            same_tensor(&f.name, &tensor.name) && f.shape == shape && same_bits(&f.values, &values)
        });
        if kept_f32 {
            from_source += 1;
            out.push(tensor);
            continue;
        }
        let source = sources.eight_bit.iter().find(|e| {
            same_tensor(&e.name, &tensor.name)
                && e.shape == shape
                && same_bits(&e.dequantize(), &values)
        });
        let quantized = match source {
            Some(e) => {
                from_source += 1;
                EightBit {
                    name: tensor.name.clone(),
                    ..e.clone()
                }
            }
            None => EightBit::quantize(&tensor.name, &shape, &values)?,
        };
        push_eight_bit(&mut out, quantized);
    }
    Ok((write(out)?, from_source))
}

/// Writes `q` as the tensors of the file format (module docs).
fn push_eight_bit(out: &mut Vec<PackTensor>, q: EightBit) {
    let f64_bytes = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    out.push(pack_tensor(
        format!("{}{MIN}", q.name),
        DType::F64,
        vec![q.min.len()],
        f64_bytes(&q.min),
    ));
    out.push(pack_tensor(
        format!("{}{STEP}", q.name),
        DType::F64,
        vec![q.step.len()],
        f64_bytes(&q.step),
    ));
    if let Some(f) = &q.factor {
        out.push(pack_tensor(
            format!("{}{FACTOR}", q.name),
            DType::F32,
            vec![f.len()],
            f.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ));
    }
    out.push(pack_tensor(q.name, DType::U8, q.shape, q.bytes));
}

/// A file made of `tensors` (f32 and [`push_eight_bit`]'s) as burnpack bytes.
fn write(tensors: Vec<PackTensor>) -> Result<Vec<u8>, WeightsError> {
    Writer::new(tensors)
        .into_bytes()
        .map(|b| b.to_vec())
        .map_err(|e| WeightsError::Format(e.to_string()))
}

/// What an 8-bit file holds: its 8-bit tensors, and the others as they are.
struct Unpacked {
    /// The 8-bit tensors, not dequantised.
    eight_bit: Vec<EightBit>,
    /// Every other tensor.
    plain: Vec<PackTensor>,
}

/// Splits an 8-bit file into its tensors; a companion without its tensor, a tensor without its
/// companions, or sizes that do not agree are errors that name the tensor.
fn unpack(bytes: Vec<u8>) -> Result<Unpacked, WeightsError> {
    let tensors = Reader::from_bytes(Bytes::from_bytes_vec(bytes))
        .and_then(Reader::into_tensors)
        .map_err(|e| WeightsError::Format(e.to_string()))?;
    let mut by_name: BTreeMap<String, PackTensor> =
        tensors.into_iter().map(|t| (t.name.clone(), t)).collect();
    let names: Vec<String> = by_name
        .values()
        .filter(|t| t.dtype == DType::U8)
        .map(|t| t.name.clone())
        .collect();
    let mut eight_bit = Vec::with_capacity(names.len());
    for name in names {
        let tensor = by_name.remove(&name).expect("listed above");
        let mut companion = |suffix: &str, dtype: DType| -> Result<Option<Vec<u8>>, WeightsError> {
            match by_name.remove(&format!("{name}{suffix}")) {
                Some(t) if t.dtype == dtype => Ok(Some(
                    t.to_bytes()
                        .map_err(|e| WeightsError::Format(e.to_string()))?
                        .to_vec(),
                )),
                Some(t) => Err(WeightsError::Mismatch(format!(
                    "{name}{suffix}: {:?}, expected {dtype:?}",
                    t.dtype
                ))),
                None => Ok(None),
            }
        };
        let missing =
            |what: &str| WeightsError::Mismatch(format!("{name}: 8-bit tensor without its {what}"));
        let f64s = |b: Vec<u8>| -> Vec<f64> {
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect()
        };
        let min = f64s(companion(MIN, DType::F64)?.ok_or_else(|| missing("minimum"))?);
        let step = f64s(companion(STEP, DType::F64)?.ok_or_else(|| missing("step"))?);
        let factor = companion(FACTOR, DType::F32)?.map(|b| {
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect()
        });
        let q = EightBit {
            shape: tensor.shape.to_vec(),
            bytes: tensor
                .to_bytes()
                .map_err(|e| WeightsError::Format(e.to_string()))?
                .to_vec(),
            name,
            min,
            step,
            factor,
        };
        q.check()?;
        eight_bit.push(q);
    }
    if let Some(orphan) = by_name
        .keys()
        .find(|n| [MIN, STEP, FACTOR].iter().any(|s| n.ends_with(s)))
    {
        return Err(WeightsError::Mismatch(format!(
            "{orphan}: per-channel values of no 8-bit tensor"
        )));
    }
    Ok(Unpacked {
        eight_bit,
        plain: by_name.into_values().collect(),
    })
}

/// A weight file's tensors (f32, f16 or 8-bit), each 8-bit one dequantised to f32, ready to apply
/// to a module.
pub fn dequantize_file(bytes: Vec<u8>) -> Result<Vec<PackTensor>, WeightsError> {
    let Unpacked {
        eight_bit,
        mut plain,
    } = unpack(bytes)?;
    for q in eight_bit {
        let values: Vec<u8> = q
            .dequantize()
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        plain.push(pack_tensor(q.name, DType::F32, q.shape, values));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.013)
            .collect()
    }

    #[test]
    fn quantizes_each_channel_within_half_a_step() {
        for shape in [vec![4, 3, 3, 3], vec![12, 9]] {
            let v = values(shape.iter().product());
            let q = EightBit::quantize("w", &shape, &v).unwrap();
            assert_eq!(q.min.len(), shape[channel_axis(&shape)]);
            for (i, (a, b)) in q.dequantize().iter().zip(&v).enumerate() {
                let step = q.step[channel_of(&shape, i)];
                assert!(
                    f64::from((a - b).abs()) <= step / 2.0 + 1e-7,
                    "{shape:?} {i}: {a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn constant_channels_and_linear_layout() {
        // Linear [in, out]: channel = column. Column 1 is constant.
        let v = vec![0.0, 5.0, 1.0, 5.0, 2.0, 5.0];
        let q = EightBit::quantize("w", &[3, 2], &v).unwrap();
        assert_eq!(q.min, vec![0.0, 5.0]);
        assert_eq!(q.step, vec![2.0 / 255.0, 0.0]);
        let back = q.dequantize();
        assert_eq!([back[0], back[4]], [0.0, 2.0], "the ends are exact");
        assert!(
            (back[2] - 1.0).abs() <= 1.0 / 255.0 + 1e-6,
            "half a step off at most"
        );
        assert_eq!([back[1], back[3], back[5]], [5.0; 3]);
    }

    #[test]
    fn refuses_non_finite_weights() {
        let e = EightBit::quantize("blocks.0.w", &[2, 2], &[1.0, f32::NAN, 0.0, 1.0]).unwrap_err();
        assert!(e.to_string().contains("blocks.0.w"), "{e}");
    }

    #[test]
    fn file_round_trip_keeps_small_tensors_and_exact_sources() {
        let shape = vec![32, 8, 2, 2];
        let n: usize = shape.iter().product();
        // An exact source: bytes, per-channel affine and a factor, as FaceNet's conversion makes.
        let source = EightBit {
            name: "conv.weight".into(),
            shape: shape.clone(),
            bytes: (0..n).map(|i| (i * 7 % 256) as u8).collect(),
            min: vec![-0.071_018_769_022_296_45; 32],
            step: vec![0.000_526_064_955_720_714_5; 32],
            factor: Some((0..32).map(|c| 5.0 + c as f32 * 0.37).collect()),
        };
        let exact_values = source.dequantize();
        let other = values(64 * 32);
        let bias = vec![0.5f32, -0.25];
        let f32_file = write(vec![
            pack_tensor(
                "tower.conv.weight".into(),
                DType::F32,
                shape.clone(),
                exact_values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            pack_tensor(
                "head.weight".into(),
                DType::F32,
                vec![64, 32],
                other.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
            pack_tensor(
                "head.bias".into(),
                DType::F32,
                vec![2],
                bias.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ),
        ])
        .unwrap();
        let sources = Sources {
            eight_bit: vec![source.clone()],
            float: Vec::new(),
        };
        let (file, exact) = pack(f32_file, &sources).unwrap();
        assert_eq!(exact, 1);
        assert_eq!(unpack(file.clone()).unwrap().eight_bit.len(), 2);
        let back = dequantize_file(file).unwrap();
        let get = |name: &str| {
            let t = back.iter().find(|t| t.name == name).unwrap();
            assert_eq!(t.dtype, DType::F32);
            float_values(t).unwrap()
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&get("tower.conv.weight")), bits(&exact_values));
        assert_eq!(get("head.bias"), bias);
        let head = get("head.weight");
        // Within half a step of each column's range (1.3 / 255).
        assert!(
            head.iter()
                .zip(&other)
                .all(|(a, b)| (a - b).abs() <= 0.65 / 255.0 + 1e-6)
        );
        assert_eq!(back.len(), 3);
    }

    #[test]
    fn sources_are_used_only_where_they_reproduce_the_weights() {
        let shape = vec![4, 256];
        let v = values(1024);
        let f32_file = write(vec![pack_tensor(
            "fc.weight".into(),
            DType::F32,
            shape.clone(),
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        )])
        .unwrap();
        let mut wrong = EightBit::quantize("fc.weight", &shape, &v).unwrap();
        wrong.bytes[0] ^= 1;
        let sources = Sources {
            eight_bit: vec![wrong],
            float: Vec::new(),
        };
        let (_, exact) = pack(f32_file.clone(), &sources).unwrap();
        assert_eq!(exact, 0);
        // A source that kept the tensor in f32 keeps it so, bit for bit.
        let sources = Sources {
            eight_bit: Vec::new(),
            float: vec![NamedTensor {
                name: "fc.weight".into(),
                shape: shape.clone(),
                values: v.clone(),
            }],
        };
        let (file, kept) = pack(f32_file, &sources).unwrap();
        assert_eq!(kept, 1);
        assert!(unpack(file.clone()).unwrap().eight_bit.is_empty());
        assert_eq!(Sources::of_file(file).unwrap().float[0].values, v);
    }

    #[test]
    fn tampered_files_are_refused_by_name() {
        let q = EightBit::quantize("w", &[4, 256], &values(1024)).unwrap();
        // A per-channel list one short.
        let mut short = q.clone();
        short.step.pop();
        let mut tensors = Vec::new();
        push_eight_bit(&mut tensors, short);
        let e = dequantize_file(write(tensors).unwrap()).unwrap_err();
        assert!(e.to_string().contains("w:"), "{e}");
        // The tensor without its companions.
        let e = dequantize_file(
            write(vec![pack_tensor(
                "w".into(),
                DType::U8,
                vec![4, 256],
                q.bytes.clone(),
            )])
            .unwrap(),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("without its minimum"), "{e}");
        // A companion without its tensor.
        let mut tensors = Vec::new();
        push_eight_bit(&mut tensors, q);
        tensors.pop();
        let e = dequantize_file(write(tensors).unwrap()).err().unwrap();
        assert!(e.to_string().contains("of no 8-bit tensor"), "{e}");
    }
}
