// End-to-end: a partitioned bundle in the page, as a user gets it. The page downloads the manifest,
// the weights and the centroids at load and, per photo, only the shards of the partitions it needs
// and the records of the matches it shows; a photo near an earlier one downloads nothing, a second
// visit reads the Cache API, a damaged partition is refused by name while the rest answers, and
// the answer agrees with exhaustive search over the whole KB in the same browser. Inputs:
//   PHOTOLINK_BIN, E2E_SITE            as for page.test.mjs (the site supplies the page and pkg/)
//   E2E_PARTITIONED_BUNDLE             a bundle exported with --partitions
//   E2E_PARTITIONED_PHOTO              a photo to link (defaults to E2E_PHOTO)
//   E2E_PARTITIONED_EXPECTED           its entity's name, if it must come first (defaults to
//                                      E2E_EXPECTED when the photo is E2E_PHOTO)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { bundleKb, env, FLAGS, recordKbRequests, serve, siteWith } from "./harness.mjs";

const BIN = env("PHOTOLINK_BIN");
const SITE = env("E2E_SITE");
const BUNDLE = env("E2E_PARTITIONED_BUNDLE");
const PHOTO = process.env.E2E_PARTITIONED_PHOTO || env("E2E_PHOTO");
const EXPECTED = process.env.E2E_PARTITIONED_PHOTO ? process.env.E2E_PARTITIONED_EXPECTED : env("E2E_EXPECTED");
const K = 10;

const kb = bundleKb(BUNDLE);
const { manifest, files: kbFiles, bytes: kbBytes } = kb;

let scratch, browser;
const servers = [];

before(async () => {
  assert.ok(manifest.partitions, `${BUNDLE} has no partitions`);
  scratch = mkdtempSync(join(tmpdir(), "photolink-partitions-"));
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
});

