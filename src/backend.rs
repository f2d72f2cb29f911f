//! Which compute backend runs the networks, and how a user can tell.
//!
//! photolink prefers the GPU through wgpu (WebGPU in a browser; Vulkan, Metal or DX12 natively) and
//! falls back to the CPU (burn-flex) when no adapter is available. The choice is never silent: every
//! [`Compute`] carries a [`BackendInfo`] that names the adapter, or says why the CPU is running.

use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The family of the backend that runs the networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A GPU (or a software rasteriser posing as one) through wgpu.
    Gpu,
    /// The CPU, through burn-flex.
    Cpu,
}

/// What runs the networks, in words a user can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackendInfo {
    /// GPU or CPU.
    pub kind: BackendKind,
    /// The graphics API under wgpu (`"vulkan"`, `"webgpu"`, …), or `"cpu"`.
    pub api: String,
    /// The adapter's own name (for example `"llvmpipe (LLVM 15.0.6, 256 bits)"`), or `"burn-flex"`
    /// (in a browser with its GEMM kernel: `"burn-flex, gemm simd128"`).
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
                adapter: cpu_adapter(),
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

    /// The default GPU adapter through wgpu.
    ///
    /// wgpu's runtime can be initialised once per process, so the first outcome is remembered and
    /// every later call returns it.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu() -> Result<Self, GpuUnavailable> {
        static GPU: std::sync::OnceLock<Result<Compute, GpuUnavailable>> =
            std::sync::OnceLock::new();
        GPU.get_or_init(|| {
            let (device, setup) = Device::wgpu_options()
                .init_with_setup()
                .map_err(|e| GpuUnavailable(e.to_string()))?;
            Ok(Self::from_adapter(device, &setup.adapter.get_info()))
        })
        .clone()
    }

    /// The GPU if one comes up, else the CPU with the reason recorded.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn gpu_or_cpu() -> Self {
        Self::gpu().unwrap_or_else(|reason| Self::cpu_because(&reason))
    }

    /// The browser's WebGPU adapter (or the default adapter natively), initialised asynchronously as
    /// browsers require. Remembered like [`Compute::gpu`].
    #[cfg(target_arch = "wasm32")]
    pub async fn gpu_async() -> Result<Self, GpuUnavailable> {
        thread_local! {
            static GPU: std::cell::RefCell<Option<Result<Compute, GpuUnavailable>>> =
                const { std::cell::RefCell::new(None) };
        }
        if let Some(known) = GPU.with(|gpu| gpu.borrow().clone()) {
            return known;
        }
        let outcome = match Device::wgpu_options().init_with_setup_async().await {
            Ok((device, setup)) => {
                let mut compute = Self::from_adapter(device, &setup.adapter.get_info());
                // wgpu fills only the description from the browser's GPUAdapterInfo; vendor and
                // architecture are what tell SwiftShader from a real GPU.
                compute.info.adapter = browser_adapter_label(&compute.info.adapter).await;
                Ok(compute)
            }
            Err(e) => Err(GpuUnavailable(e.to_string())),
        };
        GPU.with(|gpu| *gpu.borrow_mut() = Some(outcome.clone()));
        outcome
    }

    /// The GPU if one comes up, else the CPU with the reason recorded.
    #[cfg(target_arch = "wasm32")]
    pub async fn gpu_or_cpu_async() -> Self {
        match Self::gpu_async().await {
            Ok(gpu) => gpu,
            Err(reason) => Self::cpu_because(&reason),
        }
    }

    fn from_adapter(device: Device, adapter: &burn::tensor::wgpu::wgpu::AdapterInfo) -> Self {
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

/// The CPU backend's name, with the GEMM kernel it runs in a browser: gemm chooses between its
/// simd128 and scalar kernels by a run-time switch (which burn-flex's `simd` feature turns on),
/// reading the same switch as here, so the page shows what really computes.
#[cfg(target_arch = "wasm32")]
fn cpu_adapter() -> String {
    let kernel = if gemm_common::get_wasm_simd128() {
        "simd128"
    } else {
        "scalar"
    };
    format!("burn-flex, gemm {kernel}")
}

/// The CPU backend's name. Natively gemm detects the CPU's vector units (AVX2, AVX-512) itself.
#[cfg(not(target_arch = "wasm32"))]
fn cpu_adapter() -> String {
    "burn-flex".into()
}

/// `vendor architecture (description)` of the browser's WebGPU adapter, read from
/// `navigator.gpu.requestAdapter().info`; `fallback` when the browser hides it.
#[cfg(target_arch = "wasm32")]
async fn browser_adapter_label(fallback: &str) -> String {
    use js_sys::{Promise, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    async fn read() -> Option<String> {
        let get = |obj: &JsValue, key: &str| Reflect::get(obj, &JsValue::from_str(key)).ok();
        // `navigator` exists in windows and workers alike.
        let navigator = get(&js_sys::global(), "navigator")?;
        let gpu = get(&navigator, "gpu")?;
        let request: js_sys::Function = get(&gpu, "requestAdapter")?.dyn_into().ok()?;
        let promise: Promise = request.call0(&gpu).ok()?.dyn_into().ok()?;
        let adapter = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
        let info = get(&adapter, "info")?;
        let field = |key| {
            get(&info, key)
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        let (vendor, architecture, description) =
            (field("vendor"), field("architecture"), field("description"));
        let mut label = format!("{vendor} {architecture}").trim().to_string();
        if !description.is_empty() {
            label = format!("{label} ({description})").trim().to_string();
        }
        (!label.is_empty()).then_some(label)
    }
    read().await.unwrap_or_else(|| fallback.to_string())
}
