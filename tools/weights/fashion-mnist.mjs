#!/usr/bin/env node
// resnet20's FASHION_MNIST weights: the ResNet-20 we trained with `resnet train` on all 60,000
// Fashion-MNIST training images, shipped inside @resnet/zoo as float16.
//
//   node tools/weights/fashion-mnist.mjs ship <checkpoint.safetensors>
//       reads the float32 training checkpoint, converts the model to float16 (round to nearest
//       even), measures both on the 10,000 test images (WASM), and writes
//         packages/zoo/src/weights/resnet20-fashion-mnist-f16.ts  the float16 safetensors file, base64
//         packages/zoo/src/weights/shipped-data.ts               the registry entry with its provenance
//       from the checkpoint's own record (seed, epochs, history), tools/weights/fashion-mnist-run.json
//       (command, commit, times) and the measurements. Needs `pnpm run build` first.
//   node tools/weights/fashion-mnist.mjs render
//       writes the generated blocks of docs/guide/training.md (curves and table) from the entry
//   node tools/weights/fashion-mnist.mjs check
//       fails when the guide is not what render writes
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { replaceBlock } from '../markdown-block.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const guide = join(root, 'docs/guide/training.md');
const weightsDir = join(root, 'packages/zoo/src/weights');
const pkg = (p) => import(pathToFileURL(join(root, 'packages', p)).href);

const ARCH = 'resnet20';
const NAME = 'FASHION_MNIST';
const FILE_NAME = 'resnet20-fashion-mnist-f16.safetensors';

// float32 → float16 bits, rounding to nearest even (numpy's astype(float16)), overflow to ±inf.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
export function toHalfBits(value) {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** A safetensors file: float tensors as F16, integer ones (counters) as I64, names sorted. */
function float16Safetensors(tensors, metadata) {
  const names = [...tensors.keys()].sort();
  const header = {};
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name);
    const dtype = t.dtype === 'float32' ? 'F16' : 'I64';
    const bytes = t.data.length * (dtype === 'F16' ? 2 : 8);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors.get(name);
    for (const v of t.data) {
      if (t.dtype === 'float32') {
        view.setUint16(pos, toHalfBits(v), true);
        pos += 2;
      } else {
        view.setBigInt64(pos, BigInt(v), true);
        pos += 8;
      }
    }
  }
  return out;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Logits of the model for every test image, in batches. */
function logitsOf(core, model, test, batch = 500) {
  const n = test.length;
  const out = new Float32Array(n * 10);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const x = core.hostToTensor({
      dtype: 'float32',
      shape: [m, 32, 32, 1],
      data: test.images.subarray(i * 1024, (i + m) * 1024),
    });
    const y = model.predict(x);
    out.set(y.dataSync(), i * 10);
    x.dispose();
    y.dispose();
  }
  return out;
}

/** Top-1 and top-5 accuracy (percent) and the top-1 classes. */
function accuracy(logits, labels) {
  const n = labels.length;
  let top1 = 0;
  let top5 = 0;
  const predicted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
    const order = row.map((v, k) => [v, k]).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    predicted[i] = order[0][1];
    if (order[0][1] === labels[i]) top1++;
    if (order.slice(0, 5).some(([, k]) => k === labels[i])) top5++;
  }
  return { acc1: (100 * top1) / n, acc5: (100 * top5) / n, predicted };
}

