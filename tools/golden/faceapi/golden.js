#!/usr/bin/env node
// Golden outputs of face-api's FaceRecognitionNet and TinyFaceDetector from the reference implementation,
// @vladmandic/face-api 1.7.15 on tfjs 4.22.0 in Node (tensor inputs, no canvas), 'cpu' backend
// (pure JS) as the reference; the same computations on the 'wasm' backend are run in a child process
// and their agreement is recorded.
//
// Also re-implements both forward passes with plain tfjs ops (following the research notes' spec) to
// dump per-layer statistics and the normalised input tensors; the manual results are checked against
// the library's (manualVsLibMaxAbsDiff, 0 expected on the cpu backend).
//
// Setup (once; nothing is installed into the repo):
//   mkdir -p /tmp/photolink-golden/faceapi
//   cp tools/golden/faceapi/package.json tools/golden/faceapi/package-lock.json /tmp/photolink-golden/faceapi/
//   (cd /tmp/photolink-golden/faceapi && npm ci --no-audit --no-fund)
//   # archives for the sha256s (npm pack fetches the same tarballs npm ci installed)
//   mkdir -p /tmp/photolink-golden/faceapi/tarballs && (cd /tmp/photolink-golden/faceapi/tarballs && \
//     npm pack --silent @vladmandic/face-api@1.7.15 @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 \
//       @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0 @tensorflow/tfjs-converter@4.22.0 pngjs@7.0.0)
// Run from the repo root:
//   node tools/golden/faceapi/golden.js --out tests/fixtures/golden/faceapi.json
// Options: --modules DIR (default /tmp/photolink-golden/faceapi/node_modules), --tarballs DIR,
//          --image PNG (default models/golden/nba_4faces_536x396.png), --backend cpu|wasm,
//          --no-wasm (skip the wasm agreement run), --emit PATH (internal: write raw results and exit).
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { createRequire } = require('module');
const { execFileSync } = require('child_process');

function parseArgs(argv) {
  const a = {
    modules: '/tmp/photolink-golden/faceapi/node_modules',
    tarballs: '/tmp/photolink-golden/faceapi/tarballs',
    image: 'models/golden/nba_4faces_536x396.png',
    out: 'tests/fixtures/golden/faceapi.json',
    backend: 'cpu',
    wasm: true,
    emit: null,
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const v = () => { if (i + 1 >= argv.length) throw new Error(`${k} needs a value`); return argv[++i]; };
    if (k === '--modules') a.modules = path.resolve(v());
    else if (k === '--tarballs') a.tarballs = path.resolve(v());
    else if (k === '--image') a.image = v();
    else if (k === '--out') a.out = v();
    else if (k === '--backend') a.backend = v();
    else if (k === '--no-wasm') a.wasm = false;
    else if (k === '--emit') a.emit = v();
    else if (k === '-h' || k === '--help') { console.log(fs.readFileSync(__filename, 'utf8').split('\n').filter((l) => l.startsWith('//')).join('\n')); process.exit(0); }
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const args = parseArgs(process.argv);
const req = createRequire(path.join(args.modules, '..', 'package.json'));
const tf = req('@tensorflow/tfjs');
const wasm = req('@tensorflow/tfjs-backend-wasm');
const faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { PNG } = req('pngjs');
const MODEL_DIR = path.join(args.modules, '@vladmandic/face-api/model');

// ---------------------------------------------------------------- helpers
const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const f32 = (v) => Number(Math.fround(v).toPrecision(9));            // shortest-ish text that round-trips as f32
const f32list = (a) => Array.from(a, f32);
const stats = (t) => {
  const a = t.dataSync();
  let s = 0; let sa = 0; let mn = Infinity; let mx = -Infinity;
  for (const v of a) { s += v; sa += Math.abs(v); if (v < mn) mn = v; if (v > mx) mx = v; }
  return { shape: t.shape, sum: s, absSum: sa, min: mn, max: mx, first8: f32list(a.slice(0, 8)) };
};
const maxAbsDiff = (a, b) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i])); return m; };
const l2 = (a) => Math.sqrt(Array.from(a).reduce((s, v) => s + v * v, 0));

// Synthetic RGB image, integer closed form (x = column, y = row, HWC, RGB).
const SYNTH_FORMULA = 'R = (2*x + y) % 256, G = (3*y) % 256, B = (x XOR y) & 255; x = column 0..W-1, y = row 0..H-1; '
  + 'HWC RGB u8, passed to computeFaceDescriptor as tf.tensor3d(int32, [H, W, 3])';
