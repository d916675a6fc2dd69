#!/usr/bin/env node
// pnpm bench:kernels — our convolution kernels (csrc/) beside tfjs's own (XNNPACK) on every
// convolution shape of ResNet-18 and ResNet-50 inference (batch 1, 224×224, optimised) and of a
// ResNet-20 training step (batch 128, 32×32: forward, input gradient, weight gradient).
// The shapes are read from the networks themselves (tf.profile of one pass). Each shape runs
// every path that can compute it, interleaved, repeatedly, in this one process; a path's time is
// its fastest run's CPU time (process.cpuUsage: the least disturbed by other processes on a
// shared machine) and the table prints the ratio ours / XNNPACK per shape, the path the rules
// (CONV_RULES in @resnet/backends) choose, and whether that is the fastest measured.
// --accuracy instead measures each path's float error against a float64 direct convolution and the
// memory its transformed filters take (both independent of the machine's load) into
// bench/results/kernels-accuracy.json; --record writes the timings to bench/results/kernels.json
// (take it on an idle machine). Both regenerate docs/guide/kernels.md.
//   node bench/kernels.mjs [--reps N] [--threads N] [--only resnet18,resnet50,resnet20] [--record | --accuracy]
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chooseConvPath, filterCacheStats, initBackend, setConvolutionPath } from '@resnet/backends';
import { optimizeForInference } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    reps: { type: 'string' },
    only: { type: 'string' },
    record: { type: 'boolean' },
    accuracy: { type: 'boolean' },
    threads: { type: 'string' },
  },
});
const here = dirname(fileURLToPath(import.meta.url));
const reps = Number(values.reps ?? 7);
const nets = (values.only ?? 'resnet18,resnet50,resnet20').split(',');
const CONV_KERNELS = ['Conv2D', 'FusedConv2D', 'ResNetConv2DResidual', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'];
const OUR_PATHS = ['winograd4', 'winograd2', 'gemm'];

// With --threads N: tfjs's threaded build, XNNPACK on its N threads, ours on N threads of ours.
const info = await initBackend({ prefer: 'wasm', threads: Number(values.threads ?? 1), onWarning: () => {} });
const loadBefore = loadavg()[0];

/** The convolutions of one pass of `run`, by kernel and shapes, with how often each occurs. */
async function convolutionsOf(net, run) {
  const profile = await tf.profile(run);
  const found = new Map();
  for (const k of profile.kernels) {
    if (!CONV_KERNELS.includes(k.name)) continue;
    const key = `${k.name} ${JSON.stringify(k.inputShapes)} ${JSON.stringify(k.outputShapes)}`;
    const entry = found.get(key) ?? { net, kernel: k.name, inputs: k.inputShapes, output: k.outputShapes[0], count: 0 };
    entry.count++;
    found.set(key, entry);
  }
  return [...found.values()];
}

async function shapes() {
  const all = [];
  for (const net of nets) {
    tf.engine().startScope();
    if (net === 'resnet20') {
      const model = createModel('resnet20');
      model.train(true);
      const x = tf.randomNormal([128, 32, 32, 3]);
      // The forward convolutions; a training step adds, for each, the weight gradient and (but for
      // the first, whose input is the image) the input gradient, with the same shapes.
      const forward = await convolutionsOf(net, () => tf.dispose(model.forward(x)));
      for (const f of forward) {
        const [xShape, wShape] = f.inputs;
        all.push(f, { ...f, kernel: 'Conv2DBackpropFilter', inputs: [xShape, f.output], output: wShape });
        if (xShape[3] !== 3)
          all.push({ ...f, kernel: 'Conv2DBackpropInput', inputs: [f.output, wShape], output: xShape });
      }
      model.dispose();
    } else {
      const model = createModel(net);
      model.eval();
      const inference = optimizeForInference(model);
      const x = tf.randomNormal([1, 224, 224, 3]);
      all.push(...(await convolutionsOf(net, () => inference.predict(x).dispose())));
      inference.dispose();
      model.dispose();
    }
    tf.engine().endScope();
  }
  return all;
}

/** Stride and padding of a ResNet convolution from its sizes: padding k // 2 (torchvision's). */
function geometry(size, kernel, out) {
  const stride = Math.max(1, Math.round(size / out));
  const pad = (kernel - 1) >> 1;
  if (Math.floor((size + 2 * pad - kernel) / stride) + 1 !== out) {
    throw new Error(`cannot infer stride and padding of a ${kernel}×${kernel} convolution from ${size} to ${out}`);
  }
  return { stride, pad };
}

/** The ConvShape the path rules see for a convolution of an NHWC input `x` (see chooseConvPath). */
function convShape(x, inChannels, outChannels, kernelHeight, kernelWidth, stride, extra = {}) {
  const [batch, inHeight, inWidth] = x;
  return {
    batch,
    inHeight,
    inWidth,
    inChannels,
    outChannels,
    kernelHeight,
    kernelWidth,
    strideHeight: stride,
    strideWidth: stride,
    ...extra,
  };
}

/** A runnable case for one shape: the call, and the ConvShape the path rules see. */
function makeCase(s) {
  const pads = (p) => [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
  if (s.kernel === 'Conv2DBackpropFilter') {
    const [xShape, dyShape] = s.inputs;
    const [kh, kw, cin, cout] = s.output;
    const { stride, pad } = geometry(xShape[1], kh, dyShape[1]);
    const x = tf.randomNormal(xShape);
    const dy = tf.randomNormal(dyShape);
    const attrs = {
      strides: stride,
      pad: pads(pad),
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      filterShape: s.output,
    };
    return {
      tensors: [x, dy],
      call: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs),
      shape: convShape(xShape, cin, cout, kh, kw, stride, { gradient: 'filter' }),
      describe: `dW ${xShape.join('×')} ${kh}×${kw}/${stride} ${cin}→${cout}`,
    };
  }
  if (s.kernel === 'Conv2DBackpropInput') {
    const [dyShape, wShape] = s.inputs;
    const [kh, kw, cin, cout] = wShape;
    const xShape = s.output;
    const { stride, pad } = geometry(xShape[1], kh, dyShape[1]);
    const dy = tf.randomNormal(dyShape);
    const w = tf.randomNormal(wShape);
    const attrs = {
      strides: stride,
      pad: pads(pad),
      dataFormat: 'NHWC',
      dimRoundingMode: undefined,
      inputShape: xShape,
    };
    return {
      tensors: [dy, w],
      call: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, attrs),
      // The rules see the convolution that computes it: dy in, cin out.
      shape: convShape(dyShape, cout, cin, kh, kw, stride),
      describe: `dX ${xShape.join('×')} ${kh}×${kw}/${stride} ${cin}→${cout}`,
    };
  }
  const [xShape, wShape] = s.inputs;
  const [kh, kw, cin, cout] = wShape;
  const { stride, pad } = geometry(xShape[1], kh, s.output[1]);
  const x = tf.randomNormal(xShape);
  const w = tf.randomNormal(wShape, 0, Math.sqrt(2 / (kh * kw * cin)));
  // The residual kernel's convolution is timed as the fused one (the residual adds one pass of its output).
  const bias = s.kernel === 'Conv2D' ? null : tf.randomNormal([cout]);
  return {
    tensors: [x, w, ...(bias ? [bias] : [])],
    call: () =>
      bias
        ? tf.fused.conv2d({ x, filter: w, strides: stride, pad: pads(pad), bias, activation: 'relu' })
        : tf.conv2d(x, w, stride, pads(pad)),
    // A training step's forward convolutions are recorded for the gradient (the rules take F(2×2) there).
    shape: convShape(xShape, cin, cout, kh, kw, stride, { recorded: s.net === 'resnet20' }),
    describe: `${bias ? 'fwd+bias+relu' : 'fwd'} ${xShape.join('×')} ${kh}×${kw}/${stride} ${cin}→${cout}`,
  };
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Paths that can run a case: tfjs always, ours where the rules' `canRun` allows. */
function pathsFor(c) {
  return ['tfjs', ...OUR_PATHS.filter((p) => chooseConvPath(c.shape, info.threads, p) === p)];
}

function measure(c, paths) {
  const times = Object.fromEntries(paths.map((p) => [p, []]));
  const outputs = {};
  for (let r = 0; r < reps + 2; r++) {
    for (const p of paths) {
      setConvolutionPath(p);
      // The WASM backend runs a kernel synchronously: the call's time is the kernel's.
      const t = cpuMs();
      const y = c.call();
      const ms = cpuMs() - t;
      if (r >= 2) times[p].push(ms);
      outputs[p] ??= y.dataSync();
      y.dispose();
    }
  }
  setConvolutionPath('auto');
  const ref = outputs.tfjs;
  let scale = 0;
  for (const v of ref) scale = Math.max(scale, Math.abs(v));
  const result = {};
  for (const p of paths) {
    let err = 0;
    const o = outputs[p];
    for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(o[i] - ref[i]));
    const sorted = [...times[p]].sort((a, b) => a - b);
    result[p] = { min: sorted[0], median: sorted[sorted.length >> 1], relError: err / scale };
  }
  return result;
}

