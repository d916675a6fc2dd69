import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type ConvPath, filterCacheStats, initBackend, setConvolutionPath } from '../src/index.js';
import { relError } from './rel-error.js';

type Padding = 'valid' | 'same' | [[0, 0], [number, number], [number, number], [0, 0]];
type Activation = 'linear' | 'relu';

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  stride: number;
  pad: Padding;
  bias?: boolean;
  activation?: Activation;
}

const explicit = (t: number, b: number, l: number, r: number): Padding => [
  [0, 0],
  [t, b],
  [l, r],
  [0, 0],
];

/** 3×3 stride-1 shapes: odd sizes, batch > 1, every padding, channel counts not multiples of 4 or 8. */
const WINOGRAD_CASES: Case[] = [
  { x: [1, 8, 8, 4], w: [3, 3, 4, 8], stride: 1, pad: 'same' },
  { x: [2, 9, 11, 5], w: [3, 3, 5, 7], stride: 1, pad: 'same', bias: true },
  { x: [3, 7, 5, 3], w: [3, 3, 3, 13], stride: 1, pad: 'valid', bias: true, activation: 'relu' },
  { x: [2, 13, 6, 17], w: [3, 3, 17, 9], stride: 1, pad: explicit(1, 1, 1, 1), activation: 'relu' },
  { x: [1, 10, 9, 6], w: [3, 3, 6, 10], stride: 1, pad: explicit(0, 2, 2, 1), bias: true },
  { x: [2, 3, 3, 8], w: [3, 3, 8, 16], stride: 1, pad: 'same', bias: true, activation: 'relu' },
  { x: [1, 22, 19, 33], w: [3, 3, 33, 40], stride: 1, pad: 'same', bias: true, activation: 'relu' },
  { x: [2, 7, 7, 96], w: [3, 3, 96, 64], stride: 1, pad: explicit(1, 1, 1, 1) },
  // Transformed filter over 1 MiB: not kept, transformed panel by panel in the kernel.
  { x: [1, 9, 11, 99], w: [3, 3, 99, 90], stride: 1, pad: 'same', bias: true, activation: 'relu' },
];

/** Shapes for the matrix-product kernels: 1×1 (strided), 3×3 stride 2, 7×7 stride 2, 3×3 stride 1; channel tails. */
const GEMM_CASES: Case[] = [
  { x: [2, 9, 7, 12], w: [1, 1, 12, 20], stride: 1, pad: 'valid', bias: true, activation: 'relu' },
  { x: [3, 9, 10, 6], w: [1, 1, 6, 13], stride: 2, pad: 'valid' },
  { x: [2, 11, 9, 5], w: [3, 3, 5, 9], stride: 2, pad: explicit(1, 1, 1, 1), bias: true },
  { x: [1, 19, 17, 3], w: [7, 7, 3, 8], stride: 2, pad: explicit(3, 3, 3, 3), bias: true, activation: 'relu' },
  { x: [2, 8, 8, 16], w: [3, 3, 16, 16], stride: 1, pad: 'same' },
  { x: [1, 6, 5, 33], w: [3, 3, 33, 7], stride: 1, pad: explicit(0, 2, 2, 1), bias: true },
];

interface Data {
  x: Float32Array;
  w: Float32Array;
  bias: Float32Array;
  dy: Float32Array;
}

function data(c: Case, seed: number): Data {
  return tf.tidy(() => {
    const cout = c.w[3];
    const x = tf.randomNormal(c.x, 0, 1, 'float32', seed);
    const w = tf.randomNormal(c.w, 0, Math.sqrt(2 / (9 * c.w[2])), 'float32', seed + 1);
    const bias = tf.randomNormal([cout], 0, 1, 'float32', seed + 2);
    const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 3);
    return {
      x: x.dataSync() as Float32Array,
      w: w.dataSync() as Float32Array,
      bias: bias.dataSync() as Float32Array,
      dy: dy.dataSync() as Float32Array,
    };
  });
}

interface Outputs {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
}

