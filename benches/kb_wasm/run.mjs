// node run.mjs <wasm> [n]: digests (simd128 vs scalar) and ms/query of the wasm scan.
// KB_BENCH_CPU_TIME=1 times with the process's user CPU time instead of wall time (busy machine).
import { readFileSync } from 'node:fs';
const [wasmPath, nArg] = process.argv.slice(2);
const n = Number(nArg ?? 120000);
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {
  env: {
    now: process.env.KB_BENCH_CPU_TIME
      ? () => process.cpuUsage().user / 1000
      : () => performance.now(),
  },
});
const e = instance.exports;
console.log('wasm kernel is simd128:', e.kb_kernel_is_simd128() === 1);
console.log('digest best  ', BigInt.asUintN(64, e.kb_digest(n, 1)).toString(16).padStart(16, '0'));
console.log('digest scalar', BigInt.asUintN(64, e.kb_digest(n, 0)).toString(16).padStart(16, '0'));
for (const best of [1, 0]) {
  console.log(`wasm ${best ? 'simd128' : 'scalar'} ms/query`, e.kb_bench_ms(n, 100, best).toFixed(3));
}
