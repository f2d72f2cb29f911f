//! The TypeScript shapes of what `pkg/photolink.js` takes and returns, written into
//! `photolink.d.ts` beside wasm-bindgen's own declarations: the façade's functions name them
//! (`unchecked_return_type`, `unchecked_param_type`) instead of `any`. They mirror the serde
//! shapes of `photolink-core` and this façade; the e2e test checks real results against them.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** A region of the photo, in its pixels: `x1,y1` top-left, `x2,y2` bottom-right (exclusive). */
export interface Box { x1: number; y1: number; x2: number; y2: number; }

/** One entity of the knowledge base, as ranked for a subject. */
export interface Match {
  id: string;
  name: string;
  description: string;
  /** The entity's web address, when the KB has an absolute http(s) one. */
  url?: string;
  /** Cosine similarity in the shared space (int8-quantised KB). */
  score: number;
}

/** A subject of the photo: a detected face, the drawn box, or the whole photo. */
export interface Subject {
  box: Box;
  /** The face detector's confidence, for detected faces. */
  detection_score?: number;
  /** `false`: the bundle answers "not in this knowledge base"; `matches` are only the closest. */
  known: boolean;
  /** Best first. */
  matches: Match[];
  /** Files of a bundle searched by partition that this subject needed but that were refused
   *  (failed their sha256, unreachable): `matches` come from the other partitions. */
  refused?: RefusedFile[];
}

/** A bundle file refused while linking. */
export interface RefusedFile { path: string; reason: string; }

/** A subject and the unit vector the linker searches with (`Linker.embed`). */
export interface EmbeddedSubject {
  box: Box;
  detectionScore?: number;
  vector: Float32Array;
}

/** What computes. */
export interface BackendInfo {
  kind: "gpu" | "cpu";
  /** The graphics API under wgpu (`"webgpu"`), or `"cpu"`. */
  api: string;
  /** The adapter's name, or the CPU engines and their kernels. */
  adapter: string;
  /** Why the CPU computes although WebGPU was tried. */
  fallback_reason?: string;
}

/** How the backend was chosen at load, and the warm-up times (ms) that chose it. */
export interface BackendTiming {
  chosenBy: "measured" | "asked" | "only";
  gpuMs?: number;
  cpuMs?: number;
}

/** What was loaded and what computes (`Linker.info`). */
export interface BundleInfo {
  title: string;
  /** Entities of the knowledge base. */
  entities: number;
  /** Entities whose vectors are in memory now (all of them, unless searched by partition). */
  residentEntities: number;
  /** How a partitioned bundle is searched: each photo fetches its `nprobe` nearest of `count`
   *  partitions. Absent when the whole KB was loaded. */
  partitions?: { count: number; nprobe: number };
  dim: number;
  /** Whether faces are found automatically (person bundles). */
  faces: boolean;
  imageTower: string;
  backend: BackendInfo;
  backendTiming: BackendTiming;
}

/** A step of `Linker.load`, or of the partitions a photo fetches (`phase: "partitions"`). */
export interface LoadProgress {
  phase: string;
  loadedBytes: number;
  totalBytes: number;
  /** Entities searchable so far. */
  entities: number;
}

/** `Linker.load`'s options. */
export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /** `"auto"` (default): the faster of WebGPU and the CPU, measured at load. */
  backend?: "auto" | "gpu" | "cpu";
  /** Older spelling of `backend: "cpu"`. */
  preferCpu?: boolean;
  /** Which weight files to download: `"u8"` (default: a quarter of f32's bytes, dequantised on
   *  load; bundles without them get f16), `"f16"` or `"f32"`. */
  precision?: "u8" | "f16" | "f32";
  /** Older spelling of `precision: "f32"`. */
  fullPrecision?: boolean;
  /** `"partitions"` (default): a partitioned bundle downloads its centroids at load and, per
   *  photo, the partitions it needs (cached); `"whole"`: every shard at load, exhaustive search. */
  kb?: "partitions" | "whole";
  /** Partitions a photo searches, instead of the bundle's default. */
  nprobe?: number;
}

/** `Linker.link`'s and `Linker.embed`'s options. */
export interface LinkOptions {
  /** Entities per subject (1 to 100; default 5). */
  k?: number;
  /** Link this region `[x1, y1, x2, y2]` instead of every face. */
  box?: [number, number, number, number];
  /** Link what there is of a JPEG that stops early instead of rejecting with `DamagedPhotoError`. */
  acceptDamaged?: boolean;
  /** `Linker.link` only: told while the partitions a photo needs download. */
  onProgress?: (progress: LoadProgress) => void;
}
"#;
