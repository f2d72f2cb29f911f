//! TensorFlow.js weight manifests (face-api.js's format): a JSON list of tensors — name, shape and an
//! optional uint8 quantisation (`value = min + scale · byte`) — over one concatenated `.bin`, in TF's
//! layouts. Converts face-api.js's two networks into Burn's layouts and module paths.

use std::collections::HashMap;

use serde::Deserialize;

use photolink_core::towers::weights::NamedTensor;

/// A tensor as stored by tfjs, in TF layout.
#[derive(Debug, Clone)]
pub struct TfTensor {
    /// TF variable name (`conv32_1/conv1/conv/filters`).
    pub shape: Vec<usize>,
    /// Dequantised values, row-major in `shape`.
    pub values: Vec<f32>,
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
        let values = match &entry.quantization {
            Some(q) if q.dtype == "uint8" => {
                let bytes = bin
                    .get(offset..offset + count)
                    .ok_or_else(|| truncated(&entry.name, bin.len()))?;
                offset += count;
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

/// `[kh, kw, in, out]` (TF HWIO) → `[out, in, kh, kw]` (Burn OIHW).
fn hwio_to_oihw(t: &TfTensor) -> (Vec<usize>, Vec<f32>) {
    let [kh, kw, ci, co] = t.shape[..] else {
        unreachable!("checked by the caller")
    };
    let mut out = vec![0.0; t.values.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..ci {
                for o in 0..co {
                    out[((o * ci + i) * kh + y) * kw + x] =
                        t.values[((y * kw + x) * ci + i) * co + o];
                }
            }
        }
    }
    (vec![co, ci, kh, kw], out)
}

/// `[kh, kw, c, 1]` (TF depthwise) → `[c, 1, kh, kw]` (Burn grouped conv).
fn depthwise_to_oihw(t: &TfTensor) -> (Vec<usize>, Vec<f32>) {
    let [kh, kw, c, _] = t.shape[..] else {
        unreachable!("checked by the caller")
    };
    let mut out = vec![0.0; t.values.len()];
    for y in 0..kh {
        for x in 0..kw {
            for ch in 0..c {
                out[(ch * kh + y) * kw + x] = t.values[(y * kw + x) * c + ch];
            }
        }
    }
    (vec![c, 1, kh, kw], out)
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
/// following per-channel scale layer are folded into the conv: `W' = W·s`, `b' = b·s + o`.
pub fn facenet(tensors: Vec<(String, TfTensor)>) -> Result<Vec<NamedTensor>, String> {
    let mut src = Source::new(tensors);
    let mut out = Vec::new();
    let mut conv = |src: &mut Source, tf: &str, burn: &str| -> Result<(), String> {
        let filters = src.take(&format!("{tf}/conv/filters"), 4)?;
        let bias = src.take(&format!("{tf}/conv/bias"), 1)?;
        let scale = src.take(&format!("{tf}/scale/weights"), 1)?;
        let offset = src.take(&format!("{tf}/scale/biases"), 1)?;
        let (shape, mut weight) = hwio_to_oihw(&filters);
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
        out.push(NamedTensor {
            name: format!("{burn}.weight"),
            shape,
            values: weight,
        });
        out.push(NamedTensor {
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
    out.push(NamedTensor {
        name: "fc.weight".into(),
        shape: fc.shape,
        values: fc.values,
    });
    src.finish()?;
    Ok(out)
}

/// TinyFaceDetector weights → [`photolink_core::towers::face_detector::FaceDetector`] paths.
pub fn face_detector(tensors: Vec<(String, TfTensor)>) -> Result<Vec<NamedTensor>, String> {
    let mut src = Source::new(tensors);
    let mut out = Vec::new();
    let mut push = |name: String, (shape, values): (Vec<usize>, Vec<f32>)| {
        out.push(NamedTensor {
            name,
            shape,
            values,
        })
    };
    let bias = |t: TfTensor| (t.shape, t.values);
    push(
        "conv0.weight".into(),
        hwio_to_oihw(&src.take("conv0/filters", 4)?),
    );
    push("conv0.bias".into(), bias(src.take("conv0/bias", 1)?));
    for i in 1..=5 {
        let layer = format!("separable.{}", i - 1);
        let dw = src.take(&format!("conv{i}/depthwise_filter"), 4)?;
        push(format!("{layer}.depthwise.weight"), depthwise_to_oihw(&dw));
        let pw = src.take(&format!("conv{i}/pointwise_filter"), 4)?;
        push(format!("{layer}.pointwise.weight"), hwio_to_oihw(&pw));
        push(
            format!("{layer}.pointwise.bias"),
            bias(src.take(&format!("conv{i}/bias"), 1)?),
        );
    }
    push(
        "head.weight".into(),
        hwio_to_oihw(&src.take("conv8/filters", 4)?),
    );
    push("head.bias".into(), bias(src.take("conv8/bias", 1)?));
    src.finish()?;
    Ok(out)
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
        let t = TfTensor {
            shape: vec![1, 2, 1, 2],
            values: vec![0.0, 1.0, 10.0, 11.0],
        };
        let (shape, v) = hwio_to_oihw(&t);
        assert_eq!(shape, vec![2, 1, 1, 2]);
        assert_eq!(v, vec![0.0, 10.0, 1.0, 11.0]);
        let d = TfTensor {
            shape: vec![1, 2, 2, 1],
            values: vec![0.0, 1.0, 10.0, 11.0], // (x, c): 10·x + c
        };
        let (shape, v) = depthwise_to_oihw(&d);
        assert_eq!(shape, vec![2, 1, 1, 2]);
        assert_eq!(v, vec![0.0, 10.0, 1.0, 11.0]);
    }
}
