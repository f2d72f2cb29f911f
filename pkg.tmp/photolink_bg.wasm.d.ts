/* tslint:disable */
/* eslint-disable */
export const memory: WebAssembly.Memory;
export const __wbg_linker_free: (a: number, b: number) => void;
export const initBackend: () => any;
export const linker_backend: (a: number) => [number, number, number];
export const linker_embed: (a: number, b: number, c: number, d: number) => any;
export const linker_embedPixels: (a: number, b: number, c: number) => any;
export const linker_info: (a: number) => [number, number, number];
export const linker_link: (a: number, b: number, c: number, d: number) => any;
export const linker_load: (a: number, b: number, c: number) => any;
export const start: () => void;
export const wasm_bindgen__convert__closures_____invoke__h071769646b208c8c: (a: number, b: number, c: any, d: any) => void;
export const wasm_bindgen__convert__closures_____invoke__h174aba3ce5e7a22d: (a: number, b: number, c: any) => [number, number];
export const wasm_bindgen__convert__closures_____invoke__h4324d6ae7ee743bc: (a: number, b: number, c: any) => [number, number];
export const wasm_bindgen__convert__closures_____invoke__h4324d6ae7ee743bc_13: (a: number, b: number, c: any) => [number, number];
export const wasm_bindgen__convert__closures_____invoke__h4324d6ae7ee743bc_14: (a: number, b: number, c: any) => [number, number];
export const wasm_bindgen__convert__closures_____invoke__h30216d79d66d568b: (a: number, b: number, c: any) => void;
export const wasm_bindgen__convert__closures_____invoke__h30216d79d66d568b_12: (a: number, b: number, c: any) => void;
export const __wbindgen_malloc_command_export: (a: number, b: number) => number;
export const __wbindgen_realloc_command_export: (a: number, b: number, c: number, d: number) => number;
export const __wbindgen_free_command_export: (a: number, b: number, c: number) => void;
export const __wbindgen_exn_store_command_export: (a: number) => void;
export const __externref_table_alloc_command_export: () => number;
export const __wbindgen_externrefs: WebAssembly.Table;
export const __wbindgen_destroy_closure_command_export: (a: number, b: number) => void;
export const __externref_table_dealloc_command_export: (a: number) => void;
export const __wbindgen_start: () => void;
