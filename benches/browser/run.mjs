// Browser benchmark: photolink's page on WebGPU and on the CPU, side by side with face-api.js
// computing the same 128-d face descriptor on tfjs's wasm, webgl, webgpu and cpu backends — same
// headless Chromium, same photo and face box, same machine, same run. Each configuration gets
// `--runs` fresh browsers (cold: empty cache, downloads from localhost) and, in each, `--warm`
// timed calls after the first.
//
//   photolink: the real page (index.html + app.js) loads its bundle (8-bit weights, int8 shards),
//              then `linker.embed(photo, { box })` = decode + crop + FaceNet + projection + read-back;
//              also `linker.link(photo)` = the whole pipeline (face detector, every face, KB search).
//   face-api:  faceapi.html loads face-api.js + its recognition net, then
//              `computeFaceDescriptor(150×150 canvas of the same box)` incl. read-back.
//
// face-api.js's bundle carries tfjs's wasm, webgl and cpu backends; the webgpu one is tfjs's own
// package at the same version (4.22.0), registered on face-api.js's tfjs.
//
// Usage (tools/browser-bench.sh prepares the site and the packages):
//   node benches/browser/run.mjs --bin photolink --site SITE --photo PHOTO [--runs 3] [--warm 10] [--out FILE.md]
import { spawn, execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants as zlibConstants, gzipSync } from "node:zlib";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
for (const required of ["bin", "site", "photo"]) if (!args[required]) throw new Error(`--${required} is required`);
const RUNS = Number(args.runs || 3);
const WARM = Number(args.warm || 10);
const FLAGS = ["--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run", "--disable-default-apps"];

// The site, plus face-api.js (dist + models), tfjs's wasm binaries and the photo under bench/.
const scratch = mkdtempSync(join(tmpdir(), "photolink-browser-bench-"));
const site = join(scratch, "site");
// Timestamps kept: `photolink serve` never sends a .gz/.br sibling older than its file.
cpSync(args.site, site, { recursive: true, preserveTimestamps: true });
const modules = join(here, "node_modules");
const bench = join(site, "bench");
mkdirSync(join(bench, "face-api"), { recursive: true });
cpSync(join(modules, "@vladmandic/face-api/dist"), join(bench, "face-api/dist"), { recursive: true });
cpSync(join(modules, "@vladmandic/face-api/model"), join(bench, "face-api/model"), { recursive: true });
cpSync(join(modules, "@tensorflow/tfjs-backend-wasm/dist"), join(bench, "tfjs-wasm"), {
  recursive: true, filter: (p) => statSync(p).isDirectory() || p.endsWith(".wasm"),
});
mkdirSync(join(bench, "tfjs-webgpu"));
cpSync(join(modules, "@tensorflow/tfjs-backend-webgpu/dist/tf-backend-webgpu.es2017.min.js"), join(bench, "tfjs-webgpu/tf-backend-webgpu.min.js"));
cpSync(join(here, "faceapi.html"), join(bench, "faceapi.html"));
const photoName = `photo${args.photo.slice(args.photo.lastIndexOf("."))}`;
cpSync(args.photo, join(bench, photoName));
// face-api.js gets the .gz/.br siblings `photolink site` gives photolink's files (same rules:
// gzip -9, brotli quality 9 only where smaller than gzip, nothing under 5 % smaller, no images),
// so both sides are served compressed by the same server.
function precompress(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) { precompress(path); continue; }
    if (/\.(png|jpe?g|webp|gif|gz|br)$/i.test(name)) continue;
    const raw = readFileSync(path);
    const gz = gzipSync(raw, { level: 9 });
    if (gz.length >= raw.length * 0.95) continue;
    writeFileSync(`${path}.gz`, gz);
    const br = brotliCompressSync(raw, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: 9, [zlibConstants.BROTLI_PARAM_LGWIN]: 24 } });
    if (br.length < gz.length) writeFileSync(`${path}.br`, br);
  }
}
precompress(bench);

// The face box the native linker finds: both sides describe exactly this region.
const bundles = JSON.parse(readFileSync(join(site, "bundles.json")));
const bundleDir = join(site, bundles[0].path);
const subjects = JSON.parse(execFileSync(args.bin, ["link", "--bundle", bundleDir, "--cpu", "--json", "-k", "1", args.photo]));
const b = subjects[0].box;
const box = [b.x1, b.y1, b.x2, b.y2].map((v) => Math.round(v));

