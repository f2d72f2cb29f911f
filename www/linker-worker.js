// The page's compute, in a dedicated module worker: it instantiates pkg/photolink.js and owns one
// `Linker`, so that downloads, decoding, face detection, embedding and the KB search never run on
// the page's main thread. It answers the messages of remote-linker.js, one at a time, in order.
//
// This file is also the example of `Linker` used inside a worker of one's own: import the package,
// `await init()`, then `Linker.load(...)` and `linker.link(...)` exactly as on a page.
import init, { initBackend, Linker } from "./pkg/photolink.js";

const started = init();
let linker = null;

/** Each operation: `(id, args)` to what the answer carries. */
const operations = {
  async load(id, { bundleUrl, options }) {
    linker = null;
    linker = await Linker.load(bundleUrl, {
      ...options,
      onProgress: (progress) => self.postMessage({ id, progress }),
    });
    return { info: linker.info() };
  },
  async link(id, { bytes, options }) {
    // The partitions a photo needs download first: their progress goes to this call.
    const subjects = await loaded().link(bytes, {
      ...options,
      onProgress: (progress) => self.postMessage({ id, progress }),
    });
    // The backend may have changed: a lost GPU falls back to the CPU and retries.
    return { subjects, backend: linker.backend() };
  },
  async embed(id, { bytes, options }) {
    return { subjects: await loaded().embed(bytes, options) };
  },
  async embedPixels(id, { pixels }) {
    return { vectors: await loaded().embedPixels(pixels) };
  },
  async initBackend() {
    return { backend: await initBackend() };
  },
};

function loaded() {
  if (!linker) throw new Error("no knowledge base is loaded in this worker");
  return linker;
}

// One call at a time: the wasm `Linker` is not re-entrant, and answers keep the order of questions.
let queue = Promise.resolve();
self.addEventListener("message", ({ data: { id, op, args } }) => {
  queue = queue.then(async () => {
    try {
      await started;
      const operation = operations[op];
      if (!operation) throw new Error(`unknown operation ${op}`);
      self.postMessage({ id, result: await operation(id, args ?? {}) });
    } catch (e) {
      self.postMessage({ id, error: { name: e?.name || "Error", message: e?.message || String(e) } });
    }
  });
});
