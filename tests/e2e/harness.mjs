// What every end-to-end test file shares: its inputs from the environment, Chromium's flags,
// `photolink serve` on a free loopback port, and, for partitioned bundles, a site offering one
// bundle and the KB files a page requests from it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The environment variable `name`, which tools/test.sh sets. */
export const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set (run tools/test.sh)`);
  return value;
};

/** Headless Chromium with a real WebGPU adapter (SwiftShader) and nothing that calls out. */
export const FLAGS = [
  "--headless=new", "--no-sandbox", "--enable-unsafe-webgpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps",
];

/** `photolink serve dir` on a free port of 127.0.0.1: `{ child, origin }`. */
export function serve(bin, dir) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["serve", dir, "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    child.stdout.on("data", (chunk) => {
      const match = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(String(chunk));
      if (match) resolve({ child, origin: match[1] });
    });
    child.on("exit", (code) => reject(new Error(`photolink serve exited with ${code}`)));
  });
}

/** The KB files of the bundle folder `bundle` (shards, refinements, metadata, centroids):
 * `{ manifest, files: Map(path → entry), bytes, sum(paths) }`, `sum` adding their manifest sizes. */
export function bundleKb(bundle) {
  const manifest = JSON.parse(readFileSync(join(bundle, "manifest.json")));
  const roles = new Set(["shard", "refine", "metadata", "centroids"]);
  const files = new Map(manifest.files.filter((f) => roles.has(f.role)).map((f) => [f.path, f]));
  const sum = (paths) => paths.reduce((s, p) => s + files.get(p).bytes, 0);
  return { manifest, files, bytes: sum([...files.keys()]), sum };
}

/** A copy of the site `site` in `dir` that offers only `bundle`, copied in as bundles/`name`/. */
export function siteWith(site, dir, bundle, name) {
  cpSync(site, dir, { recursive: true });
  cpSync(bundle, join(dir, "bundles", name), { recursive: true });
  const title = JSON.parse(readFileSync(join(bundle, "linker.json"))).title;
  writeFileSync(join(dir, "bundles.json"), JSON.stringify([{ title, path: `bundles/${name}/` }]));
  return dir;
}

/** The KB files of `kb` (a `bundleKb`) that `page` requests from bundles/`name`/, as they come,
 * by their paths in the bundle. */
export function recordKbRequests(page, kb, name) {
  const requested = [];
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname.split(`/bundles/${name}/`)[1];
    if (path && kb.files.has(path)) requested.push(path);
  });
  return requested;
}
