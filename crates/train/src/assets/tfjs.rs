//! TensorFlow.js weight manifests (face-api.js's format): a JSON list of tensors — name, shape and an
//! optional uint8 quantisation (`value = min + scale · byte`) — over one concatenated `.bin`, in TF's
//! layouts. Converts face-api.js's two networks into Burn's layouts and module paths, and keeps the
//! source's bytes of each weight in 8 bits ([`EightBit`]), so that a file of them gives back the
//! converted f32 weights bit for bit.

use std::collections::HashMap;

use serde::Deserialize;

use photolink_core::towers::eight_bit::{EightBit, Sources, channel_axis};
use photolink_core::towers::weights::NamedTensor;

/// A tensor as stored by tfjs, in TF layout.
#[derive(Debug, Clone)]
pub struct TfTensor {
    /// TF variable name (`conv32_1/conv1/conv/filters`).
    pub shape: Vec<usize>,
    /// Dequantised values, row-major in `shape`.
    pub values: Vec<f32>,
    /// The stored bytes and their affine map, when the tensor is uint8 in the source.
    pub quantized: Option<Quantized>,
}

/// A uint8 tensor of the source as stored: `value = min + scale · byte`.
#[derive(Debug, Clone)]
pub struct Quantized {
    /// One byte per value, row-major in the TF shape.
    pub bytes: Vec<u8>,
    /// The value of byte 0.
    pub min: f64,
    /// The value between two bytes.
    pub scale: f64,
}

/// The 8-bit form of a converted weight: `bytes` already in Burn's layout `shape`, the source's
/// affine map on every channel, and a per-channel `factor` when the conversion scaled them.
fn eight_bit(
    name: &str,
    shape: &[usize],
    bytes: Vec<u8>,
    q: &Quantized,
    factor: Option<Vec<f32>>,
) -> EightBit {
    let channels = shape[channel_axis(shape)];
    EightBit {
        name: name.to_string(),
        shape: shape.to_vec(),
        bytes,
        min: vec![q.min; channels],
        step: vec![q.scale; channels],
        factor,
    }
}

#[derive(Deserialize)]
struct Group {
    weights: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    quantization: Option<Quantization>,
}

#[derive(Deserialize)]
struct Quantization {
    dtype: String,
    scale: f64,
    min: f64,
}

/// Parses a weight manifest and its `.bin` into tensors by name (in manifest order as a Vec too).
pub fn read(manifest: &[u8], bin: &[u8]) -> Result<Vec<(String, TfTensor)>, String> {
    let groups: Vec<Group> =
        serde_json::from_slice(manifest).map_err(|e| format!("weight manifest: {e}"))?;
    let mut offset = 0usize;
    let mut tensors = Vec::new();
    for entry in groups.into_iter().flat_map(|g| g.weights) {
        if entry.dtype != "float32" {
            return Err(format!(
                "{}: dtype {} is not float32",
                entry.name, entry.dtype
            ));
        }
        let count: usize = entry.shape.iter().product();
        let mut quantized = None;
        let values = match &entry.quantization {
            Some(q) if q.dtype == "uint8" => {
                let bytes = bin
                    .get(offset..offset + count)
                    .ok_or_else(|| truncated(&entry.name, bin.len()))?;
                offset += count;
                quantized = Some(Quantized {
                    bytes: bytes.to_vec(),
                    min: q.min,
                    scale: q.scale,
                });
                // tfjs dequantises in f64 and stores f32.
                bytes
                    .iter()
                    .map(|&b| (f64::from(b) * q.scale + q.min) as f32)
                    .collect()
            }
            Some(q) => {
                return Err(format!(
                    "{}: unsupported quantisation {}",
                    entry.name, q.dtype
                ));
            }
            None => {
                let bytes = bin
                    .get(offset..offset + 4 * count)
                    .ok_or_else(|| truncated(&entry.name, bin.len()))?;
                offset += 4 * count;
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            }
        };
        tensors.push((
            entry.name,
            TfTensor {
                shape: entry.shape,
                values,
                quantized,
            },
        ));
    }
    if offset != bin.len() {
        return Err(format!(
            "the manifest describes {offset} bytes but the .bin has {}",
            bin.len()
        ));
    }
    Ok(tensors)
}