function synth(w, h) {
  const d = new Int32Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = (y * w + x) * 3;
    d[i] = (2 * x + y) % 256;
    d[i + 1] = (3 * y) % 256;
    d[i + 2] = (x ^ y) & 255;
  }
  return tf.tensor3d(d, [h, w, 3], 'int32');
}

function readPngRgb(file) {
  const png = PNG.sync.read(fs.readFileSync(file));             // pngjs always yields RGBA 8 bit
  const { width: W, height: H } = png;
  const d = new Int32Array(W * H * 3);
  for (let i = 0; i < W * H; i++) { d[3 * i] = png.data[4 * i]; d[3 * i + 1] = png.data[4 * i + 1]; d[3 * i + 2] = png.data[4 * i + 2]; }
  return { W, H, tensor: tf.tensor3d(d, [H, W, 3], 'int32') };
}

// ---------------------------------------------------------------- manual re-implementations (spec check + debug)
function frnManual(img3d) {
  const p = faceapi.nets.faceRecognitionNet.params;
  const layers = {};
  const convL = (x, cp, stride, relu, pad) => {
    let o = tf.conv2d(x, cp.conv.filters, stride, pad);
    o = tf.add(o, cp.conv.bias);
    o = tf.add(tf.mul(o, cp.scale.weights), cp.scale.biases);
    return relu ? tf.relu(o) : o;
  };
  const res = (x, rp) => tf.relu(tf.add(convL(convL(x, rp.conv1, 1, true, 'same'), rp.conv2, 1, false, 'same'), x));
  const resDown = (x, rp) => {
    let o = convL(convL(x, rp.conv1, 2, true, 'valid'), rp.conv2, 1, false, 'same');
    let pooled = tf.avgPool(x, 2, 2, 'valid');
    if (pooled.shape[1] !== o.shape[1]) o = tf.pad(o, [[0, 0], [0, pooled.shape[1] - o.shape[1]], [0, pooled.shape[2] - o.shape[2]], [0, 0]]);
    if (pooled.shape[3] !== o.shape[3]) pooled = tf.pad(pooled, [[0, 0], [0, 0], [0, 0], [0, o.shape[3] - pooled.shape[3]]]);
    return tf.relu(tf.add(pooled, o));
  };
  return tf.tidy(() => {
    const [h, w] = img3d.shape;
    let x = tf.cast(img3d, 'float32').expandDims(0);
    let pad = null;
    if (h !== w) {
      const diff = Math.abs(h - w); const after = Math.round(diff * 0.5); const before = diff - after;
      pad = h > w ? { left: before, right: after } : { top: before, bottom: after };
      x = h > w ? tf.pad(x, [[0, 0], [0, 0], [before, after], [0, 0]]) : tf.pad(x, [[0, 0], [before, after], [0, 0], [0, 0]]);
    }
    if (x.shape[1] !== 150) x = tf.image.resizeBilinear(x, [150, 150], false, false);
    layers.input_resized = stats(x);
    x = tf.div(tf.sub(x, tf.tensor1d([122.782, 117.001, 104.298])), 255);
    const xa = x.dataSync();
    const input = {
      shape: x.shape,
      layout: 'NHWC, after pad-to-square + resizeBilinear(150) + (x - mean) / 255',
      sum: xa.reduce((s, v) => s + v, 0),
      absSum: xa.reduce((s, v) => s + Math.abs(v), 0),
      row0_first8px: f32list(xa.slice(0, 24)),                        // pixels (y=0, x=0..7), RGB interleaved
      row75_first8px: f32list(xa.slice(75 * 150 * 3, 75 * 150 * 3 + 24)),
      center_px_75_75: f32list(xa.slice((75 * 150 + 75) * 3, (75 * 150 + 75) * 3 + 3)),
      last8px: f32list(xa.slice(xa.length - 24)),
    };
    let o = convL(x, p.conv32_down, 2, true, 'valid'); layers.conv32_down = stats(o);
    o = tf.maxPool(o, 3, 2, 'valid'); layers.maxpool = stats(o);
    for (const n of ['conv32_1', 'conv32_2', 'conv32_3']) { o = res(o, p[n]); layers[n] = stats(o); }
    for (const n of ['conv64_down', 'conv64_1', 'conv64_2', 'conv64_3', 'conv128_down', 'conv128_1', 'conv128_2', 'conv256_down', 'conv256_1', 'conv256_2', 'conv256_down_out']) {
      o = n.includes('down') ? resDown(o, p[n]) : res(o, p[n]); layers[n] = stats(o);
    }
    const avg = o.mean([1, 2]); layers.global_avg = stats(avg);
    const fc = tf.matMul(avg, p.fc);
    return { desc: fc.dataSync(), layers, input, pad };
  });
}

