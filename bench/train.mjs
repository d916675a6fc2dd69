#!/usr/bin/env node
// pnpm bench:train — ResNet-20 training steps (batch 128, 32×32×3, SGD momentum + cross-entropy)
// with @resnet on tfjs WASM (one thread, and data-parallel over the machine's cores with
// createDataParallel) beside Debian's torch running the same net on one thread and on every core;
// prints the table with the ratios and records bench/results/train.json. Options: --batch N --steps N.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend } from '@resnet/backends';
import { manualSeed } from '@resnet/core';
import { Sgd, trainStep } from '@resnet/train';
import { createDataParallel } from '@resnet/train/node';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { batch: { type: 'string' }, steps: { type: 'string' } },
});
const batch = Number(values.batch ?? 128);
const steps = Number(values.steps ?? 3);
const cores = cpus().length;

function torchRun(threads) {
  const r = spawnSync(
    '/usr/bin/python3',
    [join(here, 'train_torch.py'), String(batch), String(steps), String(threads)],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`torch benchmark failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

function median(times) {
  const t = [...times].sort((x, y) => x - y);
  return t[Math.floor(t.length / 2)];
}

function setup() {
  manualSeed(0);
  const model = createModel('resnet20');
  const optimizer = new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const images = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 12.9898) * 2;
  const labels = new Int32Array(batch).map((_, i) => i % 10);
  return { model, optimizer, b: { images, labels, shape: [batch, 32, 32, 3] } };
}

async function oursRun() {
  await initBackend({ prefer: 'wasm' });
  const { model, optimizer, b } = setup();
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
  model.dispose();
  optimizer.dispose();
  const stepSeconds = median(times);
  return { threads: 1, stepSeconds, imagesPerSec: batch / stepSeconds, kernels: top };
}

async function parallelRun() {
  const dp = await createDataParallel({ replicas: cores, preset: 'resnet20', backend: 'wasm' });
  const { model, optimizer, b } = setup();
  try {
    await dp.step(model, optimizer, b);
    const times = [];
    for (let s = 0; s < steps; s++) {
      const t = performance.now();
      await dp.step(model, optimizer, b);
      times.push((performance.now() - t) / 1000);
    }
    const stepSeconds = median(times);
    return { replicas: cores, stepSeconds, imagesPerSec: batch / stepSeconds };
  } finally {
    model.dispose();
    optimizer.dispose();
    await dp.close();
  }
}

const load = loadavg()[0];
const torch = torchRun(1);
const torchAll = torchRun(cores);
const ours = await oursRun();
const parallel = await parallelRun();
const ratio = ours.imagesPerSec / torch.imagesPerSec;
const ratioParallel = parallel.imagesPerSec / torch.imagesPerSec;
const ratioAllCores = parallel.imagesPerSec / torchAll.imagesPerSec;
const rows = [
  [`ResNet-20 train step, batch ${batch}`, 'images/s', 'step (s)'],
  ['@resnet (tfjs WASM, 1 thread)', ours.imagesPerSec.toFixed(1), ours.stepSeconds.toFixed(2)],
  [`@resnet (WASM, ${cores} replicas)`, parallel.imagesPerSec.toFixed(1), parallel.stepSeconds.toFixed(2)],
  [`torch ${torch.torch} (1 thread)`, torch.imagesPerSec.toFixed(1), torch.stepSeconds.toFixed(3)],
  [`torch ${torch.torch} (${cores} threads)`, torchAll.imagesPerSec.toFixed(1), torchAll.stepSeconds.toFixed(3)],
  ['ratio @resnet 1 thread / torch 1', ratio.toFixed(3), ''],
  [`ratio @resnet ${cores} replicas / torch 1`, ratioParallel.toFixed(3), ''],
  [`ratio @resnet ${cores} replicas / torch ${cores}`, ratioAllCores.toFixed(3), ''],
];
for (const r of rows) console.log(`${r[0].padEnd(40)} ${r[1].padStart(10)} ${r[2].padStart(10)}`);
console.log('slowest kernels in one @resnet step (ms):', ours.kernels.map((k) => `${k.name} ${k.ms}`).join(', '));
const record = {
  date: new Date().toISOString(),
  machine: `${cpus()[0]?.model ?? 'unknown CPU'} × ${cores}, load average ${load.toFixed(1)} at start`,
  node: process.version,
  batch,
  steps,
  ours: { backend: 'wasm', ...ours },
  parallel: { backend: 'wasm', ...parallel },
  torch,
  torchAll,
  ratio,
  ratioParallel,
  ratioAllCores,
};
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'train.json'), `${JSON.stringify(record, null, 2)}\n`);
console.log('recorded bench/results/train.json');
