// The page: a thin layer over pkg/photolink.js (wasm-bindgen output). Relative URLs only, so the
// folder works from any static host and sub-path.
import init, { initBackend } from "./pkg/photolink.js";

const backendLine = document.getElementById("backend");

function showBackend(info) {
  const what = info.kind === "gpu"
    ? `GPU via ${info.api} — ${info.adapter}`
    : `CPU (${info.adapter})`;
  backendLine.textContent = info.fallback_reason
    ? `${what}. WebGPU is not available here: ${info.fallback_reason}`
    : what;
  backendLine.dataset.state = info.kind;
}

async function main() {
  try {
    await init();
    showBackend(await initBackend());
  } catch (error) {
    backendLine.textContent = `photolink could not start: ${error}`;
    backendLine.dataset.state = "error";
  }
}

main();