after(async () => {
  await browser?.close();
  for (const s of servers) s.kill();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function served(dir) {
  const { child, origin } = await serve(BIN, dir);
  servers.push(child);
  return origin;
}

/** Each page's console lines and unanswered requests, for a failure to quote. */
const watchOf = new WeakMap();

/** The page at `url` in `context`, with the KB files it requests (paths relative to the bundle). */
async function open(context, url) {
  const page = await context.newPage();
  const said = [];
  const pending = new Set();
  watchOf.set(page, { said, pending });
  // The page's and its worker's console.
  page.on("console", (m) => said.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => said.push(`pageerror: ${e.message}`));
  page.on("request", (r) => pending.add(r));
  page.on("requestfinished", (r) => pending.delete(r));
  page.on("requestfailed", (r) => { pending.delete(r); said.push(`failed: ${r.url()} ${r.failure()?.errorText}`); });
  const requested = recordKbRequests(page, kb, "partitioned");
  await page.goto(url);
  await page.waitForSelector("body[data-ready=true]", { timeout: 300_000 });
  return { page, requested };
}

async function linkPhoto(page) {
  await page.evaluate(() => { delete document.body.dataset.linked; });
  await page.setInputFiles("#file", PHOTO);
  try {
    await page.waitForSelector("body[data-linked]", { timeout: 120_000 });
  } catch (e) {
    // Say what the page said, so that a hang can be told from a refusal.
    const shown = await page.evaluate(() =>
      ["#status", "#error-message"].map((s) => document.querySelector(s)?.textContent));
    const { said, pending } = watchOf.get(page);
    throw new Error(`the photo was never linked; the page shows ${JSON.stringify(shown)}; ` +
      `its console: ${JSON.stringify(said)}; requests unanswered: ` +
      JSON.stringify([...pending].map((r) => r.url())), { cause: e });
  }
  return page.evaluate(() => document.body.dataset.linked);
}

/** The top-K names of the photo's first subject, through the page's linker or through a second one
 * in its own worker that loads the whole KB and searches it exhaustively. */
function topK(page, whole, k = K) {
  return page.evaluate(async ({ bytes, k, whole }) => {
    let linker = window.photolink.linker;
    if (whole) {
      const { RemoteLinker } = await import("./remote-linker.js");
      linker = await RemoteLinker.load("bundles/partitioned/", { kb: "whole", backend: "cpu" });
    }
    try {
      const subjects = await linker.link(new Uint8Array(bytes), { k });
      return subjects[0].matches.map((m) => m.name);
    } finally {
      if (whole) linker.close();
    }
  }, { bytes: [...readFileSync(PHOTO)], k, whole });
}

const ofRole = (paths, role) => paths.filter((p) => kbFiles.get(p).role === role);

test("a partitioned bundle downloads only the partitions a photo needs, then nothing", async () => {
  const origin = await served(siteWith(SITE, join(scratch, "site"), BUNDLE, "partitioned"));
  const context = await browser.newContext();
  const { page, requested } = await open(context, `${origin}/?backend=cpu`);
  const info = await page.evaluate(() => window.photolink.linker.info());
  assert.equal(info.partitions?.count, manifest.partitions.count, JSON.stringify(info));
  assert.equal(info.residentEntities, 0, "no entity's row is downloaded at load");
  assert.deepEqual(requested, [manifest.partitions.centroids], "only the centroids at load");
  assert.match(await page.textContent("#bundle-info"), /partitions: each photo downloads the \d+ nearest/);

  const started = Date.now();
  const linked = await linkPhoto(page);
  const firstResultMs = Date.now() - started;
  assert.equal(linked, "1", await page.textContent("#status"));
  const forPhoto = requested.slice(1);
  const shards = ofRole(forPhoto, "shard");
  const allShards = manifest.files.filter((f) => f.role === "shard");
  const probedPartitions = new Set(shards.map((p) => kbFiles.get(p).partition));
  assert.ok(probedPartitions.size <= info.partitions.nprobe, `${probedPartitions.size} partitions fetched`);
  assert.ok(shards.length < allShards.length, `${shards.length} of ${allShards.length} shards fetched`);
  assert.equal(ofRole(forPhoto, "refine").length, shards.length, "each shard's refinement, no other");
  assert.ok(ofRole(forPhoto, "metadata").length <= 5, `records of more than the 5 shown: ${forPhoto}`);
  const bytes = kb.sum(requested);
  console.log(`partitioned: ${info.entities} entities in ${info.partitions.count} partitions, nprobe ` +
    `${info.partitions.nprobe}: ${shards.length} of ${allShards.length} shards, ${bytes} of ${kbBytes} KB bytes ` +
    `(${(100 * bytes / kbBytes).toFixed(1)} %) before the first result, in ${firstResultMs} ms`);
  assert.ok(bytes < kbBytes, "the whole KB was downloaded");
  assert.match(await page.textContent("#status"), /after fetching [\d.]+ MB of its knowledge base/);
  const top1 = (await page.textContent("#subjects > li h3")).trim();
  if (EXPECTED) assert.equal(top1, EXPECTED);

  // The same photo again, with the page's 5 matches (through the page's linker: the file input
  // ignores the same file picked twice): its partitions and records are in memory.
  const before = requested.length;
  assert.equal((await topK(page, false, 5))[0], top1);
  assert.deepEqual(requested.slice(before), [], "a second link requested KB files");

  // Against exhaustive search of the whole KB, in the same browser (10 matches: the records of
  // the 5 more are fetched).
  const [partitioned, exhaustive] = [await topK(page, false), await topK(page, true)];
  const recall = partitioned.filter((n) => exhaustive.includes(n)).length / exhaustive.length;
  console.log(`partitioned: recall@${K} against exhaustive search ${recall.toFixed(2)}; top-1 ${partitioned[0]}`);
  assert.equal(partitioned[0], exhaustive[0], `top-1 differs: ${partitioned} vs ${exhaustive}`);
  assert.equal(top1, exhaustive[0]);
  await page.close();

  // A second visit: the same context's Cache API serves the partitions, the network serves none.
  const again = await open(context, `${origin}/?backend=cpu`);
  assert.equal(await linkPhoto(again.page), "1");
  assert.deepEqual(ofRole(again.requested, "shard"), [], "shards came from the network on a second visit");
  await context.close();
});

test("a damaged partition is refused by name and the other partitions answer", async () => {
  // Learn which shard the photo needs, then flip a byte of it in a copy of the bundle.
  const clean = await browser.newContext();
  const origin = await served(siteWith(SITE, join(scratch, "probe"), BUNDLE, "partitioned"));
  const { page, requested } = await open(clean, `${origin}/?backend=cpu`);
  await linkPhoto(page);
  const victim = ofRole(requested, "shard")[0];
  await clean.close();

  const damaged = siteWith(SITE, join(scratch, "damaged"), BUNDLE, "partitioned");
  const path = join(damaged, "bundles", "partitioned", victim);
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] ^= 0x5a;
  writeFileSync(path, bytes);
  const context = await browser.newContext();
  const opened = await open(context, `${await served(damaged)}/?backend=cpu`);
  assert.equal(await linkPhoto(opened.page), "1", await opened.page.textContent("#status"));
  const message = await opened.page.textContent("#error-message");
  assert.ok(message.includes(victim) && /sha256/.test(message), `the refusal does not name ${victim}: ${message}`);
  assert.ok(await opened.page.locator("#subjects .matches li").count() > 0, "no match from the other partitions");
  assert.match(await opened.page.textContent("#status"), /^Linked 1 subject/);
  await context.close();
});
