//! In a real browser (headless Chromium, driven by wasm-bindgen-test-runner): the small conv net runs on
//! WebGPU and on the CPU backend and both agree with the native CPU reference. The WebGPU test refuses
//! to pass on a silent CPU fallback: it asserts that a WebGPU adapter ran the computation.

#![cfg(target_arch = "wasm32")]

mod common;

use common::{ProbeNet, max_abs_diff, probe_input};
use photolink_core::backend::{BackendKind, Compute};
use wasm_bindgen_test::{console_log, wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

const REFERENCE: &str = include_str!("fixtures/probe_net_output.json");

async fn forward(compute: &Compute) -> Vec<f32> {
    let device = &compute.device;
    ProbeNet::new(device)
        .forward(probe_input(device))
        .into_data_async()
        .await
        .expect("read back")
        .try_into_vec_as::<f32>()
        .expect("f32 output")
}

fn reference() -> Vec<f32> {
    serde_json::from_str(REFERENCE).unwrap()
}

#[wasm_bindgen_test]
async fn webgpu_forward_equals_cpu() {
    let gpu = Compute::gpu_async().await.unwrap_or_else(|e| {
        panic!("{e}\nno WebGPU adapter: is Chromium started with --enable-unsafe-webgpu?")
    });
    console_log!("WebGPU adapter: {}", gpu.info);
    assert_eq!(gpu.info.kind, BackendKind::Gpu);
    assert_eq!(gpu.info.api, "webgpu", "ran on {}, not WebGPU", gpu.info);
    gpu.self_check().await.expect("WebGPU computes");

    let on_gpu = forward(&gpu).await;
    let on_cpu = forward(&Compute::cpu()).await;
    let diff = max_abs_diff(&on_gpu, &on_cpu);
    console_log!("max |webgpu - cpu| = {diff:e}");
    assert!(diff <= 1e-4, "WebGPU and CPU differ by {diff:e}");
    let diff_native = max_abs_diff(&on_gpu, &reference());
    assert!(
        diff_native <= 1e-4,
        "WebGPU differs from the native reference by {diff_native:e}"
    );
}

/// Both CPU engines run their simd128 kernels: the towers' fast path its own (compiled in only
/// with the `simd128` target feature), and burn-flex gemm's, not its scalar fallback (a run-time
/// switch that burn's `simd` feature turns on).
#[wasm_bindgen_test]
async fn cpu_backend_runs_simd128_kernels() {
    let cpu = Compute::cpu();
    console_log!("CPU backend: {}", cpu.info);
    assert_eq!(
        cpu.info.adapter, "photolink-cpu, photolink simd128 4×8 + burn-flex, gemm simd128",
        "the browser's CPU backend runs a scalar GEMM: is `+simd128` set and burn's `simd` feature on?"
    );
}

#[wasm_bindgen_test]
async fn cpu_backend_in_browser_matches_native() {
    let cpu = Compute::cpu();
    assert_eq!(cpu.info.kind, BackendKind::Cpu);
    let diff = max_abs_diff(&forward(&cpu).await, &reference());
    console_log!("max |browser cpu - native cpu| = {diff:e}");
    assert!(
        diff <= 1e-5,
        "browser CPU differs from the native reference by {diff:e}"
    );
}
