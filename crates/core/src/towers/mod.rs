//! The pretrained networks photolink stands on — a face recognition net and a face detector
//! (face-api.js), EfficientNet-Lite0 (ImageNet) and all-MiniLM-L6-v2 (sentence-transformers) — as
//! Burn modules generic over the device (CPU, wgpu, WebGPU), each with the preprocessing it was
//! trained with, and their weight files. MiniLM's tokenizer (the `tokenizers` crate, native only) is
//! behind the `text` feature.

pub mod cpu_path;
pub mod efficientnet;
pub mod eight_bit;
pub mod face_detector;
pub mod facenet;
pub mod golden;
pub mod minilm;
#[cfg(feature = "text")]
pub mod tokenizer;
pub mod weights;
