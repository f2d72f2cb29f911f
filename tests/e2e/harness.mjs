// What every end-to-end test file shares: its inputs from the environment, Chromium's flags, and
// `photolink serve` on a free loopback port.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";

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
