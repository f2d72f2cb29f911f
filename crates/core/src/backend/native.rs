//! The native edge of [`Compute`]: wgpu comes up synchronously (Vulkan, Metal or DX12), once per
//! process, and gemm detects the CPU's vector units (AVX2, AVX-512) itself.

use burn::tensor::Device;

use super::{Compute, GpuUnavailable};

impl Compute {
    /// The default GPU adapter through wgpu.
    ///
    /// wgpu's runtime can be initialised once per process, so the first outcome is remembered and
    /// every later call returns it.
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
    pub fn gpu_or_cpu() -> Self {
        Self::gpu().unwrap_or_else(|reason| Self::cpu_because(&reason))
    }
}

/// The CPU backend's name. Natively gemm detects the CPU's vector units (AVX2, AVX-512) itself.
pub(super) fn cpu_adapter() -> String {
    format!(
        "photolink-cpu, {} + burn-flex",
        photolink_cpu::gemm_kernel_name()
    )
}