/** Each path's error against a float64 direct convolution (3×3, 'same'), for the shapes of the table. */
function accuracy() {
  const cases = [
    [1, 56, 56, 64, 64],
    [1, 28, 28, 128, 128],
    [1, 14, 14, 256, 256],
    [1, 7, 7, 512, 512],
    [16, 32, 32, 16, 16],
  ];
  const out = [];
  for (const [n, h, w, ci, co] of cases) {
    const x = tf.tidy(() => tf.relu(tf.randomNormal([n, h, w, ci], 0, 1, 'float32', 1)));
    const f = tf.randomNormal([3, 3, ci, co], 0, Math.sqrt(2 / (9 * ci)), 'float32', 2);
    const xs = x.dataSync();
    const fs = f.dataSync();
    const ref = new Float64Array(n * h * w * co);
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h; y++)
        for (let z = 0; z < w; z++) {
          const o = ((b * h + y) * w + z) * co;
          for (let i = 0; i < 3; i++) {
            const iy = y + i - 1;
            if (iy < 0 || iy >= h) continue;
            for (let j = 0; j < 3; j++) {
              const ix = z + j - 1;
              if (ix < 0 || ix >= w) continue;
              const xi = ((b * h + iy) * w + ix) * ci;
              const fi = (i * 3 + j) * ci * co;
              for (let c = 0; c < ci; c++) {
                const v = xs[xi + c];
                if (v === 0) continue;
                const row = fi + c * co;
                for (let k = 0; k < co; k++) ref[o + k] += v * fs[row + k];
              }
            }
          }
        }
    let scale = 0;
    for (const v of ref) scale = Math.max(scale, Math.abs(v));
    const errors = {};
    for (const p of ['tfjs', 'gemm', 'winograd4', 'winograd2']) {
      setConvolutionPath(p);
      const y = tf.tidy(() => tf.conv2d(x, f, 1, 'same').dataSync());
      let e = 0;
      for (let i = 0; i < y.length; i++) e = Math.max(e, Math.abs(y[i] - ref[i]));
      errors[p] = e / scale;
    }
    setConvolutionPath('auto');
    out.push({ shape: `${n}×${h}×${w}×${ci} 3×3 → ${co}`, errors });
    tf.dispose([x, f]);
  }
  return out;
}

