import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../src/index.js';

// A file of its own: WASM threads are fixed when the backend first starts in a process.
describe('WASM with threads in Node', () => {
  it('starts tfjs’s threaded SIMD module with the threads asked for, and computes what one thread computes', async () => {
    const info = await initBackend({ prefer: 'wasm', threads: 2 });
    expect(info).toMatchObject({ name: 'wasm', simd: true, threads: 2, notes: [] });
    expect(describeBackend().threads).toBe(2);
    expect(availableParallelism()).toBeGreaterThan(0);
    // A convolution large enough for XNNPACK to split it between threads, against the CPU backend.
    const x = tf.randomNormal([2, 28, 28, 16], 0, 1, 'float32', 1);
    const w = tf.randomNormal([3, 3, 16, 32], 0, 1, 'float32', 2);
    const wasm = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same').dataSync();
    const xs = x.dataSync();
    const ws = w.dataSync();
    await initBackend({ prefer: 'cpu' });
    const cpu = tf.conv2d(tf.tensor4d(xs, [2, 28, 28, 16]), tf.tensor4d(ws, [3, 3, 16, 32]), 1, 'same').dataSync();
    let worst = 0;
    cpu.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - (wasm[i] as number)) / Math.max(1, Math.abs(v)));
    });
    expect(worst).toBeLessThan(1e-4);
  });
});
