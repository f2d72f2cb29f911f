/* tslint:disable */
/* eslint-disable */

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
    backend(): any;
    /**
     * The unit vectors the linker would search with, for each subject of the photo (the same
     * `options` as `link`): `[{ box, detectionScore, vector }]`. For checking the browser against
     * the native `photolink link --vectors`.
     */
    embed(image: Uint8Array | number[], options: any): Promise<any>;
    /**
     * What runs and what was loaded: `{ title, entities, dim, faces, imageTower, backend }`.
     */
    info(): any;
    /**
     * Links the subjects of a photo (its file's bytes): `options` `{ k, box: [x1,y1,x2,y2] }`.
     * Resolves to `[{ box, detectionScore, matches: [{ id, name, description, url, score }] }]`.
     * A GPU failure switches this linker to the CPU and retries once.
     */
    link(image: Uint8Array | number[], options: any): Promise<any>;
    /**
     * Downloads and verifies the bundle at `bundleUrl` (its folder, with `manifest.json`):
     * weights, then the KB shards, each added to the search as it arrives. `options`:
     * `{ onProgress(p), preferCpu, fullPrecision }`; `p` is
     * `{ phase, loadedBytes, totalBytes, entities }`. A second visit is served from the Cache API.
     */
    static load(bundle_url: string, options: any): Promise<Linker>;
}

/**
 * Brings up the backend the page will compute on — WebGPU when the browser offers a working adapter,
 * else the CPU — and describes it (`{kind, api, adapter, fallback_reason}`).
 */
export function initBackend(): Promise<any>;

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
    readonly linker_embed: (a: number, b: number, c: number, d: any) => any;
    readonly linker_info: (a: number) => [number, number, number];
    readonly linker_link: (a: number, b: number, c: number, d: any) => any;
    readonly linker_load: (a: number, b: number, c: any) => any;
    readonly start: () => void;
    readonly wasm_bindgen__convert__closures_____invoke__h0dfee67c21b4a805: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h0dfee67c21b4a805_12: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h0dfee67c21b4a805_13: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h49b6b71b1298c1b7: (a: number, b: number, c: any, d: any) => void;
    readonly wasm_bindgen__convert__closures_____invoke__h80a394423db6a6ab: (a: number, b: number, c: any) => [number, number];
    readonly wasm_bindgen__convert__closures_____invoke__h6b07142ab2a992c0: (a: number, b: number, c: any) => void;
    readonly wasm_bindgen__convert__closures_____invoke__h6b07142ab2a992c0_11: (a: number, b: number, c: any) => void;
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