async function ship(checkpointPath) {
  if (!checkpointPath) throw new Error('usage: node tools/weights/fashion-mnist.mjs ship <checkpoint.safetensors>');
  const run = JSON.parse(readFileSync(join(root, 'tools/weights/fashion-mnist-run.json'), 'utf8'));
  const core = await pkg('core/dist/index.js');
  const coreNode = await pkg('core/dist/node.js');
  const train = await pkg('train/dist/index.js');
  const trainNode = await pkg('train/dist/node.js');
  const zooNode = await pkg('zoo/dist/node.js');
  const backends = await pkg('backends/dist/index.js');
  const summaryPkg = await pkg('summary/dist/index.js');
  await backends.initBackend({ prefer: 'wasm' });

  const fileBytes = readFileSync(checkpointPath);
  const file = coreNode.readStateDictFile(checkpointPath);
  const record = JSON.parse(file.metadata.run);
  if (record.arch !== ARCH || record.data !== 'fashion-mnist' || record.limit !== 60000)
    throw new Error(`${checkpointPath}: not a resnet20 run on all 60,000 Fashion-MNIST images`);
  const float32 = train.checkpointStateDict(file.tensors);
  const data = trainNode.loadFashionMnist({ trainLimit: 10 });
  const transforms = {
    resizeSize: 28,
    cropSize: 32,
    mean: [data.mean],
    std: [data.std],
    interpolation: 'bilinear',
    channels: 1,
  };
  const shipped = float16Safetensors(float32, {
    format: 'pt',
    arch: ARCH,
    weights: NAME,
    source: `resnet train, commit ${run.commit}, seed ${record.seed}`,
  });
  const float16 = core.parseStateDict(shipped).tensors;
  const options = { transforms, categories: trainNode.FASHION_MNIST_CLASSES };
  const labels = data.test.labels;
  const measure = (tensors) => {
    const model = zooNode.pretrainedFromStateDict(ARCH, tensors, options);
    const start = performance.now();
    const logits = logitsOf(core, model, data.test);
    const seconds = (performance.now() - start) / 1000;
    const params = model.countParameters();
    const multAdds = summaryPkg.summary(model, [1, 1, 32, 32], { layout: 'nchw' }).totals.totalMultAdds;
    model.dispose();
    return { logits, seconds, params, multAdds, ...accuracy(logits, labels) };
  };
  const a = measure(float32);
  const b = measure(float16);
  let changed = 0;
  for (let i = 0; i < labels.length; i++) if (a.predicted[i] !== b.predicted[i]) changed++;
  let maxDiff = 0;
  for (let i = 0; i < a.logits.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.logits[i] - b.logits[i]));
  console.log(
    `float32: top-1 ${a.acc1.toFixed(2)} %, top-5 ${a.acc5.toFixed(2)} % (${a.seconds.toFixed(1)} s); float16: top-1 ${b.acc1.toFixed(2)} %, top-5 ${b.acc5.toFixed(2)} % (${b.seconds.toFixed(1)} s); ${changed} predictions changed, largest |logit difference| ${maxDiff.toExponential(3)}`,
  );
  const history = record.history.map((h) => ({
    epoch: h.epoch,
    trainLoss: h.trainLoss,
    trainAccuracy: h.trainAccuracy,
    testLoss: h.testLoss,
    testAccuracy: h.testAccuracy,
    imagesPerSec: h.imagesPerSec,
  }));
  const last = history[history.length - 1];
  const round = (x, digits) => Number(x.toFixed(digits));
  const entry = {
    arch: ARCH,
    name: NAME,
    source: 'resnet',
    torchvision: null,
    isDefault: true,
    url: null,
    fileName: FILE_NAME,
    sha256Prefix: sha256(shipped).slice(0, 8),
    transforms,
    categories: trainNode.FASHION_MNIST_CLASSES,
    meta: {
      dataset: 'Fashion-MNIST',
      acc1: round(b.acc1, 2),
      acc5: round(b.acc5, 2),
      numParams: b.params,
      gflops: round(b.multAdds / 1e9, 4),
      fileSizeMB: round(shipped.length / 2 ** 20, 3),
      minSize: [1, 1],
      recipe: 'docs/guide/training.md#the-shipped-fashion-mnist-model (this repository), resnet train',
      description: `Trained by us with resnet train on the 60,000 Fashion-MNIST training images (${record.epochs} epochs, seed ${record.seed}), shipped in @resnet/zoo as float16; grey 28×28 input padded to 32×32`,
    },
    provenance: {
      command: run.command,
      commit: run.commit,
      seed: record.seed,
      recipe: run.recipe,
      trainImages: record.limit,
      testImages: labels.length,
      timeline: run.timeline,
      idleImagesPerSec: round(last.imagesPerSec, 1),
      idleSetup: run.idleSetup,
      history,
      float32: {
        file: `${relative(dirname(dirname(checkpointPath)), checkpointPath)} (${fileBytes.length} bytes: model and optimiser state)`,
        sha256: sha256(fileBytes),
        acc1: round(a.acc1, 2),
        acc5: round(a.acc5, 2),
      },
      float16: {
        sha256: sha256(shipped),
        bytes: shipped.length,
        acc1: round(b.acc1, 2),
        acc5: round(b.acc5, 2),
        changedPredictions: changed,
        maxLogitDifference: Number(maxDiff.toPrecision(3)),
      },
      measured: `by tools/weights/fashion-mnist.mjs on ${new Date().toISOString().slice(0, 10)}: @resnet/zoo's pretrainedFromStateDict on the WASM backend, the 10,000 test images of @resnet/train's loadFashionMnist`,
    },
  };
  const header = (what) =>
    `// Generated by tools/weights/fashion-mnist.mjs ship from the training checkpoint (SHA-256 ${entry.provenance.float32.sha256}); do not edit.\n// ${what}\n`;
  writeFileSync(
    join(weightsDir, 'resnet20-fashion-mnist-f16.ts'),
    `${header(`resnet20 FASHION_MNIST: the float16 safetensors file (${shipped.length} bytes, SHA-256 ${entry.provenance.float16.sha256}), base64. Imported only when the weights are asked for.`)}export const BASE64 =\n  '${Buffer.from(shipped).toString('base64')}';\n`,
  );
  writeFileSync(
    join(weightsDir, 'shipped-data.ts'),
    `${header('The weights we trained and ship inside @resnet/zoo, with how they were made.')}import type { WeightsEntry } from './registry.js';\n\nexport const SHIPPED_WEIGHTS_DATA: readonly WeightsEntry[] = [\n  ${JSON.stringify(entry, null, 2).replace(/\n/g, '\n  ')},\n];\n`,
  );
  console.log(`wrote ${relative(root, weightsDir)}/resnet20-fashion-mnist-f16.ts and shipped-data.ts`);
}

