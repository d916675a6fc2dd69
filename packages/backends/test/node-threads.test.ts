import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeBackend, filterCacheStats, initBackend, setConvolutionPath, wasmKernelInfo } from '../src/index.js';
import { relError } from './rel-error.js';

type Conv = { x: [number, number, number, number]; w: [number, number, number, number]; stride: number };

/** What a training step and an inference pass ask of the convolution kernels, for one shape. */
function convolve(c: Conv, xs: Float32Array, ws: Float32Array, dys: Float32Array): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(xs, c.x);
    const w = tf.tensor4d(ws, c.w);
    const y = tf.conv2d(x, w, c.stride, 'same');
    const dy = tf.tensor(dys, y.shape) as tf.Tensor4D;
    const dx = tf.conv2dTranspose(dy, w, c.x, c.stride, 'same');
    const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.stride, 'same'), dy)))(w);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

// A file of its own: WASM threads are fixed when the backend first starts in a process.
describe('WASM with threads in Node', () => {
  it('starts tfjs’s threaded SIMD module with the threads asked for, and our kernels on its shared memory with a worker of ours', async () => {
    const info = await initBackend({ prefer: 'wasm', threads: 2 });
    expect(info).toMatchObject({ name: 'wasm', simd: true, threads: 2, notes: [] });
    expect(describeBackend().threads).toBe(2);
    expect(availableParallelism()).toBeGreaterThan(0);
    expect(wasmKernelInfo()).toMatchObject({ sharedMemory: true, threads: 2 });
    // Shapes large enough to be split between the threads: Winograd (3×3 stride 1), the matrix
    // product (1×1 and 3×3 stride 2) and the weight gradient, each against the CPU backend.
    const convs: Conv[] = [
      { x: [2, 28, 28, 16], w: [3, 3, 16, 32], stride: 1 },
      { x: [2, 15, 13, 24], w: [1, 1, 24, 40], stride: 2 },
      { x: [3, 14, 14, 12], w: [3, 3, 12, 20], stride: 2 },
    ];
    const data = convs.map((c, i) =>
      [c.x, c.w, outShape(c)].map((s, j) =>
        tf.tidy(() => tf.randomNormal(s, 0, 1, 'float32', 10 * i + j).dataSync() as Float32Array),
      ),
    );
    const before = tf.memory().numTensors;
    const wasm = convs.map((c, i) => {
      const [xs, ws, dys] = data[i] as Float32Array[];
      return convolve(c, xs as Float32Array, ws as Float32Array, dys as Float32Array);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(filterCacheStats()).toEqual({ bytes: 0, tensors: 0 });
    setConvolutionPath('tfjs');
    const xnnpack = convs.map((c, i) => {
      const [xs, ws, dys] = data[i] as Float32Array[];
      return convolve(c, xs as Float32Array, ws as Float32Array, dys as Float32Array);
    });
    setConvolutionPath('auto');
    await initBackend({ prefer: 'cpu' });
    convs.forEach((c, i) => {
      const [xs, ws, dys] = data[i] as Float32Array[];
      const cpu = convolve(c, xs as Float32Array, ws as Float32Array, dys as Float32Array);
      ['forward', 'input gradient', 'weight gradient'].forEach((what, j) => {
        expect(relError(wasm[i]?.[j] as Float32Array, cpu[j] as Float32Array), `case ${i} ${what}, ours`).toBeLessThan(
          1e-5,
        );
        expect(
          relError(xnnpack[i]?.[j] as Float32Array, cpu[j] as Float32Array),
          `case ${i} ${what}, XNNPACK`,
        ).toBeLessThan(1e-5);
      });
    });
  });
});

/** The output shape of a 'same'-padded convolution. */
function outShape(c: Conv): [number, number, number, number] {
  const [n, h, w] = c.x;
  return [n, Math.ceil(h / c.stride), Math.ceil(w / c.stride), c.w[3]];
}
