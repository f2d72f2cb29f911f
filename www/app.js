// The page: it only draws. All compute — downloads, decoding, detection, embedding, search — runs
// in a worker (remote-linker.js over pkg/photolink.js). Relative URLs only, so the folder works
// from any static host and sub-path; no request ever leaves this origin.
import { RemoteLinker } from "./remote-linker.js";
import { toCsv, toJson } from "./batch-results.js";

const $ = (id) => document.getElementById(id);
const ui = {
  bundle: $("bundle"), bundleInfo: $("bundle-info"), progress: $("progress"), status: $("status"),
  backend: $("backend"), backendSummary: $("backend-summary"), backendDetails: $("backend-details"),
  backendReason: $("backend-reason"), backendChoice: $("backend-choice"), drop: $("drop"), file: $("file"), error: $("error"),
  errorMessage: $("error-message"), linkDamaged: $("link-damaged"), result: $("result"),
  photo: $("photo"), boxes: $("boxes"), drawing: $("drawing"), subjects: $("subjects"), stage: $("stage"),
  batch: $("batch"), batchProgress: $("batch-progress"), batchRows: document.querySelector("#batch-table tbody"),
  downloadJson: $("download-json"), downloadCsv: $("download-csv"),
};

let linker = null;
let busy = false;
// Which backend computes: the faster one by default; `?backend=cpu|gpu` or the control asks for one.
const asked = new URLSearchParams(location.search).get("backend");
ui.backendChoice.value = ["cpu", "gpu"].includes(asked) ? asked : "auto";
let bundleOnShow = null;
// For developers and tests: the live linker, from the console.
window.photolink = { get linker() { return linker; } };
let current = null; // { bytes, url, acceptDamaged }
// The photos of the last drop, in order: { file, subjects } or { file, error }.
let batch = [];
let batchTitle = "";
let batchRunning = false;

/** Shows `message` (empty: hides it); `damaged` offers to link what there is of a cut-off JPEG. */
function showError(message, { damaged = false } = {}) {
  ui.errorMessage.textContent = message;
  ui.error.hidden = !message;
  ui.linkDamaged.hidden = !damaged;
}

const milliseconds = (ms) => `${Math.round(ms).toLocaleString("en")} ms`;

/** One plain sentence on what computes and how fast (`timing`: the warm-up at load); a fallback's
 * technical reason only behind "Why". */
function showBackend(info, timing) {
  const what = info.kind === "gpu" ? `WebGPU — ${info.adapter || "adapter"}` : `the CPU (${info.adapter})`;
  let summary = `Computing on ${what}.`;
  if (timing) {
    const mine = info.kind === "gpu" ? timing.gpuMs : timing.cpuMs;
    const other = info.kind === "gpu" ? timing.cpuMs : timing.gpuMs;
    if (timing.chosenBy === "measured") {
      summary = `Computing on ${what}, the faster here: ${milliseconds(mine)} a photo, against ` +
        `${milliseconds(other)} on ${info.kind === "gpu" ? "the CPU" : "WebGPU"} (measured at load).`;
    } else if (mine != null) {
      summary = `Computing on ${what}${timing.chosenBy === "asked" ? ", as chosen" : ""}: ${milliseconds(mine)} a photo.`;
    }
    ui.backend.dataset.chosenBy = timing.chosenBy;
    ui.backend.dataset.gpuMs = timing.gpuMs ?? "";
    ui.backend.dataset.cpuMs = timing.cpuMs ?? "";
  }
  if (info.fallback_reason) {
    summary += "gpu" in navigator
      ? " WebGPU is offered by this browser but could not be used."
      : " This browser does not offer WebGPU.";
  }
  ui.backendSummary.textContent = summary;
  ui.backendReason.textContent = info.fallback_reason || "";
  ui.backendDetails.hidden = !info.fallback_reason;
  ui.backend.dataset.state = info.kind;
}

function megabytes(n) {
  return (n / 1e6).toFixed(1);
}

