//! The browser's own words for its WebGPU adapter: wgpu reads only the description, and vendor and
//! architecture are what tell SwiftShader from a real GPU.

/// `vendor architecture (description)` of the browser's WebGPU adapter, read from
/// `navigator.gpu.requestAdapter().info`; `fallback` when the browser hides it.
pub async fn label(fallback: &str) -> String {
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
