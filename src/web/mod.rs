//! The browser façade: what `pkg/photolink.js` exports to the page. It holds no logic of its own —
//! every call is a thin wrapper over [`crate::linker`], so the page and the native `photolink link`
//! cannot disagree. Values cross the boundary with serde-wasm-bindgen.

mod fetch;

use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

use crate::backend::{BackendInfo, Compute, GpuUnavailable};
use crate::kb::{Manifest, MetaShard, Refinement, Shard};
use crate::linker::{self, LinkOptions, Linker, LinkerConfig};
use crate::photo::{BoundingBox, DecodeLimits, decode};

/// Runs once when the module is instantiated: Rust panics reach the browser console with their message.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Brings up the backend the page will compute on — WebGPU when the browser offers a working adapter,
/// else the CPU — and describes it (`{kind, api, adapter, fallback_reason}`).
#[wasm_bindgen(js_name = initBackend)]
pub async fn init_backend() -> Result<JsValue, JsError> {
    Ok(serde_wasm_bindgen::to_value(
        &working_backend(false).await.info,
    )?)
}

/// The GPU if it comes up and computes correctly, else the CPU with the reason recorded.
async fn working_backend(prefer_cpu: bool) -> Compute {
    if prefer_cpu {
        return Compute::cpu();
    }
    let compute = Compute::gpu_or_cpu_async().await;
    match compute.self_check().await {
        Ok(()) => compute,
        Err(failure) => Compute::cpu_because(&GpuUnavailable(failure)),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LoadOptions {
    /// Use the CPU backend even when WebGPU is available.
    prefer_cpu: bool,
    /// Download the full-precision weights (twice the bytes) instead of half precision.
    full_precision: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkRequest {
    #[serde(default = "default_k")]
    k: usize,
    #[serde(rename = "box")]
    bbox: Option<[f32; 4]>,
}

fn default_k() -> usize {
    5
}

impl LinkRequest {
    /// The options of `link` or `embed` (`what`, for the error); absent options mean the defaults.
    fn parse(options: JsValue, what: &str) -> Result<Self, JsError> {
        if options.is_undefined() || options.is_null() {
            return Ok(Self {
                k: default_k(),
                bbox: None,
            });
        }
        serde_wasm_bindgen::from_value(options).map_err(|e| error(format!("{what} options: {e}")))
    }

    /// The drawn box, if any.
    fn bbox(&self) -> Option<BoundingBox> {
        self.bbox
            .map(|[x1, y1, x2, y2]| BoundingBox { x1, y1, x2, y2 })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Progress<'a> {
    phase: &'a str,
    loaded_bytes: u64,
    total_bytes: u64,
    entities: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundleInfo<'a> {
    title: &'a str,
    entities: u64,
    dim: usize,
    faces: bool,
    image_tower: &'a str,
    backend: &'a BackendInfo,
}

/// A subject and its vector, as `Linker.embed` returns it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EmbeddedSubject {
    #[serde(rename = "box")]
    bbox: BoundingBox,
    detection_score: Option<f32>,
    vector: Vec<f32>,
}

/// Byte-level download progress, passed to the page's `onProgress`.
struct Reporter {
    callback: Option<js_sys::Function>,
    total: u64,
    loaded: u64,
    entities: u64,
}

impl Reporter {
    fn report(&self, phase: &str) {
        let Some(f) = &self.callback else { return };
        let p = Progress {
            phase,
            loaded_bytes: self.loaded,
            total_bytes: self.total,
            entities: self.entities,
        };
        if let Ok(v) = serde_wasm_bindgen::to_value(&p) {
            // A throwing progress callback is the page's bug, not a reason to stop loading.
            let _ = f.call1(&JsValue::NULL, &v);
        }
    }

    async fn fetch(
        &mut self,
        base: &str,
        entry: &crate::kb::FileEntry,
        phase: &str,
    ) -> Result<Vec<u8>, JsError> {
        let mut on_bytes = |n: u64| {
            self.loaded += n;
            self.report(phase);
        };
        fetch::fetch_verified(base, entry, &mut on_bytes)
            .await
            .map_err(error)
    }
}

/// A loaded bundle, linking photos in this page.
#[wasm_bindgen(js_name = Linker)]
pub struct WebLinker {
    inner: Option<Linker>,
    image_weights: Vec<u8>,
    detector_weights: Option<Vec<u8>>,
}

fn error(message: impl std::fmt::Display) -> JsError {
    JsError::new(&message.to_string())
}

#[wasm_bindgen(js_class = Linker)]
impl WebLinker {
    /// Downloads and verifies the bundle at `bundleUrl` (its folder, with `manifest.json`):
    /// weights, then the KB shards, each added to the search as it arrives. `options`:
    /// `{ onProgress(p), preferCpu, fullPrecision }`; `p` is
    /// `{ phase, loadedBytes, totalBytes, entities }`. A second visit is served from the Cache API.
    pub async fn load(bundle_url: String, options: JsValue) -> Result<WebLinker, JsError> {
        let on_progress = js_sys::Reflect::get(&options, &"onProgress".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        let opts: LoadOptions = if options.is_undefined() || options.is_null() {
            LoadOptions::default()
        } else {
            serde_wasm_bindgen::from_value(options).unwrap_or_default()
        };
        let manifest_url = fetch::join(&bundle_url, "manifest.json");
        let manifest_bytes = fetch::fetch_fresh(&manifest_url).await.map_err(error)?;
        let manifest =
            Manifest::parse(&manifest_bytes).map_err(|e| error(format!("{manifest_url}: {e}")))?;

        let entry = |role: &str| {
            manifest
                .file(role)
                .cloned()
                .ok_or_else(|| error(format!("the bundle lists no {role} file")))
        };
        let config_entry = entry(linker::ROLE_CONFIG)?;
        let mut none = |_| {};
        let config_bytes = fetch::fetch_verified(&bundle_url, &config_entry, &mut none)
            .await
            .map_err(error)?;
        let config = LinkerConfig::parse(&config_bytes).map_err(error)?;
        let (image_role, detector_role) = if opts.full_precision {
            (linker::ROLE_IMAGE_F32, linker::ROLE_DETECTOR_F32)
        } else {
            (linker::ROLE_IMAGE_F16, linker::ROLE_DETECTOR_F16)
        };
        let image_entry = entry(image_role)?;
        let detector_entry = if config.faces {
            Some(entry(detector_role)?)
        } else {
            None
        };
        let shard_entries: Vec<_> = manifest.shards().cloned().collect();
        let total: u64 = image_entry.bytes
            + detector_entry.as_ref().map_or(0, |e| e.bytes)
            + shard_entries
                .iter()
                .map(|s| {
                    s.bytes
                        + manifest.metadata_for(s).map_or(0, |m| m.bytes)
                        + manifest.refinement_for(s).map_or(0, |r| r.bytes)
                })
                .sum::<u64>();
        let mut progress = Reporter {
            callback: on_progress,
            total,
            loaded: 0,
            entities: 0,
        };
        let image_weights = progress.fetch(&bundle_url, &image_entry, "weights").await?;
        let detector_weights = match &detector_entry {
            Some(e) => Some(progress.fetch(&bundle_url, e, "weights").await?),
            None => None,
        };
        let compute = working_backend(opts.prefer_cpu).await;
        let mut inner = Linker::new(
            compute,
            manifest.clone(),
            config,
            image_weights.clone(),
            detector_weights.clone(),
        )
        .map_err(error)?;
        for shard_entry in &shard_entries {
            let meta_entry = manifest
                .metadata_for(shard_entry)
                .cloned()
                .ok_or_else(|| error(format!("{} has no metadata file", shard_entry.path)))?;
            let shard_bytes = progress
                .fetch(&bundle_url, shard_entry, "knowledge base")
                .await?;
            let meta_bytes = progress
                .fetch(&bundle_url, &meta_entry, "knowledge base")
                .await?;
            let mut shard = Shard::parse(shard_bytes, shard_entry, manifest.dim).map_err(error)?;
            if let Some(r) = manifest.refinement_for(shard_entry) {
                let bytes = progress.fetch(&bundle_url, r, "knowledge base").await?;
                let refinement = Refinement::parse(bytes, r, manifest.dim).map_err(error)?;
                shard = shard.with_refinement(refinement).map_err(error)?;
            }
            let meta = MetaShard::parse(&meta_bytes, &meta_entry).map_err(error)?;
            inner.add_shard(shard, meta);
            progress.entities = inner.loaded();
            progress.report("knowledge base");
        }
        progress.report("ready");
        Ok(WebLinker {
            inner: Some(inner),
            image_weights,
            detector_weights,
        })
    }

    /// Links the subjects of a photo (its file's bytes): `options` `{ k, box: [x1,y1,x2,y2] }`.
    /// Resolves to `[{ box, detectionScore, matches: [{ id, name, description, url, score }] }]`.
    /// A GPU failure switches this linker to the CPU and retries once.
    pub async fn link(&mut self, image: Vec<u8>, options: JsValue) -> Result<JsValue, JsError> {
        let request = LinkRequest::parse(options, "link")?;
        let photo = decode(&image, &DecodeLimits::default()).map_err(error)?;
        let options = LinkOptions {
            k: request.k.clamp(1, 100),
            bbox: request.bbox(),
        };
        let inner = self
            .inner
            .as_ref()
            .ok_or_else(|| error("the linker failed earlier; reload the page"))?;
        let outcome = inner.link(&photo, options).await;
        let subjects = match outcome {
            Ok(subjects) => subjects,
            Err(failure) if inner.compute().info.kind == crate::backend::BackendKind::Gpu => {
                // A lost or broken GPU must not leave the page without a linker.
                let reason = GpuUnavailable(format!("WebGPU failed while linking: {failure}"));
                let old = self.inner.take().expect("checked above");
                let rebuilt = old
                    .rebuild(
                        Compute::cpu_because(&reason),
                        self.image_weights.clone(),
                        self.detector_weights.clone(),
                    )
                    .map_err(error)?;
                let subjects = rebuilt.link(&photo, options).await.map_err(error)?;
                self.inner = Some(rebuilt);
                subjects
            }
            Err(e) => return Err(error(e)),
        };
        Ok(serde_wasm_bindgen::to_value(&subjects)?)
    }

    /// The unit vectors the linker would search with, for each subject of the photo (the same
    /// `options` as `link`): `[{ box, detectionScore, vector }]`. For checking the browser against
    /// the native `photolink link --vectors`.
    pub async fn embed(&self, image: Vec<u8>, options: JsValue) -> Result<JsValue, JsError> {
        let request = LinkRequest::parse(options, "embed")?;
        let photo = decode(&image, &DecodeLimits::default()).map_err(error)?;
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        let options = LinkOptions {
            k: 1,
            bbox: request.bbox(),
        };
        let subjects: Vec<EmbeddedSubject> = inner
            .subject_vectors(&photo, options)
            .await
            .map_err(error)?
            .into_iter()
            .map(|(bbox, detection_score, vector)| EmbeddedSubject {
                bbox,
                detection_score,
                vector,
            })
            .collect();
        Ok(serde_wasm_bindgen::to_value(&subjects)?)
    }

    /// The unit vector of each image in `pixels`, already preprocessed for the image tower
    /// (1 to 16 images of `3 × side × side` values, channel-major and normalised as the linker does): the
    /// network alone, with no decoding or resizing, for benchmarks against another engine's network.
    #[wasm_bindgen(js_name = embedPixels)]
    pub async fn embed_pixels(&self, pixels: Vec<f32>) -> Result<Vec<f32>, JsError> {
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        inner.embed_pixels(pixels).await.map_err(error)
    }

    /// What runs and what was loaded: `{ title, entities, dim, faces, imageTower, backend }`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        let config = inner.config();
        Ok(serde_wasm_bindgen::to_value(&BundleInfo {
            title: &config.title,
            entities: inner.loaded(),
            dim: config.dim,
            faces: config.faces,
            image_tower: config.image_tower.name(),
            backend: &inner.compute().info,
        })?)
    }

    /// Which backend computes: `{ kind, api, adapter, fallback_reason }`.
    pub fn backend(&self) -> Result<JsValue, JsError> {
        let inner = self.inner.as_ref().ok_or_else(|| error("no linker"))?;
        Ok(serde_wasm_bindgen::to_value(&inner.compute().info)?)
    }
}
