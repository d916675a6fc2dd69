// Threads from the tarballs: the WASM backend's Node thread pool (its worker script, a runtime file
// outside dist/, must be found where the package looks for it) and @resnet/train's data-parallel
// worker threads (dist/parallel-worker.js, which imports @resnet/backends and @resnet/zoo).
import assert from 'node:assert/strict';
import { initBackend } from '@resnet/backends';
import { Sgd } from '@resnet/train';
import { createDataParallel } from '@resnet/train/node';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

const info = await initBackend({ prefer: 'wasm', threads: 2 });
assert.equal(info.name, 'wasm');
assert.equal(info.threads, 2, `expected 2 WASM threads, got ${info.threads} (${info.notes.join('; ')})`);
const model = createModel('resnet18', { seed: 0 });
const y = model.predict(tf.zeros([1, 64, 64, 3]));
assert.deepEqual(y.shape, [1, 1000]);
assert.ok((await y.data()).every(Number.isFinite));
model.dispose();

const dp = await createDataParallel({ replicas: 2, preset: 'resnet20', presetOptions: { numClasses: 10 } });
const small = createModel('resnet20', { numClasses: 10, seed: 0 });
const optimizer = new Sgd(small.namedParameters(), { lr: 0.1, momentum: 0.9 });
const step = await dp.step(small, optimizer, {
  images: Float32Array.from({ length: 4 * 16 * 16 * 3 }, (_, i) => Math.sin(i)),
  labels: Int32Array.from([3, 7, 1, 0]),
  shape: [4, 16, 16, 3],
});
assert.ok(
  Number.isFinite(step.loss) && step.loss > 0 && step.size === 4,
  `data-parallel step: ${JSON.stringify(step)}`,
);
await dp.close();
console.log(
  `threads: ok (resnet18 on 2 WASM threads; resnet20 data-parallel step on 2 replicas, loss ${step.loss.toFixed(3)})`,
);
// The pool's workers keep the event loop alive.
process.exit(0);