fn truncated(name: &str, len: usize) -> String {
    format!("the .bin ({len} bytes) ends before tensor {name}")
}

/// `[kh, kw, in, out]` (TF HWIO) → `[out, in, kh, kw]` (Burn OIHW), of values or bytes alike.
fn hwio_to_oihw<T: Copy + Default>(shape: &[usize], values: &[T]) -> (Vec<usize>, Vec<T>) {
    let [kh, kw, ci, co] = shape[..] else {
        unreachable!("checked by the caller")
    };
    let mut out = vec![T::default(); values.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..ci {
                for o in 0..co {
                    out[((o * ci + i) * kh + y) * kw + x] =
                        values[((y * kw + x) * ci + i) * co + o];
                }
            }
        }
    }
    (vec![co, ci, kh, kw], out)
}

/// `[kh, kw, c, 1]` (TF depthwise) → `[c, 1, kh, kw]` (Burn grouped conv).
fn depthwise_to_oihw<T: Copy + Default>(shape: &[usize], values: &[T]) -> (Vec<usize>, Vec<T>) {
    let [kh, kw, c, _] = shape[..] else {
        unreachable!("checked by the caller")
    };
    let mut out = vec![T::default(); values.len()];
    for y in 0..kh {
        for x in 0..kw {
            for ch in 0..c {
                out[(ch * kh + y) * kw + x] = values[(y * kw + x) * c + ch];
            }
        }
    }
    (vec![c, 1, kh, kw], out)
}

/// A converted network: its f32 tensors, and the source's form of each weight (uint8 or float32)
/// for its 8-bit file.
pub struct Converted {
    /// The f32 tensors by module path.
    pub tensors: Vec<NamedTensor>,
    /// The 8-bit forms, which dequantise to the f32 tensors of the same name exactly, and the
    /// weights that are float32 in the source.
    pub sources: Sources,
}

impl Converted {
    fn new() -> Self {
        Self {
            tensors: Vec::new(),
            sources: Sources::default(),
        }
    }

    /// Adds a converted weight, with its source's form: `eight_bit` if the source stored it in
    /// uint8, else the f32 values themselves.
    fn push_weight(&mut self, tensor: NamedTensor, eight_bit: Option<EightBit>) {
        match eight_bit {
            Some(q) => self.sources.eight_bit.push(q),
            None => self.sources.float.push(tensor.clone()),
        }
        self.tensors.push(tensor);
    }
}

/// Looks tensors up by TF name with shape checks, and tracks which were used.
struct Source {
    by_name: HashMap<String, TfTensor>,
}

impl Source {
    fn new(tensors: Vec<(String, TfTensor)>) -> Self {
        Self {
            by_name: tensors.into_iter().collect(),
        }
    }

    fn take(&mut self, name: &str, rank: usize) -> Result<TfTensor, String> {
        let t = self
            .by_name
            .remove(name)
            .ok_or_else(|| format!("missing tensor {name}"))?;
        if t.shape.len() != rank {
            return Err(format!(
                "{name}: expected rank {rank}, found shape {:?}",
                t.shape
            ));
        }
        Ok(t)
    }

    fn finish(self) -> Result<(), String> {
        if self.by_name.is_empty() {
            Ok(())
        } else {
            let mut names: Vec<_> = self.by_name.into_keys().collect();
            names.sort();
            Err(format!("unexpected tensors {names:?}"))
        }
    }
}