function serve(dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(args.bin, ["serve", dir, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    child.stdout.on("data", (chunk) => {
      const match = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(String(chunk));
      if (match) resolve({ child, origin: match[1] });
    });
    child.on("exit", (code) => reject(new Error(`photolink serve exited with ${code}`)));
  });
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/** One fresh browser: returns { cold, firstCall, warm[], bytes, backend, extra }. */
async function once(origin, config) {
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    let bytes = 0;
    const pending = [];
    const paths = new Set();
    page.on("requestfinished", (r) => {
      paths.add(decodeURIComponent(new URL(r.url()).pathname));
      pending.push(r.sizes().then((s) => { bytes += s.responseBodySize; }).catch(() => {}));
    });
    const photoUrl = `${origin}/bench/${photoName}`;
    if (config.tool === "photolink") {
      await page.goto(`${origin}/?backend=${config.backend === "cpu" ? "cpu" : "gpu"}`);
      await page.waitForSelector("body[data-ready=true]", { timeout: 600_000 });
      const shown = await page.textContent("#backend-summary");
      const r = await page.evaluate(async ({ photoUrl, box, warm }) => {
        const ready = performance.now();
        const bytes = new Uint8Array(await (await fetch(photoUrl)).arrayBuffer());
        const linker = window.photolink.linker;
        const embed = () => linker.embed(bytes, { box });
        const t0 = performance.now();
        const first = await embed();
        const firstResult = performance.now();
        const times = [];
        for (let i = 0; i < warm; i++) { const t = performance.now(); await embed(); times.push(performance.now() - t); }
        const linkTimes = [];
        for (let i = 0; i < Math.min(warm, 5); i++) { const t = performance.now(); await linker.link(bytes, { k: 5 }); linkTimes.push(performance.now() - t); }
        // The network alone: an input already preprocessed for FaceNet (no decoding, no resizing).
        const pixels = new Float32Array(3 * 150 * 150).map((_, i) => Math.sin(0.37 * i));
        await linker.embedPixels(pixels);
        const netTimes = [];
        for (let i = 0; i < warm; i++) { const t = performance.now(); await linker.embedPixels(pixels); netTimes.push(performance.now() - t); }
        return { ready, firstCall: firstResult - t0, firstResult, times, linkTimes, netTimes, dims: first[0].vector.length };
      }, { photoUrl, box, warm: WARM });
      await Promise.all(pending);
      return { cold: r.firstResult, load: r.ready, firstCall: r.firstCall, warm: r.times, link: r.linkTimes, net: r.netTimes, bytes, paths, backend: shown.trim() };
    }
    await page.goto(`${origin}/bench/faceapi.html?backend=${config.backend}&warm=${WARM}&box=${box.join(",")}&photo=${encodeURIComponent(photoUrl)}`);
    await page.waitForFunction(() => window.benchResult, null, { timeout: 900_000, polling: 100 });
    const r = await page.evaluate(() => window.benchResult);
    if (r.error) throw new Error(`face-api.js on ${config.backend}: ${r.error}`);
    if (r.backend !== config.backend) throw new Error(`face-api.js ran on ${r.backend}, not ${config.backend}`);
    await Promise.all(pending);
    if (r.faces !== subjects.length) throw new Error(`face-api.js's detector found ${r.faces} faces, photolink's ${subjects.length}`);
    return { cold: r.firstResult, load: r.modelLoaded, firstCall: r.firstCall, warm: r.times, link: r.linkTimes, net: r.netTimes, bytes, paths, backend: `tfjs ${r.backend}` };
  } finally {
    await browser.close();
  }
}

const configs = [
  { tool: "photolink", backend: "webgpu", label: "photolink, WebGPU (SwiftShader)" },
  { tool: "photolink", backend: "cpu", label: "photolink, CPU (wasm: photolink-cpu simd128 4×8; detector on burn-flex)" },
  { tool: "face-api", backend: "wasm", label: "face-api.js, tfjs-wasm" },
  { tool: "face-api", backend: "webgl", label: "face-api.js, tfjs-webgl" },
  { tool: "face-api", backend: "webgpu", label: "face-api.js, tfjs-webgpu" },
  { tool: "face-api", backend: "cpu", label: "face-api.js, tfjs-cpu" },
].filter((c) => !args.only || args.only.split(",").includes(`${c.tool}:${c.backend}`));

const { child, origin } = await serve(site);
const results = [];
try {
  for (const config of configs) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const r = await once(origin, config);
      console.log(`${config.label} run ${i + 1}: warm median ${median(r.warm).toFixed(1)} ms, first call ${r.firstCall.toFixed(0)} ms, first result ${r.cold.toFixed(0)} ms after navigation, ${(r.bytes / 1e6).toFixed(2)} MB [${r.backend}]`);
      runs.push(r);
    }
    results.push({ config, runs });
  }
} finally {
  child.kill();
}

// Download sizes on disk (what a static host serves; gzip as most hosts compress).
const sizeOf = (files) => files.reduce((s, f) => s + statSync(f).size, 0);
const gzOf = (files) => files.reduce((s, f) => s + gzipSync(readFileSync(f), { level: 9 }).length, 0);
const pkgWasm = join(args.site, "pkg", "photolink_bg.wasm");
const bundleFiles = (role) => {
  const manifest = JSON.parse(readFileSync(join(args.site, bundles[0].path, "manifest.json")));
  return manifest.files.filter(role).map((f) => join(args.site, bundles[0].path, f.path));
};
const sizes = [
  ["pkg/photolink_bg.wasm (after wasm-opt)", [pkgWasm]],
  ["image-side weights, 8-bit (FaceNet + projection)", bundleFiles((f) => f.role === "image-weights-u8")],
  ["face detector weights, 8-bit", bundleFiles((f) => f.role === "detector-weights-u8")],
  ["KB shards (int8) + refinement + metadata", bundleFiles((f) => ["shard", "refine", "metadata", "quantization"].includes(f.role))],
];

