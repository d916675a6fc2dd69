// The WASM backend's Node thread pool from the tarball: its worker script (a runtime file
// outside dist/) must be found where the package looks for it.
import assert from 'node:assert/strict';
import { initBackend } from '@resnet/backends';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

const info = await initBackend({ prefer: 'wasm', threads: 2 });
assert.equal(info.name, 'wasm');
assert.equal(info.threads, 2, `expected 2 WASM threads, got ${info.threads} (${info.notes.join('; ')})`);
const model = createModel('resnet18', { seed: 0 });
const y = model.predict(tf.zeros([1, 64, 64, 3]));
assert.deepEqual(y.shape, [1, 1000]);
assert.ok((await y.data()).every(Number.isFinite));
console.log('threads: ok (resnet18 on 2 WASM threads)');
// The pool's workers keep the event loop alive.
process.exit(0);