async function loadBundle(entry) {
  bundleOnShow = entry;
  // The previous bundle's worker goes, and its memory with it.
  linker?.close();
  linker = null;
  delete document.body.dataset.bundle;
  ui.bundle.disabled = ui.backendChoice.disabled = true;
  ui.progress.hidden = false;
  ui.progress.value = 0;
  ui.status.textContent = `Loading ${entry.title}…`;
  try {
    const loaded = await RemoteLinker.load(entry.path, {
      backend: ui.backendChoice.value,
      onProgress: (p) => {
        ui.progress.max = Math.max(p.totalBytes, 1);
        ui.progress.value = p.loadedBytes;
        ui.status.textContent = `Loading ${entry.title}: ${p.phase}, ${megabytes(p.loadedBytes)} of ${megabytes(p.totalBytes)} MB` +
          (p.entities ? `, ${p.entities} entities searchable` : "");
      },
    });
    linker = loaded;
    const info = linker.info();
    showBackend(info.backend, info.backendTiming);
    ui.bundleInfo.textContent = `${info.entities.toLocaleString("en")} entities` +
      (info.partitions
        ? `, in ${info.partitions.count} partitions: each photo downloads the ${info.partitions.nprobe} nearest`
        : "") +
      (info.faces ? ", faces are found automatically" : "");
    ui.status.textContent = `Ready: drop a photo to link it against ${info.title}.`;
    document.body.dataset.ready = "true";
    if (current) await link(current.bytes, { acceptDamaged: current.acceptDamaged });
    // Said once the photo on show, if any, is linked against this bundle too.
    document.body.dataset.bundle = info.title;
  } catch (e) {
    ui.status.textContent = `Could not load ${entry.title}.`;
    showError(`${e.message || e}`);
  } finally {
    ui.progress.hidden = true;
    ui.bundle.disabled = ui.backendChoice.disabled = false;
  }
}

async function drawSubjects(subjects) {
  // Linking can finish before the <img> has decoded the same file; its size places the boxes.
  await ui.photo.decode().catch(() => {});
  ui.boxes.replaceChildren();
  ui.subjects.replaceChildren();
  const w = ui.photo.naturalWidth, h = ui.photo.naturalHeight;
  subjects.forEach((s, i) => {
    if (w && h) ui.boxes.append(boxElement(s.box, w, h, i + 1, s.known));
    ui.subjects.append(subjectItem(s));
  });
}

/** A numbered frame over the photo, in percent of its `w`×`h` pixels so that it scales with it. */
function boxElement({ x1, y1, x2, y2 }, w, h, number, known) {
  const box = document.createElement("div");
  box.className = known ? "box" : "box unknown";
  box.style.left = `${(100 * Math.max(0, x1)) / w}%`;
  box.style.top = `${(100 * Math.max(0, y1)) / h}%`;
  box.style.width = `${(100 * (Math.min(w, x2) - Math.max(0, x1))) / w}%`;
  box.style.height = `${(100 * (Math.min(h, y2) - Math.max(0, y1))) / h}%`;
  const tag = document.createElement("span");
  tag.textContent = `${number}`;
  box.append(tag);
  return box;
}

/** A subject: its best match's name and the ranked matches or, when the bundle abstains, "not in
 * this knowledge base" with the closest matches folded away. */
function subjectItem(s) {
  const item = document.createElement("li");
  const title = document.createElement("h3");
  const list = matchList(s.matches);
  item.dataset.known = String(s.known);
  if (s.known) {
    title.textContent = s.matches[0].name;
    item.append(title, list);
  } else {
    title.textContent = "Not in this knowledge base";
    const fold = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "Closest matches";
    fold.append(summary, list);
    item.append(title, fold);
  }
  return item;
}

/** Ranked matches, each with its score, name (a link only for web addresses) and description. */
function matchList(matches) {
  const list = document.createElement("ol");
  list.className = "matches";
  for (const m of matches) {
    const li = document.createElement("li");
    const name = document.createElement(m.url ? "a" : "strong");
    name.textContent = m.name;
    if (m.url) { name.href = m.url; name.rel = "noreferrer noopener"; }
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = m.score.toFixed(3);
    const desc = document.createElement("span");
    desc.className = "description";
    desc.textContent = m.description;
    li.append(score, " ", name, " — ", desc);
    list.append(li);
  }
  return list;
}

/** Links `bytes` and shows the result; resolves to `{ subjects }` or `{ error }` (`null`: no
 * linker yet, or one link already running). */
