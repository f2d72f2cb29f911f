//! The same small conv net gives the same numbers on every native backend: burn-flex (CPU) and wgpu
//! (lavapipe's software Vulkan on a machine without a GPU), and the CPU result matches the committed
//! reference that the browser tests check too.

#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::{ProbeNet, max_abs_diff, probe_input};
use photolink_core::backend::{BackendKind, Compute};

const REFERENCE: &str = include_str!("fixtures/probe_net_output.json");

fn forward(compute: &Compute) -> Vec<f32> {
    let device = &compute.device;
    ProbeNet::new(device)
        .forward(probe_input(device))
        .into_data()
        .try_into_vec_as::<f32>()
        .expect("f32 output")
}

#[test]
fn cpu_forward_matches_committed_reference() {
    let out = forward(&Compute::cpu());
    if std::env::var_os("PHOTOLINK_BLESS").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/probe_net_output.json"
        );
        std::fs::write(path, serde_json::to_string(&out).unwrap()).unwrap();
    }
    let reference: Vec<f32> = serde_json::from_str(REFERENCE).unwrap();
    assert_eq!(out.len(), 2 * ProbeNet::OUT);
    let diff = max_abs_diff(&out, &reference);
    assert!(
        diff <= 1e-5,
        "CPU output drifted from the reference by {diff:e}"
    );
    // A net whose output is (nearly) constant would make every parity check vacuous.
    let spread =
        out.iter().cloned().fold(f32::MIN, f32::max) - out.iter().cloned().fold(f32::MAX, f32::min);
    assert!(spread > 0.1, "probe output is degenerate (spread {spread})");
}

#[test]
fn wgpu_forward_equals_cpu() {
    let gpu = Compute::gpu().unwrap_or_else(|e| {
        panic!("{e}\nno wgpu adapter: install Mesa lavapipe (tools/setup.sh) or run on a GPU")
    });
    println!("wgpu adapter: {}", gpu.info);
    assert_eq!(
        gpu.info.kind,
        BackendKind::Gpu,
        "wgpu must not fall back to the CPU"
    );
    let diff = max_abs_diff(&forward(&gpu), &forward(&Compute::cpu()));
    println!("max |wgpu - cpu| = {diff:e}");
    assert!(diff <= 1e-4, "wgpu and CPU differ by {diff:e}");
}
