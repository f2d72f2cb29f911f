//! The browser façade: what `pkg/photolink.js` exports to the page. It holds no logic of its own —
//! every call is a thin wrapper over the library rooms, so the page and the CLI cannot disagree.

use wasm_bindgen::prelude::*;

use crate::backend::{Compute, GpuUnavailable};

/// Runs once when the module is instantiated: Rust panics reach the browser console with their message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Brings up the backend the page will compute on — WebGPU when the browser offers a working adapter,
/// else the CPU — and describes it (`{kind, api, adapter, fallback_reason}`).
#[wasm_bindgen(js_name = initBackend)]
pub async fn init_backend() -> Result<JsValue, JsError> {
    let mut compute = Compute::gpu_or_cpu_async().await;
    if let Err(failure) = compute.self_check().await {
        compute = Compute::cpu_because(&GpuUnavailable(failure));
        compute.self_check().await.map_err(|e| JsError::new(&e))?;
    }
    Ok(serde_wasm_bindgen::to_value(&compute.info)?)
}