async function link(bytes, { box, acceptDamaged = false } = {}) {
  if (!linker || busy) return null;
  busy = true;
  showError("");
  ui.status.textContent = "Linking…";
  const started = performance.now();
  try {
    let fetched = 0;
    const options = {
      k: 5, acceptDamaged,
      // A partitioned knowledge base downloads the part this photo needs first (cached after).
      onProgress: (p) => {
        ui.progress.hidden = false;
        ui.progress.max = Math.max(p.totalBytes, 1);
        ui.progress.value = p.loadedBytes;
        if (p.loadedBytes >= p.totalBytes) fetched += p.totalBytes;
        ui.status.textContent = `Downloading the part of the knowledge base this photo needs: ` +
          `${megabytes(p.loadedBytes)} of ${megabytes(p.totalBytes)} MB`;
      },
    };
    if (box) options.box = box;
    const subjects = await linker.link(bytes, options);
    const ms = Math.round(performance.now() - started);
    await drawSubjects(subjects);
    const unknown = subjects.filter((s) => !s.known).length;
    // A damaged or missing partition is named; the matches come from the others.
    const refused = [...new Map(subjects.flatMap((s) => s.refused ?? []).map((r) => [r.path, r])).values()];
    if (refused.length) {
      showError(`Part of the knowledge base was refused, so these matches may miss some entities: ` +
        refused.map((r) => `${r.path} (${r.reason})`).join("; "));
    }
    ui.status.textContent = subjects.length
      ? `Linked ${subjects.length} subject${subjects.length > 1 ? "s" : ""} in ${ms} ms` +
        (fetched ? `, after fetching ${megabytes(fetched)} MB of its knowledge base` : "") +
        (unknown ? ` (${unknown} not in this knowledge base).` : ".")
      // A person KB links faces: a photo without one shows no one it knows.
      : "Not in this knowledge base: no face found in this photo. Drag a box around a person to link them anyway.";
    document.body.dataset.linked = String(subjects.length);
    showBackend(linker.backend(), linker.info().backendTiming);
    return { subjects };
  } catch (e) {
    const damaged = e.name === "DamagedPhotoError";
    ui.status.textContent = damaged ? "This photo is damaged." : "This photo could not be linked.";
    showError(`${e.message || e}`, { damaged });
    // Nothing to show but the message (no broken-image icon), except what there is of a damaged photo.
    if (!damaged) ui.result.hidden = true;
    document.body.dataset.linked = "error";
    return { error: { name: e.name || "Error", message: `${e.message || e}` } };
  } finally {
    ui.progress.hidden = true;
    busy = false;
  }
}

/** Shows `file` and links it: the outcome of `link`. */
async function takeFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (current) URL.revokeObjectURL(current.url);
  current = { bytes, url: URL.createObjectURL(file) };
  ui.result.hidden = false;
  ui.photo.hidden = false;
  ui.boxes.replaceChildren();
  ui.subjects.replaceChildren();
  ui.photo.src = current.url;
  // The photo element may fail to show a broken file; the linker explains why in words.
  return link(bytes);
}

/** Links the photos of one drop or pick one after another, listing each one's outcome. */
async function takeFiles(files) {
  files = [...files].filter(Boolean);
  if (!files.length) return;
  if (batchRunning || !linker) {
    ui.status.textContent = batchRunning
      ? "Still linking the previous photos: drop these again when it is done."
      : "The knowledge base is still loading: drop the photos again when it is ready.";
    return;
  }
  batchRunning = true;
  delete document.body.dataset.batch;
  batch = [];
  batchTitle = linker.info().title;
  ui.batchRows.replaceChildren();
  ui.batch.hidden = false;
  try {
    for (const [i, file] of files.entries()) {
      ui.batchProgress.textContent = `Linking photo ${i + 1} of ${files.length}: ${file.name}`;
      const outcome = (await takeFile(file)) ?? { error: { name: "Error", message: "not linked: the linker was busy" } };
      const record = { file: file.name, ...outcome };
      batch.push(record);
      ui.batchRows.append(batchRow(record, file));
    }
    const failed = batch.filter((p) => p.error).length;
    const summary = `${files.length - failed} of ${files.length} photo${files.length > 1 ? "s" : ""} linked` +
      (failed ? `; ${failed} could not be (its row says why)` : "") + ".";
    ui.batchProgress.textContent = summary;
    // With several photos the list tells each one's outcome; the banner is not the last one's.
    if (files.length > 1) {
      showError("");
      ui.status.textContent = `${summary} Pick a photo in the list to see it.`;
    }
  } finally {
    batchRunning = false;
    document.body.dataset.batch = String(batch.length);
  }
}

/** A row of the drop's list: the file (a button that shows it again) and who or what is in it. */
function batchRow({ file, subjects, error }, source) {
  const row = document.createElement("tr");
  const name = document.createElement("td");
  const show = document.createElement("button");
  show.type = "button";
  show.className = "show-photo";
  show.textContent = file;
  show.addEventListener("click", () => { if (!batchRunning) takeFile(source); });
  name.append(show);
  const answer = document.createElement("td");
  if (error) {
    row.dataset.outcome = "error";
    answer.textContent = error.message;
  } else if (!subjects.length) {
    row.dataset.outcome = "unknown";
    answer.textContent = "no subject found";
  } else {
    row.dataset.outcome = subjects.every((s) => s.known) ? "known" : subjects.some((s) => s.known) ? "some" : "unknown";
    answer.textContent = subjects
      .map((s, i) => `${i + 1}. ${s.known ? `${s.matches[0].name} (${s.matches[0].score.toFixed(3)})` : "not in this knowledge base"}`)
      .join("; ");
  }
  row.append(name, answer);
  return row;
}