// ---------------------------------------------------------------- the guide's generated blocks

const pct = (x, digits = 2) => `${(100 * x).toFixed(digits)} %`;

/** Two charts side by side: loss (train, test) and accuracy (train, test) per epoch. */
export function curvesSvg(history) {
  const w = 640;
  const h = 240;
  const panel = (x0, title, series, lo, hi, tick, format) => {
    const pad = { left: 44, right: 12, top: 24, bottom: 30 };
    const pw = w / 2 - pad.left - pad.right;
    const ph = h - pad.top - pad.bottom;
    const n = history.length;
    const x = (i) => x0 + pad.left + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
    const y = (v) => pad.top + ph - ((v - lo) / (hi - lo)) * ph;
    let s = `<text x="${x0 + pad.left + pw / 2}" y="14" text-anchor="middle" font-size="12">${title}</text>`;
    s += `<line x1="${x0 + pad.left}" y1="${pad.top + ph}" x2="${x0 + pad.left + pw}" y2="${pad.top + ph}" stroke="#888"/>`;
    s += `<line x1="${x0 + pad.left}" y1="${pad.top}" x2="${x0 + pad.left}" y2="${pad.top + ph}" stroke="#888"/>`;
    const steps = Math.round((hi - lo) / tick);
    for (let k = 0; k <= steps; k++) {
      const v = lo + tick * k;
      s += `<line x1="${x0 + pad.left}" y1="${y(v).toFixed(1)}" x2="${x0 + pad.left + pw}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`;
      s += `<text x="${x0 + pad.left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${format(v)}</text>`;
    }
    history.forEach((r, i) => {
      s += `<text x="${x(i).toFixed(1)}" y="${pad.top + ph + 14}" text-anchor="middle">${r.epoch}</text>`;
    });
    s += `<text x="${x0 + pad.left + pw / 2}" y="${h - 4}" text-anchor="middle">epoch</text>`;
    for (const { key, label, color } of series) {
      const points = history.map((r, i) => `${x(i).toFixed(1)},${y(r[key]).toFixed(1)}`).join(' ');
      s += `<polyline points="${points}" fill="none" stroke="${color}" stroke-width="2"/>`;
      history.forEach((r, i) => {
        s += `<circle cx="${x(i).toFixed(1)}" cy="${y(r[key]).toFixed(1)}" r="3" fill="${color}"><title>${label}, epoch ${r.epoch}: ${format(r[key], 4)}</title></circle>`;
      });
    }
    series.forEach(({ label, color }, k) => {
      const ly = pad.top + 8 + 14 * k;
      s += `<line x1="${x0 + pad.left + pw - 70}" y1="${ly}" x2="${x0 + pad.left + pw - 56}" y2="${ly}" stroke="${color}" stroke-width="2"/>`;
      s += `<text x="${x0 + pad.left + pw - 52}" y="${ly + 3}">${label}</text>`;
    });
    return s;
  };
  const losses = history.flatMap((r) => [r.trainLoss, r.testLoss]);
  const accs = history.flatMap((r) => [r.trainAccuracy, r.testAccuracy]);
  const lossHi = Math.ceil(Math.max(...losses) * 10) / 10;
  const accLo = Math.floor(Math.min(...accs) * 20) / 20;
  const series = (a, b) => [
    { key: a, label: 'train', color: '#4e79a7' },
    { key: b, label: 'test', color: '#e15759' },
  ];
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="10">` +
    panel(0, 'cross-entropy loss', series('trainLoss', 'testLoss'), 0, lossHi, 0.1, (v, d = 1) => v.toFixed(d)) +
    panel(w / 2, 'top-1 accuracy', series('trainAccuracy', 'testAccuracy'), accLo, 1, 0.05, (v, d = 0) =>
      pct(v, d === 4 ? 2 : 0),
    ) +
    '</svg>'
  );
}

/** The guide's text with its `fashion-mnist-model` block rendered from the registry entry. */
export function renderGuide(text, entry) {
  const p = entry.provenance;
  const rows = p.history.map(
    (r) =>
      `| ${r.epoch} | ${r.trainLoss.toFixed(4)} | ${pct(r.trainAccuracy)} | ${r.testLoss.toFixed(4)} | ${pct(r.testAccuracy)} | ${r.imagesPerSec.toFixed(1)} |`,
  );
  const last = p.history[p.history.length - 1];
  const block = [
    '<!-- fashion-mnist-model:start (generated by `node tools/weights/fashion-mnist.mjs render` from the FASHION_MNIST entry of @resnet/zoo; do not edit) -->',
    '',
    `- **Command**, from a checkout of commit \`${p.commit.slice(0, 7)}\` (\`${p.commit}\`):`,
    `  \`${p.command}\``,
    `- **Recipe**: ${p.recipe}.`,
    `- **Seed** ${p.seed}; ${p.trainImages.toLocaleString('en-US')} training images, ${p.testImages.toLocaleString('en-US')} test images.`,
    `- **Time**: ${p.timeline} Idle throughput: ${p.idleImagesPerSec} images/s (${p.idleSetup}).`,
    `- **Result**: ${pct(last.testAccuracy)} top-1 on the test images after epoch ${last.epoch} (resnet train's own evaluation of the float32 model).`,
    '',
    curvesSvg(p.history),
    '',
    '| epoch | train loss | train accuracy | test loss | test accuracy | images/s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `The float32 checkpoint (SHA-256 \`${p.float32.sha256.slice(0, 16)}…\`) scores ${p.float32.acc1.toFixed(2)} % top-1 and ${p.float32.acc5.toFixed(2)} % top-5 on the ${p.testImages.toLocaleString('en-US')} test images; the shipped float16 weights (${(p.float16.bytes / 2 ** 20).toFixed(2)} MB) ${p.float16.acc1.toFixed(2)} % and ${p.float16.acc5.toFixed(2)} %: ${p.float16.changedPredictions} of the ${p.testImages.toLocaleString('en-US')} top-1 predictions change, and no logit moves by more than ${p.float16.maxLogitDifference} (measured ${p.measured}).`,
    '',
    '<!-- fashion-mnist-model:end -->',
  ].join('\n');
  const updated = replaceBlock(text, 'fashion-mnist-model', block);
  if (updated === null) throw new Error(`${relative(root, guide)} has no fashion-mnist-model block`);
  return updated;
}

async function shippedEntry() {
  const zoo = await pkg('zoo/dist/index.js');
  return zoo.getWeights(ARCH, NAME);
}

async function render() {
  writeFileSync(guide, renderGuide(readFileSync(guide, 'utf8'), await shippedEntry()));
  console.log(`rendered the shipped model's curves and table into ${relative(root, guide)}`);
}

async function check() {
  const text = readFileSync(guide, 'utf8');
  if (renderGuide(text, await shippedEntry()) !== text) {
    console.error(
      `${relative(root, guide)}: the fashion-mnist-model block is stale; run \`node tools/weights/fashion-mnist.mjs render\``,
    );
    process.exit(1);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [mode, arg] = process.argv.slice(2);
  if (mode === 'ship') await ship(arg);
  else if (mode === 'render') await render();
  else if (mode === 'check') await check();
  else {
    console.error('usage: node tools/weights/fashion-mnist.mjs ship <checkpoint.safetensors> | render | check');
    process.exit(2);
  }
}
