#!/usr/bin/env node
// Data-parallel ResNet-20 training on two threads (worker_threads), each with its own tfjs WASM
// backend and model replica: each computes the gradients of half the batch, the two gradients are
// averaged, and both replicas apply the same SGD step (so their weights stay identical). Prints
// images/s beside one thread on the same batch, in the same run. Options: --batch N --steps N.
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { initBackend } from '@resnet/backends';
import { manualSeed } from '@resnet/core';
import { computeGradients, Sgd, trainStep } from '@resnet/train';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

function batchOf(size, offset) {
  const images = new Float32Array(size * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin((i + offset * 3072) * 12.9898) * 2;
  return { images, labels: new Int32Array(size).map((_, i) => (i + offset) % 10), shape: [size, 32, 32, 3] };
}

async function replica() {
  await initBackend({ prefer: 'wasm' });
  manualSeed(0);
  const model = createModel('resnet20');
  const optimizer = new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  return { model, optimizer };
}

/** Gradients of this replica's half batch as host arrays. */
function halfGradients(model, batch) {
  const { logits, grads } = computeGradients(model, batch);
  const host = {};
  for (const [name, g] of Object.entries(grads)) host[name] = g.dataSync().slice();
  tf.dispose([logits, ...Object.values(grads)]);
  return host;
}

function applyAveraged(model, optimizer, a, b) {
  const shapes = new Map(model.namedParameters().map(([n, v]) => [n, v.shape]));
  const grads = {};
  for (const name of Object.keys(a)) {
    const avg = new Float32Array(a[name].length);
    for (let i = 0; i < avg.length; i++) avg[i] = (a[name][i] + b[name][i]) / 2;
    grads[name] = tf.tensor(avg, shapes.get(name));
  }
  optimizer.step(grads);
  tf.dispose(Object.values(grads));
}

if (!isMainThread) {
  const { half } = workerData;
  const { model, optimizer } = await replica();
  const batch = batchOf(half, half);
  parentPort.on('message', (msg) => {
    if (msg.type === 'step') {
      parentPort.postMessage({ type: 'grads', grads: halfGradients(model, batch) });
    } else if (msg.type === 'apply') {
      applyAveraged(model, optimizer, msg.mine, msg.other);
      parentPort.postMessage({ type: 'applied' });
    } else if (msg.type === 'stop') process.exit(0);
  });
  parentPort.postMessage({ type: 'ready' });
} else {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: { batch: { type: 'string' }, steps: { type: 'string' } },
  });
  const batch = Number(values.batch ?? 128);
  const steps = Number(values.steps ?? 3);
  const half = batch / 2;
  const worker = new Worker(new URL(import.meta.url), { workerData: { half } });
  const next = (type) => new Promise((resolve) => worker.once('message', (m) => m.type === type && resolve(m)));
  const ready = next('ready');
  const { model, optimizer } = await replica();
  await ready;
  const mine = batchOf(half, 0);
  async function parallelStep() {
    const otherP = next('grads');
    worker.postMessage({ type: 'step' });
    const own = halfGradients(model, mine);
    const { grads: other } = await otherP;
    const applied = next('applied');
    worker.postMessage({ type: 'apply', mine: other, other: own });
    applyAveraged(model, optimizer, own, other);
    await applied;
  }
  await parallelStep();
  const times = [];
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    await parallelStep();
    times.push((performance.now() - t) / 1000);
  }
  // Same replica, one thread, whole batch.
  const full = batchOf(batch, 0);
  trainStep(model, optimizer, full);
  const single = [];
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    trainStep(model, optimizer, full);
    single.push((performance.now() - t) / 1000);
  }
  worker.postMessage({ type: 'stop' });
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const p = batch / median(times);
  const o = batch / median(single);
  console.log(`ResNet-20 train step, batch ${batch}        images/s`);
  console.log(`@resnet WASM, 2 threads (data-parallel) ${p.toFixed(2).padStart(10)}`);
  console.log(`@resnet WASM, 1 thread                  ${o.toFixed(2).padStart(10)}`);
  console.log(`speed-up                                ${(p / o).toFixed(2).padStart(10)}`);
}