/** Forward (fused when the case has bias or activation), input and weight gradients of one case. */
function run(c: Case, d: Data): Outputs {
  return tf.tidy(() => {
    const x = tf.tensor4d(d.x, c.x);
    const w = tf.tensor4d(d.w, c.w);
    const fused = c.bias || c.activation;
    const y = fused
      ? tf.fused.conv2d({
          x,
          filter: w,
          strides: c.stride,
          pad: c.pad,
          bias: c.bias ? tf.tensor1d(d.bias) : undefined,
          activation: c.activation ?? 'linear',
        })
      : tf.conv2d(x, w, c.stride, c.pad);
    const dy = tf.tensor(d.dy, y.shape) as tf.Tensor4D;
    const dx = tf.conv2dTranspose(dy, w, c.x, c.stride, c.pad);
    // Conv2DBackpropFilter(x, dy) is the gradient of Σ conv(x, w)·dy with respect to w.
    const dw = tf.grad((f: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, f as tf.Tensor4D, c.stride, c.pad), dy)))(w);
    return { y: y.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array };
  });
}

async function references(cases: Case[]): Promise<{ data: Data[]; cpu: Outputs[] }> {
  await initBackend({ prefer: 'cpu' });
  const all = cases.map((c, i) => data(c, 10 * i + 1));
  return { data: all, cpu: cases.map((c, i) => run(c, all[i] as Data)) };
}

afterEach(() => {
  setConvolutionPath('auto');
});

describe('our WASM SIMD convolution kernels (csrc/) against tfjs’s CPU kernels', () => {
  it('Winograd F(4×4, 3×3) and F(2×2, 3×3): forward (bias, ReLU), input and weight gradients within 1e-5 relative', async () => {
    const { data: all, cpu } = await references(WINOGRAD_CASES);
    await initBackend({ prefer: 'wasm' });
    for (const path of ['winograd4', 'winograd2'] as ConvPath[]) {
      setConvolutionPath(path);
      WINOGRAD_CASES.forEach((c, i) => {
        const before = tf.memory().numTensors;
        const ours = run(c, all[i] as Data);
        const ref = cpu[i] as Outputs;
        expect(relError(ours.y, ref.y), `${path} case ${i} forward`).toBeLessThan(1e-5);
        expect(relError(ours.dx, ref.dx), `${path} case ${i} input gradient`).toBeLessThan(1e-5);
        expect(relError(ours.dw, ref.dw), `${path} case ${i} weight gradient`).toBeLessThan(1e-5);
        expect(tf.memory().numTensors).toBe(before);
      });
    }
    // Every transformed filter was freed with its weight.
    expect(filterCacheStats()).toEqual({ bytes: 0, tensors: 0 });
  });

  it('matrix-product kernels: forward (bias, ReLU, strides, padding) and weight gradient within 1e-5 relative', async () => {
    const { data: all, cpu } = await references(GEMM_CASES);
    await initBackend({ prefer: 'wasm' });
    setConvolutionPath('gemm');
    GEMM_CASES.forEach((c, i) => {
      const before = tf.memory().numTensors;
      const ours = run(c, all[i] as Data);
      const ref = cpu[i] as Outputs;
      expect(relError(ours.y, ref.y), `case ${i} forward`).toBeLessThan(1e-5);
      expect(relError(ours.dx, ref.dx), `case ${i} input gradient`).toBeLessThan(1e-5);
      expect(relError(ours.dw, ref.dw), `case ${i} weight gradient`).toBeLessThan(1e-5);
      expect(tf.memory().numTensors).toBe(before);
    });
    expect(filterCacheStats()).toEqual({ bytes: 0, tensors: 0 });
  });

  it('transforms a filter once per weight tensor and again after an optimiser step assigns a new value', async () => {
    await initBackend({ prefer: 'wasm' });
    setConvolutionPath('winograd4');
    const x = tf.randomNormal([1, 8, 8, 4], 0, 1, 'float32', 5) as tf.Tensor4D;
    const init = tf.randomNormal([3, 3, 4, 8], 0, 1, 'float32', 6) as tf.Tensor4D;
    const w = tf.variable(init);
    init.dispose(); // the variable holds the only reference to its data
    const conv = () => tf.tidy(() => tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, 'same').dataSync());
    conv();
    conv();
    expect(filterCacheStats().tensors).toBe(1);
    const next = tf.tidy(() => tf.neg(w));
    w.assign(next);
    next.dispose();
    // The old value's transform was freed with it; the new value is transformed on first use.
    expect(filterCacheStats().tensors).toBe(0);
    const y = conv();
    setConvolutionPath('tfjs');
    const ref = conv();
    expect(relError(y as Float32Array, ref as Float32Array)).toBeLessThan(1e-5);
    tf.dispose([x, w]);
    expect(filterCacheStats()).toEqual({ bytes: 0, tensors: 0 });
  });
});
