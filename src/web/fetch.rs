//! The page's bundle [`Transport`]: `fetch` with byte-level progress, sha256 verification against
//! the manifest, and the Cache API so that a second visit downloads nothing. Works in a window and
//! in a worker (everything goes through the global object).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use photolink_core::linker::{LinkError, LoadPhase, Transport};
use photolink_kb::{FileEntry, Manifest, verify_file};
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Name of the Cache API bucket; entries are keyed by URL and sha256, so a changed file never hits.
const CACHE_NAME: &str = "photolink-bundles-v1";

fn get(target: &JsValue, key: &str) -> Result<JsValue, String> {
    Reflect::get(target, &JsValue::from_str(key)).map_err(|e| format!("{key}: {e:?}"))
}

async fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, String> {
    let f: Function = get(target, method)?
        .dyn_into()
        .map_err(|_| format!("{method} is not a function"))?;
    let array = js_sys::Array::new();
    for a in args {
        array.push(a);
    }
    let result = f
        .apply(target, &array)
        .map_err(|e| format!("{method}: {}", describe(&e)))?;
    match result.dyn_into::<Promise>() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .map_err(|e| format!("{method}: {}", describe(&e))),
        Err(value) => Ok(value),
    }
}

/// A JS error's message, or its debug form.
pub fn describe(e: &JsValue) -> String {
    get(e, "message")
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}

async fn open_cache() -> Option<JsValue> {
    let caches = get(&js_sys::global(), "caches").ok()?;
    if caches.is_undefined() {
        return None;
    }
    call(&caches, "open", &[JsValue::from_str(CACHE_NAME)])
        .await
        .ok()
}

/// Resolves `path` against `base` (a bundle URL ending in `/`).
pub fn join(base: &str, path: &str) -> String {
    if base.ends_with('/') {
        format!("{base}{path}")
    } else {
        format!("{base}/{path}")
    }
}

/// Reads a response body chunk by chunk, reporting each chunk's size.
async fn read_body(response: &JsValue, on_bytes: &mut dyn FnMut(u64)) -> Result<Vec<u8>, String> {
    let body = get(response, "body")?;
    if body.is_null() || body.is_undefined() {
        let buffer = call(response, "arrayBuffer", &[]).await?;
        let bytes = Uint8Array::new(&buffer).to_vec();
        on_bytes(bytes.len() as u64);
        return Ok(bytes);
    }
    let reader = call(&body, "getReader", &[]).await?;
    let mut out = Vec::new();
    loop {
        let chunk = call(&reader, "read", &[]).await?;
        if get(&chunk, "done")?.as_bool().unwrap_or(true) {
            break;
        }
        let value: Uint8Array = get(&chunk, "value")?
            .dyn_into()
            .map_err(|_| "a body chunk is not bytes".to_string())?;
        out.extend(value.to_vec());
        on_bytes(u64::from(value.length()));
    }
    Ok(out)
}

/// Fetches `url` (never from the HTTP cache: the manifest must be current).
pub async fn fetch_fresh(url: &str) -> Result<Vec<u8>, String> {
    let init = Object::new();
    Reflect::set(&init, &"cache".into(), &"no-cache".into()).map_err(|e| format!("{e:?}"))?;
    let response = call(
        &js_sys::global(),
        "fetch",
        &[JsValue::from_str(url), init.into()],
    )
    .await?;
    if !get(&response, "ok")?.as_bool().unwrap_or(false) {
        return Err(format!(
            "{url}: HTTP {}",
            get(&response, "status")?.as_f64().unwrap_or(0.0)
        ));
    }
    read_body(&response, &mut |_| {}).await
}

/// A bundle file, verified against its manifest entry: from the Cache API when a verified copy is
/// there, else downloaded (reporting progress) and stored for the next visit.
pub async fn fetch_verified(
    base: &str,
    entry: &FileEntry,
    on_bytes: &mut dyn FnMut(u64),
) -> Result<Vec<u8>, String> {
    let url = join(base, &entry.path);
    let key = format!("{url}?sha256={}", entry.sha256);
    let cache = open_cache().await;
    if let Some(cache) = &cache
        && let Ok(hit) = call(cache, "match", &[JsValue::from_str(&key)]).await
        && !hit.is_undefined()
        && let Ok(bytes) = read_body(&hit, &mut |_| {}).await
        && verify_file(&bytes, entry).is_ok()
    {
        on_bytes(entry.bytes);
        return Ok(bytes);
    }
    let response = call(&js_sys::global(), "fetch", &[JsValue::from_str(&url)]).await?;
    if !get(&response, "ok")?.as_bool().unwrap_or(false) {
        return Err(format!(
            "{}: HTTP {}",
            entry.path,
            get(&response, "status")?.as_f64().unwrap_or(0.0)
        ));
    }
    let bytes = read_body(&response, on_bytes).await?;
    verify_file(&bytes, entry).map_err(|e| e.to_string())?;
    if let Some(cache) = &cache {
        let body = Uint8Array::from(bytes.as_slice());
        if let Ok(ctor) = get(&js_sys::global(), "Response")
            && let Ok(ctor) = ctor.dyn_into::<Function>()
            && let Ok(fresh) = Reflect::construct(&ctor, &js_sys::Array::of1(&body))
        {
            // A full cache or a private window just means the next visit downloads again.
            let _ = call(cache, "put", &[JsValue::from_str(&key), fresh]).await;
        }
    }
    Ok(bytes)
}

