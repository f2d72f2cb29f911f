/* tslint:disable */
/* eslint-disable */

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



/**
 * A loaded bundle, linking photos in this page.
 */
export class Linker {
    private constructor();
    free(): void;
    [Symbol.dispose](): void;
    /**
     * Which backend computes: `{ kind, api, adapter, fallback_reason }`.
     */
    backend(): BackendInfo;
    /**
     * The unit vector of each image in `pixels`, already preprocessed for the image tower
     * (1 to 16 images of `3 × side × side` values, channel-major and normalised as the linker does): the
     * network alone, with no decoding or resizing, for benchmarks against another engine's network.
     */
    embedPixels(pixels: Float32Array | number[]): Promise<Float32Array>;
    /**
     * The unit vectors the linker would search with, for each subject of the photo (the same
     * `options` as `link`): `[{ box, detectionScore, vector }]`. For checking the browser against
     * the native `photolink link --vectors`.
     */
    embed(image: Uint8Array | number[], options?: LinkOptions): Promise<EmbeddedSubject[]>;
    /**
     * What runs and what was loaded: `{ title, entities, residentEntities, partitions, dim,
     * faces, imageTower, backend, backendTiming: { chosenBy, gpuMs, cpuMs } }`; `partitions`
     * (`{ count, nprobe }`) when the KB is searched by partition.
     */
    info(): BundleInfo;
    /**
     * Links the subjects of a photo (its file's bytes): `options`
     * `{ k, box: [x1,y1,x2,y2], acceptDamaged, onProgress }`. Resolves to
     * `[{ box, detectionScore, known, matches: [{ id, name, description, url, score }],
     * refused? }]`, faces in reading order. A partitioned bundle first fetches (and caches) the
     * partitions the photo needs, reporting to `onProgress`; a partition that fails its sha256
     * is named in `refused` and the others answer. A JPEG that stops early rejects with a `DamagedPhotoError` unless
     * `acceptDamaged` is set. A GPU failure switches this linker to the CPU and retries once.
     */
    link(image: Uint8Array | number[], options?: LinkOptions): Promise<Subject[]>;
    /**
     * Downloads and verifies the bundle at `bundleUrl` (its folder, with `manifest.json`):
     * weights, then the KB shards, each added to the search as it arrives, or for a partitioned
     * bundle only its centroids (each photo then fetches its nearest partitions). `options`:
     * `{ onProgress(p), backend, precision, kb, nprobe }`; `p` is
     * `{ phase, loadedBytes, totalBytes, entities }`. `backend`: `"auto"` (default: where WebGPU
     * comes up, a warm-up photo is linked on it and on the CPU and the faster is kept), `"gpu"` or
     * `"cpu"`. A second visit is served from the Cache API.
     */
    static load(bundle_url: string, options?: LoadOptions): Promise<Linker>;
}

/**
 * Brings up the backend the page will compute on — WebGPU when the browser offers a working adapter,
 * else the CPU — and describes it (`{kind, api, adapter, fallback_reason}`).
 */
export function initBackend(): Promise<BackendInfo>;

/**
 * Runs once when the module is instantiated: Rust panics reach the browser console with their message.
 */
export function start(): void;

export type InitInput = RequestInfo | URL | Response | BufferSource | WebAssembly.Module;

export interface InitOutput {
    readonly memory: WebAssembly.Memory;
    readonly __wbg_linker_free: (a: number, b: number) => void;
    readonly initBackend: () => any;
    readonly linker_backend: (a: number) => [number, number, number];
    readonly linker_embed: (a: number, b: number, c: number, d: number) => any;
    readonly linker_embedPixels: (a: number, b: number, c: number) => any;
    readonly linker_info: (a: number) => [number, number, number];
    readonly linker_link: (a: number, b: number, c: number, d: number) => any;
    readonly linker_load: (a: number, b: number, c: number) => any;
    readonly start: () => void;
    readonly wasm_bindgen__convert__closures_____invoke__h071769646b208c8c: (a: number, b: number, c: any, d: any) => void;
    readonly wasm_bindgen__convert__closures_____invoke__h174aba3ce5e7a22d: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h4324d6ae7ee743bc: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h4324d6ae7ee743bc_13: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h4324d6ae7ee743bc_14: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h30216d79d66d568b: (a: number, b: number, c: any) => void;
    readonly wasm_bindgen__convert__closures_____invoke__h30216d79d66d568b_12: (a: number, b: number, c: any) => void;
    readonly __wbindgen_malloc_command_export: (a: number, b: number) => number;
    readonly __wbindgen_realloc_command_export: (a: number, b: number, c: number, d: number) => number;
    readonly __wbindgen_free_command_export: (a: number, b: number, c: number) => void;
    readonly __wbindgen_exn_store_command_export: (a: number) => void;
    readonly __externref_table_alloc_command_export: () => number;
    readonly __wbindgen_externrefs: WebAssembly.Table;
    readonly __wbindgen_destroy_closure_command_export: (a: number, b: number) => void;
    readonly __externref_table_dealloc_command_export: (a: number) => void;
    readonly __wbindgen_start: () => void;
}

export type SyncInitInput = BufferSource | WebAssembly.Module;

/**
 * Instantiates the given `module`, which can either be bytes or
 * a precompiled `WebAssembly.Module`.
 *
 * @param {{ module: SyncInitInput }} module - Passing `SyncInitInput` directly is deprecated.
 *
 * @returns {InitOutput}
 */
export function initSync(module: { module: SyncInitInput } | SyncInitInput): InitOutput;

/**
 * If `module_or_path` is {RequestInfo} or {URL}, makes a request and
 * for everything else, calls `WebAssembly.instantiate` directly.
 *
 * @param {{ module_or_path: InitInput | Promise<InitInput> }} module_or_path - Passing `InitInput` directly is deprecated.
 *
 * @returns {Promise<InitOutput>}
 */
export default function __wbg_init (module_or_path?: { module_or_path: InitInput | Promise<InitInput> } | InitInput | Promise<InitInput>): Promise<InitOutput>;