/// face-api.js residual block names, in network order.
const FACENET_BLOCKS: [&str; 14] = [
    "conv32_1",
    "conv32_2",
    "conv32_3",
    "conv64_down",
    "conv64_1",
    "conv64_2",
    "conv64_3",
    "conv128_down",
    "conv128_1",
    "conv128_2",
    "conv256_down",
    "conv256_1",
    "conv256_2",
    "conv256_down_out",
];

/// FaceRecognitionNet weights → [`photolink_core::towers::facenet::FaceNet`] paths. Each conv's bias and
/// following per-channel scale layer are folded into the conv: `W' = W·s`, `b' = b·s + o`; the
/// 8-bit form of `W'` is the source's bytes and map with `s` as its per-channel factor.
pub fn facenet(tensors: Vec<(String, TfTensor)>) -> Result<Converted, String> {
    let mut src = Source::new(tensors);
    let mut out = Converted::new();
    let mut conv = |src: &mut Source, tf: &str, burn: &str| -> Result<(), String> {
        let filters = src.take(&format!("{tf}/conv/filters"), 4)?;
        let bias = src.take(&format!("{tf}/conv/bias"), 1)?;
        let scale = src.take(&format!("{tf}/scale/weights"), 1)?;
        let offset = src.take(&format!("{tf}/scale/biases"), 1)?;
        let (shape, mut weight) = hwio_to_oihw(&filters.shape, &filters.values);
        let per_out = weight.len() / shape[0];
        if [bias.values.len(), scale.values.len(), offset.values.len()] != [shape[0]; 3] {
            return Err(format!(
                "{tf}: bias/scale sizes do not match {} filters",
                shape[0]
            ));
        }
        for (o, chunk) in weight.chunks_mut(per_out).enumerate() {
            chunk.iter_mut().for_each(|w| *w *= scale.values[o]);
        }
        let folded_bias = (0..shape[0])
            .map(|o| bias.values[o] * scale.values[o] + offset.values[o])
            .collect();
        let channels = shape[0];
        let name = format!("{burn}.weight");
        let eight = filters.quantized.as_ref().map(|q| {
            let (_, bytes) = hwio_to_oihw(&filters.shape, &q.bytes);
            eight_bit(&name, &shape, bytes, q, Some(scale.values.clone()))
        });
        let weight = NamedTensor {
            name,
            shape,
            values: weight,
        };
        out.push_weight(weight, eight);
        out.tensors.push(NamedTensor {
            name: format!("{burn}.bias"),
            shape: vec![channels],
            values: folded_bias,
        });
        Ok(())
    };
    conv(&mut src, "conv32_down", "stem")?;
    for (i, block) in FACENET_BLOCKS.iter().enumerate() {
        conv(
            &mut src,
            &format!("{block}/conv1"),
            &format!("blocks.{i}.conv1"),
        )?;
        conv(
            &mut src,
            &format!("{block}/conv2"),
            &format!("blocks.{i}.conv2"),
        )?;
    }
    let fc = src.take("fc", 2)?;
    // TF dense `[in, out]` is already Burn's Linear layout.
    let eight = fc
        .quantized
        .as_ref()
        .map(|q| eight_bit("fc.weight", &fc.shape, q.bytes.clone(), q, None));
    let weight = NamedTensor {
        name: "fc.weight".into(),
        shape: fc.shape,
        values: fc.values,
    };
    out.push_weight(weight, eight);
    src.finish()?;
    Ok(out)
}

/// How a TF tensor is laid out in Burn.
#[derive(Clone, Copy)]
enum Layout {
    /// A bias: as it is.
    Same,
    /// A convolution's filters ([`hwio_to_oihw`]).
    Conv,
    /// A depthwise convolution's filters ([`depthwise_to_oihw`]).
    Depthwise,
}

impl Layout {
    fn apply<T: Copy + Default>(self, shape: &[usize], values: &[T]) -> (Vec<usize>, Vec<T>) {
        match self {
            Layout::Same => (shape.to_vec(), values.to_vec()),
            Layout::Conv => hwio_to_oihw(shape, values),
            Layout::Depthwise => depthwise_to_oihw(shape, values),
        }
    }
}

