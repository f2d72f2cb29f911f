//! Which compute backend runs the networks, and how a user can tell.
//!
//! photolink prefers the GPU through wgpu (WebGPU in a browser; Vulkan, Metal or DX12 natively) and
//! falls back to the CPU (burn-flex) when no adapter is available. The choice is never silent: every
//! [`Compute`] carries a [`BackendInfo`] that names the adapter, or says why the CPU is running.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

// The only target fence of this crate: how the GPU comes up (synchronously natively, asynchronously
// in a browser) and what the CPU backend is called differ by target, and nothing else does.
#[cfg(not(target_arch = "wasm32"))]
#[path = "native.rs"]
mod edge;
#[cfg(target_arch = "wasm32")]
#[path = "web.rs"]
mod edge;

/// The family of the backend that runs the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A GPU (or a software rasteriser posing as one) through wgpu.
    Gpu,
    /// The CPU: the towers' fast path (photolink-cpu) and burn-flex.
    Cpu,
}

/// What runs the networks, in words a user can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// GPU or CPU.
    pub kind: BackendKind,
    /// The graphics API under wgpu (`"vulkan"`, `"webgpu"`, …), or `"cpu"`.
    pub api: String,
    /// The adapter's own name (for example `"llvmpipe (LLVM 15.0.6, 256 bits)"`), or the CPU
    /// engines with their GEMM kernels (in a browser:
    /// `"photolink-cpu, photolink simd128 4×8 + burn-flex, gemm simd128"`).
    pub adapter: String,
    /// Why the CPU runs although a GPU was asked for; `None` when nothing fell back.
    pub fallback_reason: Option<String>,
}

impl std::fmt::Display for BackendInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            BackendKind::Gpu => write!(f, "GPU via {} ({})", self.api, self.adapter)?,
            BackendKind::Cpu => write!(f, "CPU ({})", self.adapter)?,
        }
        if let Some(reason) = &self.fallback_reason {
            write!(f, " — GPU unavailable: {reason}")?;
        }
        Ok(())
    }
}

/// Whether `device` is the CPU backend (burn-flex), where the towers' fast path runs instead.
pub fn is_cpu(device: &Device) -> bool {
    *device == Device::flex()
}

/// The GPU could not be brought up.
#[derive(Debug, Clone, thiserror::Error)]
#[error("no GPU backend: {0}")]
pub struct GpuUnavailable(pub String);

/// A device to run tensors on, together with what it is.
#[derive(Debug, Clone)]
pub struct Compute {
    /// The burn device; every tensor and module of this pipeline lives on it.
    pub device: Device,
    /// What the device is.
    pub info: BackendInfo,
}

impl Compute {
    /// The CPU backend (burn-flex). Always available.
    pub fn cpu() -> Self {
        Self {
            device: Device::flex(),
            info: BackendInfo {
                kind: BackendKind::Cpu,
                api: "cpu".into(),
                adapter: edge::cpu_adapter(),
                fallback_reason: None,
            },
        }
    }

    /// The CPU backend, recording why the GPU could not be used.
    pub fn cpu_because(reason: &GpuUnavailable) -> Self {
        let mut compute = Self::cpu();
        compute.info.fallback_reason = Some(reason.0.clone());
        compute
    }

    pub(crate) fn from_adapter(
        device: Device,
        adapter: &burn::tensor::wgpu::wgpu::AdapterInfo,
    ) -> Self {
        let api = match adapter.backend {
            burn::tensor::wgpu::wgpu::Backend::BrowserWebGpu => "webgpu".to_string(),
            other => other.to_str().to_string(),
        };
        Self {
            device,
            info: BackendInfo {
                kind: BackendKind::Gpu,
                api,
                adapter: adapter.name.clone(),
                fallback_reason: None,
            },
        }
    }

    /// Runs a small computation and reads it back, proving the device really computes (a GPU can
    /// come up and still fail at its first shader). Async so that browsers can read back.
    pub async fn self_check(&self) -> Result<(), String> {
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &self.device);
        let sum: f32 = (x.clone() * x)
            .sum()
            .into_scalar_async()
            .await
            .map_err(|e| format!("reading back from {}: {e:?}", self.info))?;
        if sum == 30.0 {
            Ok(())
        } else {
            Err(format!(
                "{} computed 1²+2²+3²+4² = {sum}, not 30",
                self.info
            ))
        }
    }
}
