// Our side of the training benchmark (bench/train.mjs) in a process of its own, kept alive so the
// steps of ours and torch's can be interleaved: ResNet-20 training steps (SGD momentum + weight
// decay, cross-entropy) on tfjs WASM, on one thread or data-parallel over `replicas` worker
// threads (createDataParallel). Answers {"cmd":"run"} → {"ms"} (one step) and {"cmd":"kernels"}
// → the slowest kernels of one profiled step.
import { initBackend } from '@resnet/backends';
import { manualSeed } from '@resnet/core';
import { Sgd, trainStep } from '@resnet/train';
import { createDataParallel } from '@resnet/train/node';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { serve } from './child.mjs';

const { batch, replicas, threads } = JSON.parse(process.argv[2]);
const info = await initBackend({ prefer: 'wasm', threads: threads ?? 1, onWarning: () => {} });
manualSeed(0);
const model = createModel('resnet20');
const optimizer = new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
const images = new Float32Array(batch * 32 * 32 * 3);
for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 12.9898) * 2;
const labels = new Int32Array(batch).map((_, i) => i % 10);
const b = { images, labels, shape: [batch, 32, 32, 3] };
const parallel = replicas > 1 ? await createDataParallel({ replicas, preset: 'resnet20', backend: 'wasm' }) : null;
const step = async () => (parallel ? parallel.step(model, optimizer, b) : trainStep(model, optimizer, b));
await step(); // warm-up: kernels set up, buffers allocated
process.stdout.write(`${JSON.stringify({ ready: true, threads: info.threads, replicas: replicas ?? 1 })}\n`);
serve({
  async run() {
    const t0 = performance.now();
    await step();
    return { ms: performance.now() - t0 };
  },
  async kernels() {
    const prof = await tf.profile(() => trainStep(model, optimizer, b));
    const byKernel = {};
    for (const k of prof.kernels) byKernel[k.name] = (byKernel[k.name] ?? 0) + k.kernelTimeMs;
    const top = Object.entries(byKernel)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 8)
      .map(([name, ms]) => ({ name, ms: Math.round(ms) }));
    return { kernels: top };
  },
});