/// TinyFaceDetector weights → [`photolink_core::towers::face_detector::FaceDetector`] paths, only
/// transposed: the 8-bit forms are the source's bytes in Burn's layout.
pub fn face_detector(tensors: Vec<(String, TfTensor)>) -> Result<Converted, String> {
    let mut src = Source::new(tensors);
    let mut converted = Converted::new();
    let mut push = |name: String, t: TfTensor, layout: Layout| {
        let (shape, values) = layout.apply(&t.shape, &t.values);
        let eight = t.quantized.as_ref().map(|q| {
            let (_, bytes) = layout.apply(&t.shape, &q.bytes);
            eight_bit(&name, &shape, bytes, q, None)
        });
        let tensor = NamedTensor {
            name,
            shape,
            values,
        };
        if matches!(layout, Layout::Same) {
            converted.tensors.push(tensor);
        } else {
            converted.push_weight(tensor, eight);
        }
    };
    push(
        "conv0.weight".into(),
        src.take("conv0/filters", 4)?,
        Layout::Conv,
    );
    push(
        "conv0.bias".into(),
        src.take("conv0/bias", 1)?,
        Layout::Same,
    );
    for i in 1..=5 {
        let layer = format!("separable.{}", i - 1);
        let dw = src.take(&format!("conv{i}/depthwise_filter"), 4)?;
        push(format!("{layer}.depthwise.weight"), dw, Layout::Depthwise);
        let pw = src.take(&format!("conv{i}/pointwise_filter"), 4)?;
        push(format!("{layer}.pointwise.weight"), pw, Layout::Conv);
        let bias = src.take(&format!("conv{i}/bias"), 1)?;
        push(format!("{layer}.pointwise.bias"), bias, Layout::Same);
    }
    push(
        "head.weight".into(),
        src.take("conv8/filters", 4)?,
        Layout::Conv,
    );
    push("head.bias".into(), src.take("conv8/bias", 1)?, Layout::Same);
    src.finish()?;
    Ok(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantises_and_reads_floats_in_order() {
        let manifest = br#"[{"paths":["x.bin"],"weights":[
            {"name":"a","shape":[2],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1.0}},
            {"name":"b","shape":[1],"dtype":"float32"}]}]"#;
        let mut bin = vec![0u8, 4];
        bin.extend_from_slice(&2.5f32.to_le_bytes());
        let t = read(manifest, &bin).unwrap();
        assert_eq!(t[0].0, "a");
        assert_eq!(t[0].1.values, vec![-1.0, 1.0]);
        assert_eq!(t[0].1.quantized.as_ref().unwrap().bytes, vec![0, 4]);
        assert!(t[1].1.quantized.is_none());
        assert_eq!(t[1].1.values, vec![2.5]);
        assert!(
            read(manifest, &bin[..5])
                .unwrap_err()
                .contains("ends before tensor b")
        );
        let mut long = bin.clone();
        long.push(0);
        assert!(
            read(manifest, &long)
                .unwrap_err()
                .contains("describes 6 bytes")
        );
    }

    #[test]
    fn layouts_are_transposed() {
        // HWIO [1, 2, 1, 2]: value = 10·x + o.
        let (shape, v) = hwio_to_oihw(&[1, 2, 1, 2], &[0.0, 1.0, 10.0, 11.0]);
        assert_eq!(shape, vec![2, 1, 1, 2]);
        assert_eq!(v, vec![0.0, 10.0, 1.0, 11.0]);
        // (x, c): 10·x + c
        let (shape, v) = depthwise_to_oihw(&[1, 2, 2, 1], &[0.0, 1.0, 10.0, 11.0]);
        assert_eq!(shape, vec![2, 1, 1, 2]);
        assert_eq!(v, vec![0.0, 10.0, 1.0, 11.0]);
    }
}
