#!/usr/bin/env node
// pnpm bench:train — ResNet-20 training steps (batch 128, 32×32×3, SGD momentum + cross-entropy)
// with @resnet on tfjs WASM beside Debian's torch on one thread running the same net; prints the
// table with the ratio and records bench/results/train.json. Options: --batch N --steps N.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '@resnet/backends';
import { manualSeed } from '@resnet/core';
import { Sgd, trainStep } from '@resnet/train';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { batch: { type: 'string' }, steps: { type: 'string' } },
});
const batch = Number(values.batch ?? 128);
const steps = Number(values.steps ?? 3);

function torchRun() {
  const r = spawnSync('/usr/bin/python3', [join(here, 'train_torch.py'), String(batch), String(steps)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`torch benchmark failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

async function oursRun() {
  await initBackend({ prefer: 'wasm' });
  manualSeed(0);
  const model = createModel('resnet20');
  const optimizer = new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const images = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 12.9898) * 2;
  const labels = new Int32Array(batch).map((_, i) => i % 10);
  const b = { images, labels, shape: [batch, 32, 32, 3] };
  trainStep(model, optimizer, b); // warm-up: kernels set up, buffers allocated
  const times = [];
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    trainStep(model, optimizer, b);
    times.push((performance.now() - t) / 1000);
  }
  // Where the time goes: one profiled step, by kernel.
  const prof = await tf.profile(() => trainStep(model, optimizer, b));
  const byKernel = {};
  for (const k of prof.kernels) byKernel[k.name] = (byKernel[k.name] ?? 0) + k.kernelTimeMs;
  const top = Object.entries(byKernel)
    .sort((x, y) => y[1] - x[1])
    .slice(0, 8)
    .map(([name, ms]) => ({ name, ms: Math.round(ms) }));
  times.sort((x, y) => x - y);
  const median = times[Math.floor(times.length / 2)];
  model.dispose();
  optimizer.dispose();
  return { stepSeconds: median, imagesPerSec: batch / median, kernels: top };
}

const load = loadavg()[0];
const torch = torchRun();
const ours = await oursRun();
const ratio = ours.imagesPerSec / torch.imagesPerSec;
const rows = [
  ['ResNet-20 train step, batch ' + batch, 'images/s', 'step (s)'],
  ['@resnet (tfjs WASM, 1 thread)', ours.imagesPerSec.toFixed(1), ours.stepSeconds.toFixed(2)],
  [`torch ${torch.torch} (1 thread)`, torch.imagesPerSec.toFixed(1), torch.stepSeconds.toFixed(3)],
  ['ratio @resnet / torch', ratio.toFixed(3), ''],
];
for (const r of rows) console.log(`${r[0].padEnd(36)} ${r[1].padStart(10)} ${r[2].padStart(10)}`);
console.log('slowest kernels in one @resnet step (ms):', ours.kernels.map((k) => `${k.name} ${k.ms}`).join(', '));
const record = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, load average ${load.toFixed(1)} at start`,
  node: process.version,
  batch,
  steps,
  ours: { backend: 'wasm', threads: 1, ...ours },
  torch: { threads: 1, ...torch },
  ratio,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'train.json'), `${JSON.stringify(record, null, 2)}\n`);
console.log('recorded bench/results/train.json');
