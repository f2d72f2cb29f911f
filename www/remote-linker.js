// `RemoteLinker`: the `Linker` of pkg/photolink.js, run in its own module worker (linker-worker.js).
// The same methods, each resolving when the worker answers, so that a page stays responsive while a
// bundle downloads or a photo is linked: its main thread only sends bytes and draws results.
//
//   import { RemoteLinker } from "./remote-linker.js";
//   const linker = await RemoteLinker.load("bundles/persons/", { onProgress: (p) => show(p.phase) });
//   const subjects = await linker.link(new Uint8Array(await file.arrayBuffer()), { k: 5 });
//   linker.close(); // ends the worker and frees its memory
//
// Errors keep their `name` (`DamagedPhotoError` for a JPEG that stops early).

const workerUrl = new URL("./linker-worker.js", import.meta.url);

/** A `Linker` in a dedicated worker. */
export class RemoteLinker {
  #worker;
  #calls = new Map();
  #next = 0;
  #info = null;
  #backend = null;

  constructor() {
    this.#worker = new Worker(workerUrl, { type: "module" });
    this.#worker.addEventListener("message", ({ data: { id, progress, result, error } }) => {
      const call = this.#calls.get(id);
      if (!call) return;
      if (progress) return call.onProgress?.(progress);
      this.#calls.delete(id);
      if (error) call.reject(Object.assign(new Error(error.message), { name: error.name }));
      else call.resolve(result);
    });
    // A worker that cannot start (its script or the wasm missing) fails every call, not silently.
    this.#worker.addEventListener("error", (e) => {
      e.preventDefault();
      this.#failAll(new Error(`photolink's worker could not run: ${e.message || "it failed to start"}`));
    });
  }

  #failAll(error) {
    for (const call of this.#calls.values()) call.reject(error);
    this.#calls.clear();
  }

  #call(op, args, onProgress) {
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, op, args });
    });
  }

  /** `Linker.load` in a new worker: the same `options` (`onProgress`, `backend`, `precision`…). */
  static async load(bundleUrl, options = {}) {
    const { onProgress, ...rest } = options;
    const linker = new RemoteLinker();
    try {
      // Relative bundle URLs mean the same from the worker: it lives beside the page.
      const url = new URL(bundleUrl, globalThis.document?.baseURI ?? location.href).href;
      const { info } = await linker.#call("load", { bundleUrl: url, options: rest }, onProgress);
      linker.#info = info;
      linker.#backend = info.backend;
      return linker;
    } catch (e) {
      linker.close();
      throw e;
    }
  }

  /** Brings up the backend a linker would compute on and describes it (`initBackend`), in a worker. */
  static async initBackend() {
    const probe = new RemoteLinker();
    try {
      return (await probe.#call("initBackend")).backend;
    } finally {
      probe.close();
    }
  }

  /** `Linker.link`: the photo's file bytes (copied to the worker; yours stay usable).
   *  `options.onProgress` hears the partitions a partitioned bundle fetches for this photo. */
  async link(bytes, options = {}) {
    const { onProgress, ...rest } = options;
    const { subjects, backend } = await this.#call("link", { bytes, options: rest }, onProgress);
    this.#backend = backend;
    return subjects;
  }

  /** `Linker.embed`: each subject's box and unit vector. */
  async embed(bytes, options = {}) {
    return (await this.#call("embed", { bytes, options })).subjects;
  }

  /** `Linker.embedPixels`: the network alone on preprocessed pixels. */
  async embedPixels(pixels) {
    return (await this.#call("embedPixels", { pixels })).vectors;
  }

  /** `Linker.info`, as of the last answer: `{ title, entities, dim, faces, imageTower, backend }`. */
  info() {
    return { ...this.#info, backend: this.#backend };
  }

  /** `Linker.backend`, as of the last answer. */
  backend() {
    return this.#backend;
  }

  /** Ends the worker; pending calls reject. */
  close() {
    this.#worker.terminate();
    this.#failAll(new Error("this linker was closed"));
  }
}