/** Bytes of transformed filters an optimised network holds after one pass, beside its weights. */
function filterCache() {
  const result = {};
  for (const net of ['resnet18', 'resnet50']) {
    const model = createModel(net);
    model.eval();
    const inference = optimizeForInference(model);
    model.dispose();
    const before = filterCacheStats();
    const x = tf.zeros([1, 224, 224, 3]);
    inference.predict(x).dispose();
    const after = filterCacheStats();
    result[net] = {
      bytes: after.bytes - before.bytes,
      tensors: after.tensors - before.tensors,
      weightBytes: 4 * inference.countParameters(),
    };
    inference.dispose();
    x.dispose();
  }
  return result;
}

async function regenerateDoc() {
  const { renderKernelsDoc } = await import('./kernels-doc.mjs');
  const page = join(here, '../docs/guide/kernels.md');
  writeFileSync(page, renderKernelsDoc(readFileSync(page, 'utf8')));
  console.log('wrote docs/guide/kernels.md');
}

if (values.accuracy) {
  const record = { date: new Date().toISOString(), accuracy: accuracy(), filterCache: filterCache() };
  for (const a of record.accuracy)
    console.log(
      a.shape,
      Object.entries(a.errors)
        .map(([p, e]) => `${p} ${e.toExponential(2)}`)
        .join(', '),
    );
  for (const [net, c] of Object.entries(record.filterCache))
    console.log(
      `${net}: transformed filters ${(c.bytes / 2 ** 20).toFixed(1)} MiB (${c.tensors}), weights ${(c.weightBytes / 2 ** 20).toFixed(1)} MiB`,
    );
  writeFileSync(join(here, 'results/kernels-accuracy.json'), `${JSON.stringify(record, null, 2)}\n`);
  await regenerateDoc();
  process.exit(0);
}

