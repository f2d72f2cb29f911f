//! The browser façade: what `pkg/photolink.js` exports to the page. It holds no logic of its own —
//! every call is a thin wrapper over `photolink-core`'s linker and its one bundle loader, so the
//! page and the native `photolink link` cannot disagree. The only code that speaks to JavaScript
//! (wasm-bindgen, js-sys, web-sys) is here. Values cross the boundary with serde-wasm-bindgen.

mod adapter;
mod backend;
mod fetch;
mod typescript;

use std::rc::Rc;

use backend::{BackendRequest, BackendTiming, working_backend};
use photolink_core::backend::{BackendInfo, BackendKind, Compute, GpuUnavailable};
use photolink_core::linker::{self, KbFetch, LinkOptions, Linker, LoadRequest};
use photolink_core::photo::{BoundingBox, DecodeLimits, Photo, PhotoError, decode};
use photolink_core::towers::weights::Precision;
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: Rust panics reach the browser console with their message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Brings up the backend the page will compute on — WebGPU when the browser offers a working adapter,
/// else the CPU — and describes it (`{kind, api, adapter, fallback_reason}`).
#[wasm_bindgen(js_name = initBackend, unchecked_return_type = "BackendInfo")]
pub async fn init_backend() -> Result<JsValue, JsError> {
    Ok(serde_wasm_bindgen::to_value(
        &working_backend(false).await.info,
    )?)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LoadOptions {
    /// `"auto"` (the faster, measured at load), `"gpu"` or `"cpu"`.
    backend: BackendRequest,
    /// Older spelling of `backend: "cpu"`.
    prefer_cpu: bool,
    /// Which weight files to download (default: 8 bits).
    precision: Option<Precision>,
    /// Older spelling of `precision: "f32"`.
    full_precision: bool,
    /// `"partitions"` (default: a partitioned bundle fetches per photo what it needs) or
    /// `"whole"` (every shard at load, searched exhaustively).
    kb: KbFetch,
    /// Partitions a photo searches, instead of the bundle's default.
    nprobe: Option<u32>,
}

impl LoadOptions {
    fn backend(&self) -> BackendRequest {
        if self.prefer_cpu {
            BackendRequest::Cpu
        } else {
            self.backend
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkRequest {
    #[serde(default = "default_k")]
    k: usize,
    #[serde(rename = "box")]
    bbox: Option<[f32; 4]>,
    /// Link what there is of a JPEG that stops early, instead of refusing it.
    #[serde(default)]
    accept_damaged: bool,
}

fn default_k() -> usize {
    5
}

impl LinkRequest {
    /// The options of `link` or `embed` (`what`, for the error); absent options mean the defaults.
    fn parse(options: Option<JsValue>, what: &str) -> Result<Self, JsError> {
        let Some(options) = options.filter(|o| !o.is_null() && !o.is_undefined()) else {
            return Ok(Self {
                k: default_k(),
                bbox: None,
                accept_damaged: false,
            });
        };
        serde_wasm_bindgen::from_value(options).map_err(|e| error(format!("{what} options: {e}")))
    }

    /// The photo's pixels, decoded under the default limits (a damaged JPEG only when asked for).
    fn decode(&self, image: &[u8]) -> Result<Photo, JsValue> {
        let limits = DecodeLimits {
            accept_truncated: self.accept_damaged,
            ..DecodeLimits::default()
        };
        decode(image, &limits).map_err(photo_error)
    }

    /// The drawn box, if any, checked as the command line checks `--box`.
    fn bbox(&self) -> Result<Option<BoundingBox>, JsError> {
        self.bbox
            .map(BoundingBox::from_corners)
            .transpose()
            .map_err(error)
    }
}

/// The `onProgress` function of a call's options, if it has one.
fn progress_callback(options: Option<&JsValue>) -> Option<js_sys::Function> {
    options
        .and_then(|o| js_sys::Reflect::get(o, &"onProgress".into()).ok())
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
}

/// How a partitioned bundle is searched.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartitionInfo {
    count: u32,
    nprobe: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleInfo<'a> {
    title: &'a str,
    entities: u64,
    resident_entities: u64,
    partitions: Option<PartitionInfo>,
    dim: usize,
    faces: bool,
    image_tower: &'a str,
    backend: &'a BackendInfo,
    backend_timing: &'a BackendTiming,
}

/// A subject, as `Linker.embed` returns it (its `vector`, a `Float32Array`, is set beside).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddedSubject {
    #[serde(rename = "box")]
    bbox: BoundingBox,
    detection_score: Option<f32>,
}

/// A loaded bundle, linking photos in this page.
#[wasm_bindgen(js_name = Linker)]
pub struct WebLinker {
    inner: Option<Linker>,
    timing: BackendTiming,
    /// Where the partitions a photo needs come from.
    transport: fetch::HttpBundle,
    progress: Rc<fetch::Progress>,
}

fn error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

/// An undecodable photo as a JavaScript `Error`; a JPEG that stops early is named
/// `DamagedPhotoError`, so that a page can offer to link what there is of it.
fn photo_error(e: PhotoError) -> JsValue {
    let js = js_sys::Error::new(&e.to_string());
    if e == PhotoError::Truncated {
        js.set_name("DamagedPhotoError");
    }
    js.into()
}

#[wasm_bindgen(js_class = Linker)]
impl WebLinker {
    /// Downloads and verifies the bundle at `bundleUrl` (its folder, with `manifest.json`):
    /// weights, then the KB shards, each added to the search as it arrives, or for a partitioned
    /// bundle only its centroids (each photo then fetches its nearest partitions). `options`:
    /// `{ onProgress(p), backend, precision, kb, nprobe }`; `p` is
    /// `{ phase, loadedBytes, totalBytes, entities }`. `backend`: `"auto"` (default: where WebGPU
    /// comes up, a warm-up photo is linked on it and on the CPU and the faster is kept), `"gpu"` or
    /// `"cpu"`. A second visit is served from the Cache API.
    pub async fn load(
        bundle_url: String,
        #[wasm_bindgen(unchecked_optional_param_type = "LoadOptions")] options: Option<JsValue>,
    ) -> Result<WebLinker, JsError> {
        let options = options.filter(|o| !o.is_null() && !o.is_undefined());
        let on_progress = progress_callback(options.as_ref());
        // A misspelt backend is an error that names it, not a silent default.
        let opts: LoadOptions = match options {
            None => LoadOptions::default(),
            Some(o) => serde_wasm_bindgen::from_value(o)
                .map_err(|e| error(format!("Linker.load options: {e}")))?,
        };
        let progress = Rc::new(fetch::Progress::new(on_progress));
        let mut transport = fetch::HttpBundle::new(bundle_url, progress.clone());
        let request = opts.backend();
        let compute = working_backend(request == BackendRequest::Cpu).await;
        let precision = match (opts.precision, opts.full_precision) {
            (Some(p), _) => p,
            (None, true) => Precision::F32,
            (None, false) => Precision::U8,
        };
        let load = LoadRequest {
            precision,
            fetch: opts.kb,
            nprobe: opts.nprobe.map(|n| n as usize),
        };
        let inner = linker::load(&mut transport, compute, load, |linker| {
            progress.entities(linker.loaded());
        })
        .await
        .map_err(error)?;
        progress.report("timing the backends");
        let (inner, timing) = backend::choose(inner, request).await.map_err(error)?;
        progress.report("ready");
        progress.listen(None);
        Ok(WebLinker {
            inner: Some(inner),
            timing,
            transport,
            progress,
        })
    }

    /// Links the subjects of a photo (its file's bytes): `options`
    /// `{ k, box: [x1,y1,x2,y2], acceptDamaged, onProgress }`. Resolves to
    /// `[{ box, detectionScore, known, matches: [{ id, name, description, url, score }],
    /// refused? }]`, faces in reading order. A partitioned bundle first fetches (and caches) the
    /// partitions the photo needs, reporting to `onProgress`; a partition that fails its sha256
    /// is named in `refused` and the others answer. A JPEG that stops early rejects with a `DamagedPhotoError` unless
    /// `acceptDamaged` is set. A GPU failure switches this linker to the CPU and retries once.
    #[wasm_bindgen(unchecked_return_type = "Subject[]")]
    pub async fn link(
        &mut self,
        image: Vec<u8>,
        #[wasm_bindgen(unchecked_optional_param_type = "LinkOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let options = options.filter(|o| !o.is_null() && !o.is_undefined());
        self.progress.listen(progress_callback(options.as_ref()));
        let request = LinkRequest::parse(options, "link")?;
        let photo = request.decode(&image)?;
        let options = LinkOptions {
            k: request.k.clamp(1, 100),
            bbox: request.bbox()?,
        };
        let inner = self
            .inner
            .as_mut()
            .ok_or_else(|| error("the linker failed earlier; reload the page"))?;
        let on_gpu = inner.compute().info.kind == BackendKind::Gpu;
        let outcome = inner
            .link_fetching(&mut self.transport, &photo, options)
            .await;
        let subjects = match outcome {
            Ok(subjects) => subjects,
            Err(failure) if on_gpu => {
                // A lost or broken GPU must not leave the page without a linker.
                let reason = GpuUnavailable(format!("WebGPU failed while linking: {failure}"));
                let old = self.inner.take().expect("checked above");
                let mut rebuilt = old.rebuild(Compute::cpu_because(&reason)).map_err(error)?;
                let subjects = rebuilt
                    .link_fetching(&mut self.transport, &photo, options)
                    .await
                    .map_err(error)?;
                self.inner = Some(rebuilt);
                subjects
            }
            Err(e) => return Err(error(e).into()),
        };
        self.progress.listen(None);
        Ok(serde_wasm_bindgen::to_value(&subjects)?)
    }

    /// The unit vectors the linker would search with, for each subject of the photo (the same
    /// `options` as `link`): `[{ box, detectionScore, vector }]`. For checking the browser against
    /// the native `photolink link --vectors`.
    #[wasm_bindgen(unchecked_return_type = "EmbeddedSubject[]")]
    pub async fn embed(
        &self,
        image: Vec<u8>,
        #[wasm_bindgen(unchecked_optional_param_type = "LinkOptions")] options: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let request = LinkRequest::parse(options, "embed")?;
        let photo = request.decode(&image)?;
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        let options = LinkOptions {
            k: 1,
            bbox: request.bbox()?,
        };
        let subjects = js_sys::Array::new();
        for (bbox, detection_score, vector) in inner
            .subject_vectors(&photo, options)
            .await
            .map_err(error)?
        {
            let subject = serde_wasm_bindgen::to_value(&EmbeddedSubject {
                bbox,
                detection_score,
            })?;
            // A typed array is one copy; serde would cross into JavaScript once per value.
            let vector = js_sys::Float32Array::from(&vector[..]);
            js_sys::Reflect::set(&subject, &"vector".into(), &vector)?;
            subjects.push(&subject);
        }
        Ok(subjects.into())
    }

    /// The unit vector of each image in `pixels`, already preprocessed for the image tower
    /// (1 to 16 images of `3 × side × side` values, channel-major and normalised as the linker does): the
    /// network alone, with no decoding or resizing, for benchmarks against another engine's network.
    #[wasm_bindgen(js_name = embedPixels)]
    pub async fn embed_pixels(&self, pixels: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        inner.embed_pixels(pixels).await.map_err(error)
    }

    /// What runs and what was loaded: `{ title, entities, residentEntities, partitions, dim,
    /// faces, imageTower, backend, backendTiming: { chosenBy, gpuMs, cpuMs } }`; `partitions`
    /// (`{ count, nprobe }`) when the KB is searched by partition.
    #[wasm_bindgen(unchecked_return_type = "BundleInfo")]
    pub fn info(&self) -> Result<JsValue, JsError> {
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        let config = inner.config();
        let kb = inner.knowledge_base();
        Ok(serde_wasm_bindgen::to_value(&BundleInfo {
            title: &config.title,
            entities: inner.total(),
            resident_entities: inner.loaded(),
            partitions: kb
                .nprobe()
                .zip(kb.manifest().partitions.as_ref())
                .map(|(nprobe, p)| PartitionInfo {
                    count: p.count,
                    nprobe,
                }),
            dim: config.dim,
            faces: config.faces,
            image_tower: config.image_tower.name(),
            backend: &inner.compute().info,
            backend_timing: &self.timing,
        })?)
    }

    /// Which backend computes: `{ kind, api, adapter, fallback_reason }`.
    #[wasm_bindgen(unchecked_return_type = "BackendInfo")]
    pub fn backend(&self) -> Result<JsValue, JsError> {
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        Ok(serde_wasm_bindgen::to_value(&inner.compute().info)?)
    }
}