function tinyManual(img3d, inputSize) {
  const p = faceapi.nets.tinyFaceDetector.params;
  const layers = {};
  const leaky = (x) => { const m = tf.mul(x, tf.scalar(0.10000000149011612)); return tf.add(tf.relu(tf.sub(x, m)), m); };
  const sep = (x, sp) => leaky(tf.add(tf.separableConv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), sp.depthwise_filter, sp.pointwise_filter, 1, 'valid'), sp.bias));
  return tf.tidy(() => {
    const [h, w] = img3d.shape;
    let x = tf.cast(img3d, 'float32').expandDims(0);
    if (h !== w) x = h > w ? tf.pad(x, [[0, 0], [0, 0], [0, h - w], [0, 0]]) : tf.pad(x, [[0, 0], [0, w - h], [0, 0], [0, 0]]);
    if (x.shape[1] !== inputSize) x = tf.image.resizeBilinear(x, [inputSize, inputSize], false, false);
    layers.input_resized = stats(x);
    x = tf.div(tf.sub(x, tf.tensor1d([117.001, 114.697, 97.404])), 255);
    layers.input_normalised = stats(x);
    let o = leaky(tf.add(tf.conv2d(x, p.conv0.filters, 1, 'valid'), p.conv0.bias)); layers.conv0 = stats(o);
    o = tf.maxPool(o, 2, 2, 'same'); layers.conv0_pool = stats(o);
    for (const n of ['conv1', 'conv2', 'conv3', 'conv4', 'conv5']) {
      o = sep(o, p[n]); layers[n] = stats(o);
      o = tf.maxPool(o, 2, n === 'conv5' ? 1 : 2, 'same'); layers[`${n}_pool`] = stats(o);
    }
    o = tf.add(tf.conv2d(o, p.conv8.filters, 1, 'valid'), p.conv8.bias); layers.conv8 = stats(o);
    return { raw: o.dataSync(), shape: o.shape, layers };
  });
}

// ---------------------------------------------------------------- the goldens for one backend
const SYNTH_SIZES = [[200, 120], [97, 131], [161, 96]];             // [W, H]: pad rows / pad cols / odd diff
const DETECTOR_SIZES = [416, 320];
const SCORE_THRESHOLD = 0.5;

