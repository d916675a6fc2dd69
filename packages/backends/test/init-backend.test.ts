import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeBackend, initBackend } from '../src/index.js';

describe('initBackend in Node', () => {
  it('falls back from tfjs-node (not installed here) to WASM by default', async () => {
    const info = await initBackend();
    expect(info.name).toBe('wasm');
    expect(describeBackend().runtime).toBe('node');
  });

  it('registers gradients and the WASM Conv2DBackpropFilter kernel, so convolutions train on WASM', async () => {
    await initBackend({ prefer: 'wasm' });
    const x = tf.randomNormal([2, 7, 7, 3], 0, 1, 'float32', 1);
    const w = tf.variable(tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2));
    const { grads } = tf.variableGrads(() => tf.sum(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'valid')) as tf.Scalar, [w]);
    const wasmGrad = Array.from((grads[w.name] as tf.Tensor).dataSync());
    // The same gradient on the CPU backend, whose Conv2DBackpropFilter ships with tfjs.
    await initBackend({ prefer: 'cpu' });
    const x2 = tf.tensor(x.dataSync(), x.shape);
    const w2 = tf.variable(tf.tensor(w.dataSync(), w.shape));
    const cpu = tf.variableGrads(() => tf.sum(tf.conv2d(x2 as tf.Tensor4D, w2 as tf.Tensor4D, 2, 'valid')) as tf.Scalar, [w2]);
    const cpuGrad = Array.from((cpu.grads[w2.name] as tf.Tensor).dataSync());
    cpuGrad.forEach((v, i) => {
      expect(Math.abs(v - (wasmGrad[i] as number))).toBeLessThan(1e-4 * Math.max(1, Math.abs(v)));
    });
  });

  it('explains how to install tfjs-node when it is requested but absent', async () => {
    await expect(initBackend({ prefer: 'tensorflow' })).rejects.toThrow(/pnpm add @tensorflow\/tfjs-node/);
  });

  it('refuses unknown backend names and WebGL in Node', async () => {
    await expect(initBackend({ prefer: 'gpu' as never })).rejects.toThrow(/unknown backend "gpu"/);
    await expect(initBackend({ prefer: 'webgl' })).rejects.toThrow(/runs only in a browser/);
  });
});