/// What the page's `onProgress` receives.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProgressReport<'a> {
    phase: &'a str,
    loaded_bytes: u64,
    total_bytes: u64,
    entities: u64,
}

/// Download progress of a bundle load, or of the partitions a photo needs, reported to the
/// `onProgress` of the call under way (if any).
pub struct Progress {
    callback: RefCell<Option<Function>>,
    total: Cell<u64>,
    loaded: Cell<u64>,
    entities: Cell<u64>,
}

impl Progress {
    /// Progress reported to `callback`.
    pub fn new(callback: Option<Function>) -> Progress {
        Progress {
            callback: RefCell::new(callback),
            total: Cell::new(0),
            loaded: Cell::new(0),
            entities: Cell::new(0),
        }
    }

    /// Reports to `callback` from now on (the `onProgress` of the call starting).
    pub fn listen(&self, callback: Option<Function>) {
        *self.callback.borrow_mut() = callback;
    }

    /// Tells the page where the load stands.
    pub fn report(&self, phase: &str) {
        let callback = self.callback.borrow();
        let Some(f) = callback.as_ref() else { return };
        let p = ProgressReport {
            phase,
            loaded_bytes: self.loaded.get(),
            total_bytes: self.total.get(),
            entities: self.entities.get(),
        };
        if let Ok(v) = serde_wasm_bindgen::to_value(&p) {
            // A throwing progress callback is the page's bug, not a reason to stop loading.
            let _ = f.call1(&JsValue::NULL, &v);
        }
    }

    /// `entities` are searchable now.
    pub fn entities(&self, entities: u64) {
        self.entities.set(entities);
        self.report(LoadPhase::KnowledgeBase.name());
    }
}

/// A bundle on the web, by the URL of its folder.
pub struct HttpBundle {
    base: String,
    progress: Rc<Progress>,
}

impl HttpBundle {
    /// The bundle at `base` (its folder, with `manifest.json`).
    pub fn new(base: String, progress: Rc<Progress>) -> HttpBundle {
        HttpBundle { base, progress }
    }
}

impl Transport for HttpBundle {
    async fn manifest(&mut self) -> Result<Manifest, LinkError> {
        let url = join(&self.base, photolink_kb::manifest::MANIFEST_NAME);
        let bytes = fetch_fresh(&url).await.map_err(|reason| LinkError::Fetch {
            path: url.clone(),
            reason,
        })?;
        Manifest::parse(&bytes).map_err(|e| LinkError::Fetch {
            path: url,
            reason: e.to_string(),
        })
    }

    async fn file(&mut self, entry: &FileEntry, phase: LoadPhase) -> Result<Vec<u8>, LinkError> {
        self.fetch(entry, phase).await
    }

    async fn files(
        &mut self,
        entries: &[FileEntry],
        phase: LoadPhase,
    ) -> Vec<Result<Vec<u8>, LinkError>> {
        // All at once: the browser spreads them over its connections, and a query's dozens of
        // partition files arrive in a few round trips instead of one each.
        let this = &*self;
        futures_util::future::join_all(entries.iter().map(|e| this.fetch(e, phase))).await
    }

    fn expect_bytes(&mut self, total: u64) {
        // Each batch (the load, a photo's partitions, its records) counts from zero.
        self.progress.total.set(total);
        self.progress.loaded.set(0);
    }
}

impl HttpBundle {
    /// A file the manifest lists, verified, with its bytes counted into the progress.
    async fn fetch(&self, entry: &FileEntry, phase: LoadPhase) -> Result<Vec<u8>, LinkError> {
        let progress = &self.progress;
        let mut on_bytes = |n: u64| {
            if phase != LoadPhase::Config {
                progress.loaded.set(progress.loaded.get() + n);
                progress.report(phase.name());
            }
        };
        fetch_verified(&self.base, entry, &mut on_bytes)
            .await
            .map_err(|reason| LinkError::Fetch {
                path: entry.path.clone(),
                reason,
            })
    }
}
