import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { relError } from './rel-error.js';

type Pad = 'valid' | 'same' | [[0, 0], [number, number], [number, number], [0, 0]];
/** Explicit symmetric padding of p rows and columns (NHWC). */
const pad = (p: number): Pad => [
  [0, 0],
  [p, p],
  [p, p],
  [0, 0],
];
const CASES: { x: [number, number, number, number]; w: [number, number, number, number]; stride: number; pad: Pad }[] =
  [
    { x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 1, pad: pad(1) },
    { x: [2, 8, 8, 3], w: [3, 3, 3, 4], stride: 2, pad: pad(1) },
    { x: [1, 9, 7, 2], w: [3, 3, 2, 5], stride: 2, pad: pad(1) },
    { x: [2, 11, 11, 3], w: [7, 7, 3, 4], stride: 2, pad: pad(3) },
    { x: [2, 8, 8, 4], w: [1, 1, 4, 6], stride: 2, pad: 'valid' },
    { x: [1, 6, 6, 2], w: [3, 3, 2, 2], stride: 1, pad: 'same' },
  ];

async function grads(backend: 'wasm' | 'cpu') {
  await initBackend({ prefer: backend });
  return CASES.map((c, i) => {
    const x = tf.randomNormal(c.x, 0, 1, 'float32', 100 + i) as tf.Tensor4D;
    const w = tf.randomNormal(c.w, 0, 1, 'float32', 200 + i) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad))),
    )([x, w]);
    const out = [Array.from((dx as tf.Tensor).dataSync()), Array.from((dw as tf.Tensor).dataSync())];
    tf.dispose([dx as tf.Tensor, dw as tf.Tensor]);
    expect(tf.memory().numTensors).toBe(before);
    // The inputs survive the gradient kernels (they must not free their operands).
    expect(Number.isFinite(x.dataSync()[0] as number) && Number.isFinite(w.dataSync()[0] as number)).toBe(true);
    tf.dispose([x, w]);
    return out;
  });
}

describe('WASM convolution gradients (ours: input gradient as one convolution, filter gradient as one convolution)', () => {
  it('match the CPU backend’s kernels for strides 1 and 2, explicit, same and valid padding', async () => {
    const wasm = await grads('wasm');
    const cpu = await grads('cpu');
    // Error relative to each gradient's scale (max |CPU value|): Winograd's rounding error is
    // bounded by the magnitude of what a tile sums, not by each output value.
    cpu.forEach(([dx, dw], i) => {
      const [wdx, wdw] = wasm[i] as [number[], number[]];
      expect(relError(wdx, dx as number[]), `case ${i} dx`).toBeLessThan(1e-5);
      expect(relError(wdw, dw as number[]), `case ${i} dw`).toBeLessThan(1e-5);
    });
  });
});
