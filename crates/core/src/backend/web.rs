//! The browser edge of [`Compute`]: WebGPU comes up asynchronously, as browsers require, once per
//! page, and the CPU backend names the GEMM kernel it runs (simd128 or scalar).

use burn::tensor::Device;

use super::{Compute, GpuUnavailable};

impl Compute {
    /// The browser's WebGPU adapter, initialised asynchronously as browsers require. The first
    /// outcome is remembered and every later call returns it. wgpu reads only the adapter's
    /// description; the page's façade adds the vendor and architecture it reads from the browser.
    pub async fn gpu_async() -> Result<Self, GpuUnavailable> {
        thread_local! {
            static GPU: std::cell::RefCell<Option<Result<Compute, GpuUnavailable>>> =
                const { std::cell::RefCell::new(None) };
        }
        if let Some(known) = GPU.with(|gpu| gpu.borrow().clone()) {
            return known;
        }
        let outcome = match Device::wgpu_options().init_with_setup_async().await {
            Ok((device, setup)) => Ok(Self::from_adapter(device, &setup.adapter.get_info())),
            Err(e) => Err(GpuUnavailable(e.to_string())),
        };
        GPU.with(|gpu| *gpu.borrow_mut() = Some(outcome.clone()));
        outcome
    }

    /// The GPU if one comes up, else the CPU with the reason recorded.
    pub async fn gpu_or_cpu_async() -> Self {
        match Self::gpu_async().await {
            Ok(gpu) => gpu,
            Err(reason) => Self::cpu_because(&reason),
        }
    }
}

/// The CPU backend's name, with the GEMM kernels it runs in a browser: the towers' fast path
/// (`photolink-cpu`) names its kernel, and burn-flex (the other networks) names gemm's,
/// which gemm chooses between simd128 and scalar by a run-time switch (which burn-flex's `simd`
/// feature turns on), read here, so the page shows what really computes.
pub(super) fn cpu_adapter() -> String {
    let kernel = if gemm_common::get_wasm_simd128() {
        "simd128"
    } else {
        "scalar"
    };
    format!(
        "photolink-cpu, {} + burn-flex, gemm {kernel}",
        photolink_cpu::gemm_kernel_name()
    )
}