async function compute(backend) {
  if (backend === 'wasm') wasm.setWasmPaths(path.join(args.modules, '@tensorflow/tfjs-backend-wasm/dist') + '/');
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} unavailable`);
  await tf.ready();
  await faceapi.nets.faceRecognitionNet.loadFromDisk(MODEL_DIR);
  await faceapi.nets.tinyFaceDetector.loadFromDisk(MODEL_DIR);
  const out = { backend: tf.getBackend(), descriptors: [], detector: [] };

  for (const [w, h] of SYNTH_SIZES) {
    const img = synth(w, h);
    const desc = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(img);
    const man = frnManual(img);
    out.descriptors.push({
      name: `synth_${w}x${h}`, width: w, height: h, pad_to_square: man.pad,
      descriptor: f32list(desc), l2norm: l2(desc),
      manualVsLibMaxAbsDiff: maxAbsDiff(desc, man.desc),
      input150: man.input, layers: man.layers,
    });
    img.dispose();
  }

  const { W, H, tensor: photo } = readPngRgb(args.image);
  for (const inputSize of DETECTOR_SIZES) {
    const opts = new faceapi.TinyFaceDetectorOptions({ inputSize, scoreThreshold: SCORE_THRESHOLD });
    const dets = await faceapi.nets.tinyFaceDetector.locateFaces(photo, opts);
    const all = await faceapi.detectAllFaces(photo, opts);
    const man = tinyManual(photo, inputSize);
    const lib = await faceapi.nets.tinyFaceDetector.forward(photo, inputSize);
    const libRaw = lib.dataSync(); lib.dispose();
    const entry = {
      inputSize, scoreThreshold: SCORE_THRESHOLD, imageWidth: W, imageHeight: H,
      count: dets.length,
      detectAllFacesAgrees: all.length === dets.length && all.every((d, i) => d.score === dets[i].score && d.box.x === dets[i].box.x),
      detections: dets.map((d) => ({
        score: d.score,
        box: { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height },
        relativeBox: { x: d.relativeBox.x, y: d.relativeBox.y, width: d.relativeBox.width, height: d.relativeBox.height },
      })),
      rawOutputShape: man.shape,
      rawOutput: f32list(libRaw),
      manualVsLibMaxAbsDiff: maxAbsDiff(libRaw, man.raw),
      layers: man.layers,
    };
    if (inputSize === 416) {
      // detector box -> clip + floor (extractFaceTensors) -> computeFaceDescriptor; no landmark alignment
      const crops = await faceapi.extractFaceTensors(photo, dets);
      entry.faceDescriptors = [];
      for (const c of crops) {
        const d = await faceapi.nets.faceRecognitionNet.computeFaceDescriptor(c);
        entry.faceDescriptors.push({ cropShapeHWC: c.shape, descriptor: f32list(d), l2norm: l2(d) });
        c.dispose();
      }
      // pairwise Euclidean distances between the crops' descriptors (face-api matches at < 0.6)
      const ds = entry.faceDescriptors.map((f) => f.descriptor);
      entry.faceDescriptorDistances = ds.map((a) => ds.map((b) => Number(Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0)).toFixed(6))));
    }
    out.detector.push(entry);
  }
  photo.dispose();
  return out;
}

function compare(cpu, other) {
  const r = { backend: other.backend, descriptorsMaxAbsDiff: 0, rawOutputMaxAbsDiff: {}, boxesMaxAbsDiffPx: {}, scoresMaxAbsDiff: {}, sameDetectionCount: {} };
  cpu.descriptors.forEach((d, i) => { r.descriptorsMaxAbsDiff = Math.max(r.descriptorsMaxAbsDiff, maxAbsDiff(d.descriptor, other.descriptors[i].descriptor)); });
  cpu.detector.forEach((e, i) => {
    const o = other.detector[i]; const k = String(e.inputSize);
    r.rawOutputMaxAbsDiff[k] = maxAbsDiff(e.rawOutput, o.rawOutput);
    r.sameDetectionCount[k] = e.count === o.count;
    let bm = 0; let sm = 0;
    e.detections.forEach((d, j) => {
      const q = o.detections[j]; if (!q) return;
      bm = Math.max(bm, Math.abs(d.box.x - q.box.x), Math.abs(d.box.y - q.box.y), Math.abs(d.box.width - q.box.width), Math.abs(d.box.height - q.box.height));
      sm = Math.max(sm, Math.abs(d.score - q.score));
    });
    r.boxesMaxAbsDiffPx[k] = bm; r.scoresMaxAbsDiff[k] = sm;
    if (e.faceDescriptors) {
      r.cropDescriptorsMaxAbsDiff = 0;
      e.faceDescriptors.forEach((f, j) => { if (o.faceDescriptors[j]) r.cropDescriptorsMaxAbsDiff = Math.max(r.cropDescriptorsMaxAbsDiff, maxAbsDiff(f.descriptor, o.faceDescriptors[j].descriptor)); });
    }
  });
  return r;
}

function fileInfo(file) {
  const b = fs.readFileSync(file);
  return { file: path.basename(file), bytes: b.length, sha256: sha256(b) };
}

async function main() {
  const res = await compute(args.backend);
  if (args.emit) { fs.writeFileSync(args.emit, JSON.stringify(res)); return; }

  let wasmAgreement = null;
  if (args.wasm && args.backend !== 'wasm') {
    const tmp = path.join(require('os').tmpdir(), `photolink-faceapi-wasm-${process.pid}.json`);
    execFileSync(process.execPath, [__filename, '--modules', args.modules, '--image', args.image, '--backend', 'wasm', '--emit', tmp], { stdio: 'inherit' });
    wasmAgreement = compare(res, JSON.parse(fs.readFileSync(tmp, 'utf8')));
    fs.unlinkSync(tmp);
  }

  const archives = [];
  const want = ['vladmandic-face-api-1.7.15.tgz', 'tensorflow-tfjs-4.22.0.tgz', 'tensorflow-tfjs-core-4.22.0.tgz', 'tensorflow-tfjs-backend-cpu-4.22.0.tgz',
    'tensorflow-tfjs-backend-wasm-4.22.0.tgz', 'tensorflow-tfjs-converter-4.22.0.tgz', 'pngjs-7.0.0.tgz'];
  for (const f of want) {
    const p = path.join(args.tarballs, f);
    if (fs.existsSync(p)) archives.push(fileInfo(p));
    else { console.error(`warning: ${p} missing; its sha256 is not recorded`); archives.push({ file: f, sha256: null }); }
  }
  const modelFiles = ['face_recognition_model-weights_manifest.json', 'face_recognition_model.bin',
    'tiny_face_detector_model-weights_manifest.json', 'tiny_face_detector_model.bin'].map((f) => ({ path: `package/model/${f}`, ...fileInfo(path.join(MODEL_DIR, f)) }));
  const ver = (name) => JSON.parse(fs.readFileSync(req.resolve(`${name}/package.json`), 'utf8')).version;

  const result = {
    what: 'face-api goldens: FaceRecognitionNet descriptors (synthetic images) and TinyFaceDetector detections (real photo); '
      + 'reference = @vladmandic/face-api on tfjs in Node with tensor inputs, cpu backend',
    generator: 'tools/golden/faceapi/golden.js',
    package: '@vladmandic/face-api',
    version: faceapi.version,
    backend: res.backend,
    versions: {
      node: process.version, faceapi: faceapi.version, tfjs: tf.version.tfjs, 'tfjs-core': tf.version_core,
      'tfjs-backend-cpu': ver('@tensorflow/tfjs-backend-cpu'), 'tfjs-backend-wasm': ver('@tensorflow/tfjs-backend-wasm'), pngjs: ver('pngjs'),
    },
    archives,
    modelFiles,
    faceRecognition: {
      synthFormula: SYNTH_FORMULA,
      preprocessing: 'pad to square centred with 0 (after = round(diff/2) at the right/bottom, before = diff - after at the left/top); '
        + 'resizeBilinear to 150x150 (alignCorners=false, halfPixelCenters=false; skipped if already 150x150); '
        + '(x - [122.782, 117.001, 104.298]) / 255; descriptor = raw fc output (not L2-normalised)',
      cases: res.descriptors,
    },
    tinyFaceDetector: {
      image: path.relative(process.cwd(), path.resolve(args.image)),
      imageSha256: sha256(fs.readFileSync(args.image)),
      imageNote: 'PNG RGB 8 bit; decoded with pngjs and passed as tf.tensor3d(int32, [H, W, 3])',
      preprocessing: 'pad to square with 0 at the bottom (W>H) or right (H>W); resizeBilinear to inputSize (alignCorners=false, '
        + 'halfPixelCenters=false); (x - [117.001, 114.697, 97.404]) / 255',
      rawOutputLayout: '[1, n, n, 25] NHWC flattened row-major; channel = anchor*5 + k, k = tx, ty, tw, th, tobj (before sigmoid/exp)',
      decoding: 'score = sigmoid(tobj) > scoreThreshold; NMS IoU 0.4; boxes in input-image pixels (x, y, width, height), not clipped',
      runs: res.detector,
    },
    wasmAgreement,
    suggestedTolerance: { descriptorAbs: 1e-4, rawOutputAbs: 1e-3, boxPx: 1e-2, score: 1e-4, note: 'rawOutput magnitudes reach ~90; tfjs cpu vs wasm differ by up to ~5e-4 there (see wasmAgreement)' },
  };
  fs.mkdirSync(path.dirname(path.resolve(args.out)), { recursive: true });
  fs.writeFileSync(args.out, `${JSON.stringify(result, null, 1)}\n`);
  console.log(`wrote ${args.out} (${fs.statSync(args.out).size} B)`);
  for (const d of res.descriptors) console.log(`${d.name}: |d|=${d.l2norm.toFixed(6)} manual diff ${d.manualVsLibMaxAbsDiff}`);
  for (const e of res.detector) console.log(`tiny ${e.inputSize}: ${e.count} faces ${e.detections.map((d) => `${d.score.toFixed(3)}@(${d.box.x.toFixed(1)},${d.box.y.toFixed(1)},${d.box.width.toFixed(1)},${d.box.height.toFixed(1)})`).join(' ')} manual diff ${e.manualVsLibMaxAbsDiff}`);
  if (wasmAgreement) console.log('wasm agreement', JSON.stringify(wasmAgreement));
}

main().catch((e) => { console.error(e); process.exit(1); });
