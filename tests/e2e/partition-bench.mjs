// The page on a partitioned bundle, measured in headless Chromium: for each nprobe, cold visits
// (a fresh browser profile each: empty Cache API) give the KB bytes downloaded before the first
// result and the time to it; then one session links every photo and compares its top 10 with
// exhaustive search over the whole KB, loaded by a second linker in the same page. Prints a
// markdown table. Run by tools/partition-bench.sh, which names its inputs:
//   PHOTOLINK_BIN, BENCH_SITE (a site with pkg/), BENCH_BUNDLE (partitioned), BENCH_PHOTOS (a file
//   listing photo paths, one a line), BENCH_NPROBES (comma-separated), BENCH_COLD (cold visits),
//   BENCH_EXHAUSTIVE=0 to skip the whole-KB reference (recall is then not measured)
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { bundleKb, env, FLAGS, recordKbRequests, serve, siteWith } from "./harness.mjs";

const BIN = env("PHOTOLINK_BIN");
const BUNDLE = env("BENCH_BUNDLE");
const PHOTOS = readFileSync(env("BENCH_PHOTOS"), "utf8").split("\n").filter(Boolean);
const NPROBES = env("BENCH_NPROBES").split(",").map(Number);
const COLD = Number(process.env.BENCH_COLD || 3);
const K = 10;

const kb = bundleKb(BUNDLE);
const { manifest, bytes: kbBytes } = kb;

const scratch = mkdtempSync(join(tmpdir(), "photolink-bench-"));
const site = siteWith(env("BENCH_SITE"), join(scratch, "site"), BUNDLE, "bench");
const { child: server, origin } = await serve(BIN, site);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });

/** A fresh page on the bundle, its linker loaded in the page's worker with `nprobe`. */
async function session() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const requested = recordKbRequests(page, kb, "bench");
  await page.goto(`${origin}/?backend=cpu`);
  await page.waitForSelector("body[data-ready=true]", { timeout: 600_000 });
  return { context, page, requested };
}

/** Loads a linker in the page's own worker (`options` of `Linker.load`) as `window.bench`. */
function load(page, options) {
  return page.evaluate(async (options) => {
    const { RemoteLinker } = await import("./remote-linker.js");
    window.bench?.close();
    window.bench = await RemoteLinker.load("bundles/bench/", { backend: "cpu", ...options });
  }, options);
}

/** The top-K ids of `photo`'s first subject by `window.bench`, and the milliseconds it took. */
function link(page, photo) {
  return page.evaluate(async ({ bytes, k }) => {
    const started = performance.now();
    const subjects = await window.bench.link(new Uint8Array(bytes), { k });
    // A person photo whose face is not found has no subject: `ids` null.
    return { ids: subjects[0]?.matches.map((m) => m.id) ?? null, ms: performance.now() - started };
  }, { bytes: [...readFileSync(photo)], k: K });
}

// Each file once: the page's own linker and the measured one share the Cache API.
const sum = (paths) => kb.sum([...new Set(paths)]);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const mb = (n) => (n / 1e6).toFixed(2);

try {
  // Exhaustive search over the whole KB: the reference of recall.
  const exhaustive = [];
  if (process.env.BENCH_EXHAUSTIVE !== "0") {
    const reference = await session();
    await load(reference.page, { kb: "whole" });
    for (const photo of PHOTOS) exhaustive.push((await link(reference.page, photo)).ids);
    await reference.context.close();
  }

  // Cold visits link photos that have a subject (a face found, for person bundles).
  const coldPhotos = exhaustive.length ? PHOTOS.filter((_, i) => exhaustive[i]) : PHOTOS;
  const rows = [];
  for (const nprobe of NPROBES) {
    const cold = [];
    for (let i = 0; i < COLD; i++) {
      const visit = await session();
      await load(visit.page, { nprobe });
      const { ms } = await link(visit.page, coldPhotos[i % coldPhotos.length]);
      cold.push({ bytes: sum(visit.requested), ms });
      await visit.context.close();
    }
    const warm = await session();
    await load(warm.page, { nprobe });
    let hits = 0, top1 = 0, linked = 0;
    const times = [];
    for (const [i, photo] of PHOTOS.entries()) {
      const { ids, ms } = await link(warm.page, photo);
      times.push(ms);
      if (!ids || !exhaustive.length) continue;
      linked++;
      hits += ids.filter((id) => exhaustive[i].includes(id)).length / exhaustive[i].length;
      top1 += ids[0] === exhaustive[i][0];
    }
    const session_bytes = sum(warm.requested);
    await warm.context.close();
    rows.push({ nprobe, cold, recall: hits / linked, top1: top1 / linked, times, session_bytes, linked });
    console.error(`nprobe ${nprobe}: done`);
  }

  console.log(`${manifest.count.toLocaleString("en")} entities, ${manifest.partitions.count} partitions, ` +
    `KB ${mb(kbBytes)} MB (shards, refinements, records, centroids); ${PHOTOS.length} photos, ${COLD} cold visits per nprobe\n`);
  console.log("| nprobe | KB bytes before the first result (cold, median) | share of the KB | time to the first result (cold, median) | recall@10 vs exhaustive | top-1 agreement | link time per photo in a session (median) | KB bytes over the session |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const bytes = median(r.cold.map((c) => c.bytes));
    console.log(`| ${r.nprobe} | ${mb(bytes)} MB | ${(100 * bytes / kbBytes).toFixed(1)} % | ` +
      `${Math.round(median(r.cold.map((c) => c.ms)))} ms | ` +
      (exhaustive.length ? `${r.recall.toFixed(3)} (${r.linked} photos) | ${(100 * r.top1).toFixed(1)} % | ` : "not measured | not measured | ") +
      `${Math.round(median(r.times))} ms | ${mb(r.session_bytes)} MB |`);
  }
} finally {
  await browser.close();
  server.kill();
  rmSync(scratch, { recursive: true, force: true });
}
