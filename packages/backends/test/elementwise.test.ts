import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../src/index.js';
import { RELU_GRAD, SWAP01, TO_CHWN } from '../src/kernels/elementwise.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

// The references are the definitions (max(0, x), a + b, the index permutations) computed in plain
// JavaScript on the same inputs; the ragged sizes exercise the SIMD loops' scalar tails.
describe('our element-wise and layout kernels on WASM (csrc/elementwise.c)', () => {
  it('Relu, Add and ReLU’s gradient equal their definitions, and other dtypes and broadcasts still work', () => {
    const n = 4 * 7 * 5 * 3 + 3;
    const xs = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3);
    const ys = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.3));
    const x = tf.tensor1d(xs);
    const y = tf.tensor1d(ys);
    const before = tf.memory().numTensors;
    const relu = tf.relu(x);
    expect(Array.from(relu.dataSync())).toEqual(Array.from(xs, (v) => Math.max(0, v)));
    const sum = tf.add(x, y);
    expect(Array.from(sum.dataSync())).toEqual(Array.from(xs, (v, i) => Math.fround(v + (ys[i] as number))));
    const grad = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), y)))(x);
    expect(Array.from(grad.dataSync())).toEqual(Array.from(xs, (v, i) => (v > 0 ? (ys[i] as number) : 0)));
    expect(tf.getKernel(RELU_GRAD, 'wasm')).toBeDefined();
    tf.dispose([relu, sum, grad]);
    expect(tf.memory().numTensors).toBe(before);
    // Broadcasting and int32 go to tfjs's kernels.
    const b = tf.add(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor1d([10, 20]));
    expect(Array.from(b.dataSync())).toEqual([11, 22, 13, 24]);
    expect(Array.from(tf.relu(tf.tensor1d([-2, 3], 'int32')).dataSync())).toEqual([0, 3]);
    tf.dispose([x, y, b]);
  });

  it('ResNetToCHWN and ResNetSwap01 permute as [N,H,W,C] → [C,H,W,N] and [A,B,…] → [B,A,…]', () => {
    const [n, h, w, c] = [7, 3, 2, 5];
    const x = tf.tensor4d(
      Float32Array.from({ length: n * h * w * c }, (_, i) => i),
      [n, h, w, c],
    );
    const t = tf.engine().runKernel(TO_CHWN, { x }) as tf.Tensor;
    expect(t.shape).toEqual([c, h, w, n]);
    const got = t.dataSync();
    let bad = 0;
    for (let b = 0; b < n; b++)
      for (let p = 0; p < h * w; p++)
        for (let k = 0; k < c; k++) if (got[(k * h * w + p) * n + b] !== (b * h * w + p) * c + k) bad++;
    expect(bad).toBe(0);
    const s = tf.engine().runKernel(SWAP01, { x }) as tf.Tensor;
    expect(s.shape).toEqual([h, n, w, c]);
    expect(Array.from(s.dataSync())).toEqual(Array.from(tf.tidy(() => tf.transpose(x, [1, 0, 2, 3])).dataSync()));
    tf.dispose([x, t, s]);
  });
});