/** Hands `text` to the browser as a download named `name`. */
function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
ui.downloadJson.addEventListener("click", () =>
  download("photolink-results.json", "application/json", toJson(batchTitle, batch)));
ui.downloadCsv.addEventListener("click", () => download("photolink-results.csv", "text/csv", toCsv(batch)));

// Drawing a box by hand: drag on the photo.
let dragStart = null;
function photoPoint(event) {
  const r = ui.photo.getBoundingClientRect();
  const x = ((event.clientX - r.left) / r.width) * ui.photo.naturalWidth;
  const y = ((event.clientY - r.top) / r.height) * ui.photo.naturalHeight;
  return [Math.max(0, Math.min(ui.photo.naturalWidth, x)), Math.max(0, Math.min(ui.photo.naturalHeight, y))];
}
ui.stage.addEventListener("pointerdown", (e) => {
  if (!current) return;
  dragStart = photoPoint(e);
  ui.stage.setPointerCapture(e.pointerId);
  e.preventDefault();
});
ui.stage.addEventListener("pointermove", (e) => {
  if (!dragStart) return;
  const [x, y] = photoPoint(e);
  const w = ui.photo.naturalWidth, h = ui.photo.naturalHeight;
  Object.assign(ui.drawing.style, {
    left: `${(100 * Math.min(x, dragStart[0])) / w}%`, top: `${(100 * Math.min(y, dragStart[1])) / h}%`,
    width: `${(100 * Math.abs(x - dragStart[0])) / w}%`, height: `${(100 * Math.abs(y - dragStart[1])) / h}%`,
  });
  ui.drawing.hidden = false;
});
ui.stage.addEventListener("pointerup", async (e) => {
  if (!dragStart) return;
  const [x, y] = photoPoint(e);
  const box = [Math.min(x, dragStart[0]), Math.min(y, dragStart[1]), Math.max(x, dragStart[0]), Math.max(y, dragStart[1])];
  dragStart = null;
  ui.drawing.hidden = true;
  if (box[2] - box[0] >= 8 && box[3] - box[1] >= 8) await link(current.bytes, { box, acceptDamaged: current.acceptDamaged });
});
// A file the browser cannot show leaves no broken-image icon.
ui.photo.addEventListener("error", () => { ui.photo.hidden = true; });
ui.linkDamaged.addEventListener("click", () => {
  if (!current) return;
  current.acceptDamaged = true;
  link(current.bytes, { acceptDamaged: true });
});

ui.file.addEventListener("change", () => takeFiles(ui.file.files));
ui.drop.addEventListener("keydown", (e) => {
  if (e.key === "Enter" || e.key === " ") { e.preventDefault(); ui.file.click(); }
});
for (const type of ["dragenter", "dragover"]) {
  ui.drop.addEventListener(type, (e) => { e.preventDefault(); ui.drop.classList.add("over"); });
}
ui.drop.addEventListener("dragleave", () => ui.drop.classList.remove("over"));
ui.drop.addEventListener("drop", (e) => {
  e.preventDefault();
  ui.drop.classList.remove("over");
  takeFiles(e.dataTransfer.files);
});
document.addEventListener("paste", (e) => {
  const item = [...(e.clipboardData?.items || [])].find((i) => i.type.startsWith("image/"));
  if (item) takeFiles([item.getAsFile()]);
});

async function main() {
  let bundles = [];
  try {
    const response = await fetch("bundles.json", { cache: "no-cache" });
    if (!response.ok) throw new Error(`bundles.json: HTTP ${response.status}`);
    bundles = await response.json();
  } catch (e) {
    ui.status.textContent = "No knowledge base is published with this page.";
    showError(`${e.message || e}`);
    try {
      showBackend(await RemoteLinker.initBackend());
    } catch (e2) {
      ui.status.textContent = `photolink could not start: ${e2.message || e2}`;
    }
    return;
  }
  for (const [i, b] of bundles.entries()) {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = b.title;
    ui.bundle.append(option);
  }
  ui.bundle.addEventListener("change", () => loadBundle(bundles[Number(ui.bundle.value)]));
  // Another backend: the bundle on show is loaded again on it.
  ui.backendChoice.addEventListener("change", () => { if (bundleOnShow) loadBundle(bundleOnShow); });
  if (bundles.length) await loadBundle(bundles[0]);
}

main();