const row = (label, { runs }) => {
  const warm = median(runs.map((r) => median(r.warm)));
  return { label, warm, firstCall: median(runs.map((r) => r.firstCall)), cold: median(runs.map((r) => r.cold)),
    load: median(runs.map((r) => r.load)), bytes: median(runs.map((r) => r.bytes)),
    link: runs[0].link ? median(runs.map((r) => median(r.link))) : null,
    net: median(runs.map((r) => median(r.net))), backend: runs[0].backend };
};
const rows = results.map((r) => row(r.config.label, r));
const find = (tool, backend) => rows[results.findIndex((r) => r.config.tool === tool && r.config.backend === backend)];
const ratio = (a, b, key = "warm") => (a && b ? `${(a[key] / b[key]).toFixed(2)}×` : "n/a");
// FaceNet (ResNet-34-like, 150×150): 0.54 GFLOP per descriptor (multiply-adds counted twice).
const FACENET_GFLOP = 0.54;
let md = `| configuration | warm descriptor, median ms | network only, median ms (GFLOP/s) | first call ms | ready (model loaded) ms | first result after navigation ms | downloaded MB | whole photo (detector, every face; photolink also searches) ms |\n|---|---|---|---|---|---|---|---|\n`;
for (const r of rows) {
  md += `| ${r.label} | ${r.warm.toFixed(1)} | ${r.net.toFixed(1)} (${(FACENET_GFLOP / (r.net / 1e3)).toFixed(1)}) | ${r.firstCall.toFixed(0)} | ${r.load.toFixed(0)} | ${r.cold.toFixed(0)} | ${(r.bytes / 1e6).toFixed(2)} | ${r.link ? r.link.toFixed(0) : "—"} |\n`;
}
md += `\n| ratio (warm latency, lower is better for photolink) | value | target |\n|---|---|---|\n`;
md += `| photolink CPU / face-api.js tfjs-wasm, network only (same 150×150 input, one thread each) | ${ratio(find("photolink", "cpu"), find("face-api", "wasm"), "net")} | ≤ 0.8× |\n`;
md += `| photolink CPU / face-api.js tfjs-wasm, descriptor from the photo | ${ratio(find("photolink", "cpu"), find("face-api", "wasm"))} | |\n`;
md += `| photolink CPU / face-api.js tfjs-wasm, whole photo (detector, then every face's descriptor; photolink also searches the KB) | ${ratio(find("photolink", "cpu"), find("face-api", "wasm"), "link")} | ≤ 2× |\n`;
md += `| photolink WebGPU / face-api.js tfjs-webgpu | ${ratio(find("photolink", "webgpu"), find("face-api", "webgpu"))} | ≤ 0.8× |\n`;
md += `| photolink WebGPU / face-api.js tfjs-webgl | ${ratio(find("photolink", "webgpu"), find("face-api", "webgl"))} | |\n`;
md += `\n| photolink download | bytes | gzip -9 |\n|---|---|---|\n`;
for (const [label, files] of sizes) md += `| ${label} | ${(sizeOf(files) / 1e6).toFixed(2)} MB | ${(gzOf(files) / 1e6).toFixed(2)} MB |\n`;
// What each configuration's first visit fetched, as files on the server: raw, and what a browser
// accepting gzip or brotli gets from a host that serves the precompressed siblings.
const onDisk = (paths) => {
  const total = { raw: 0, gzip: 0, brotli: 0 };
  for (const p of paths) {
    const file = join(site, p.endsWith("/") ? `${p}index.html` : p);
    let raw;
    try { raw = statSync(file).size; } catch { continue; }
    const sib = (ext) => { try { return statSync(file + ext).size; } catch { return null; } };
    const gz = sib(".gz") ?? raw;
    total.raw += raw; total.gzip += gz; total.brotli += sib(".br") ?? gz;
  }
  return total;
};
md += `\n| first visit, bytes (the files it fetched) | raw MB | gzip MB | brotli MB | over the wire in this run MB |\n|---|---|---|---|---|\n`;
for (const r of results) {
  const t = onDisk(r.runs[0].paths);
  md += `| ${r.config.label} | ${(t.raw / 1e6).toFixed(2)} | ${(t.gzip / 1e6).toFixed(2)} | ${(t.brotli / 1e6).toFixed(2)} | ${(median(r.runs.map((x) => x.bytes)) / 1e6).toFixed(2)} |\n`;
}
md += `\nPhoto ${basename(args.photo)}, face box [${box.join(", ")}]; ${RUNS} fresh browsers × ${WARM} warm calls per configuration; medians.\n`;
console.log(md);
if (args.out) writeFileSync(args.out, md);
rmSync(scratch, { recursive: true, force: true });