const found = await shapes();
const rows = [];
for (const s of found) {
  const c = makeCase(s);
  const paths = pathsFor(c);
  const r = measure(c, paths);
  tf.dispose(c.tensors);
  const chosen = chooseConvPath(c.shape, info.threads);
  const best = paths.reduce((a, b) => (r[b].min < r[a].min ? b : a));
  rows.push({ net: s.net, kernel: s.kernel, shape: c.describe, count: s.count, chosen, best, times: r });
}

const pad = (v, n) => String(v).padStart(n);
console.log(
  `${'net'.padEnd(9)} ${'convolution'.padEnd(40)} ${pad('×', 3)} ${pad('XNNPACK ms', 10)} ${OUR_PATHS.map((p) => pad(`${p}`, 16)).join(' ')}  chosen     fastest`,
);
const totals = {};
for (const row of rows) {
  const t = row.times;
  const cells = OUR_PATHS.map((p) => (t[p] ? `${t[p].min.toFixed(2)} ${(t[p].min / t.tfjs.min).toFixed(2)}×` : '—'));
  console.log(
    `${row.net.padEnd(9)} ${row.shape.padEnd(40)} ${pad(row.count, 3)} ${pad(t.tfjs.min.toFixed(2), 10)} ${cells.map((x) => pad(x, 16)).join(' ')}  ${row.chosen.padEnd(10)} ${row.best}${row.best === row.chosen ? '' : '  ← rules differ'}`,
  );
  totals[row.net] ??= { tfjs: 0, chosen: 0, best: 0 };
  const tot = totals[row.net];
  tot.tfjs += row.count * t.tfjs.min;
  tot.chosen += row.count * (t[row.chosen] ?? t.tfjs).min;
  tot.best += row.count * t[row.best].min;
}
for (const [net, t] of Object.entries(totals)) {
  console.log(
    `${net}: convolutions ${t.tfjs.toFixed(1)} ms with XNNPACK, ${t.chosen.toFixed(1)} ms as the rules choose (${(t.chosen / t.tfjs).toFixed(3)}×), ${t.best.toFixed(1)} ms with the fastest per shape (${(t.best / t.tfjs).toFixed(3)}×)`,
  );
}
const worst = Math.max(...rows.flatMap((row) => Object.values(row.times).map((t) => t.relError)));
console.log(`largest difference from XNNPACK's output, relative to its scale: ${worst.toExponential(2)}`);
console.log(
  `load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after; ${reps} interleaved runs per path; times are the fastest run's CPU time`,
);
if (values.record) {
  const record = {
    date: new Date().toISOString(),
    threads: info.threads,
    reps,
    loadBefore,
    loadAfter: loadavg()[0],
    rows,
    totals,
  };
  const file = info.threads > 1 ? `results/kernels-${info.threads}-threads.json` : 'results/kernels.json';
  writeFileSync(join(here, file), `${JSON.stringify(record, null, 2)}\n`);
  await regenerateDoc();
}
