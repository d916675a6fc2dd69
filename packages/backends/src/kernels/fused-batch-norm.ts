import * as tf from '@tensorflow/tfjs-core';
import { checkSameMemory, loadWasmKernels, offsetOf, type WasmBackend } from './wasm-kernels.js';

/**
 * Train-mode BatchNorm (optionally followed by ReLU) as two fused kernels for tfjs's WASM backend,
 * from csrc/bn.c compiled to WASM SIMD (wasm-kernels.ts). The module imports the backend's own memory and works on
 * its tensors in place, so nothing is copied: forward is one statistics pass (mean, biased
 * variance; float32 partial sums folded into doubles) and one pass writing y; backward is one pass
 * for Σg and Σg·(x − μ) and one writing dx, where tfjs ops take about 4 and 7 full passes. @resnet/core's
 * BatchNorm2d uses them when the active backend has them (the kernel names are in
 * @resnet/core's FUSED_BATCH_NORM_KERNELS; their values must match these).
 *
 *   ResNetBatchNormTrain      inputs x [..., C], gamma [C], beta [C]; attrs eps, relu
 *                             → y, mean [C], variance [C]
 *   ResNetBatchNormTrainGrad  inputs x, dy, mean, variance, gamma (and y when relu); attrs eps, relu
 *                             → dx, dgamma, dbeta
 */
export const BATCH_NORM_TRAIN = 'ResNetBatchNormTrain';
export const BATCH_NORM_TRAIN_GRAD = 'ResNetBatchNormTrainGrad';

const registered = new Set<string>();

/**
 * Registers the fused BatchNorm kernels for the WASM backend `backendName` when its memory can be
 * shared with our module (not with tfjs's threaded build, whose memory is a SharedArrayBuffer: then
 * BatchNorm2d keeps using tfjs ops). Returns whether they are registered.
 */
export async function registerFusedBatchNorm(backendName = 'wasm'): Promise<boolean> {
  if (typeof backendName !== 'string' || backendName === '') {
    throw new Error(
      `registerFusedBatchNorm: backendName must be the name of a registered tfjs WASM backend (default 'wasm'); got ${String(backendName)}`,
    );
  }
  if (registered.has(backendName)) return true;
  const k = await loadWasmKernels(backendName);
  if (!k) return false;
  const offset = (b: WasmBackend, t: tf.TensorInfo): number => offsetOf(b, t, BATCH_NORM_TRAIN);
  const check = (b: WasmBackend, name: string, x: tf.TensorInfo): { m: number; c: number } => {
    checkSameMemory(backendName, b, name);
    const c = x.shape[x.shape.length - 1] as number;
    const m = x.shape.reduce((p, d) => p * d, 1) / c;
    if (x.dtype !== 'float32' || c % 4 !== 0 || m < 1) {
      throw new Error(
        `${name}: expects float32 [..., C] with C a multiple of 4; got ${x.dtype} [${x.shape.join(', ')}]`,
      );
    }
    return { m, c };
  };

  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN,
    backendName,
    kernelFunc: ({ inputs, backend: be, attrs }) => {
      const b = be as unknown as WasmBackend;
      const { x, gamma, beta } = inputs as { x: tf.TensorInfo; gamma: tf.TensorInfo; beta: tf.TensorInfo };
      const { eps, relu } = attrs as unknown as { eps: number; relu: boolean };
      const { m, c } = check(b, BATCH_NORM_TRAIN, x);
      const y = b.makeOutput([...x.shape], 'float32');
      const mean = b.makeOutput([c], 'float32');
      const variance = b.makeOutput([c], 'float32');
      // Scratch: 2c doubles and 2c floats for the sums, then scale and shift (c floats each).
      const scratch = b.wasm._malloc(16 * c + 8 * c + 8 * c);
      try {
        k.bn_stats(offset(b, x), m, c, offset(b, mean), offset(b, variance), scratch);
        const heap = b.wasm.HEAPF32;
        const scale = scratch + 24 * c;
        const shift = scale + 4 * c;
        const g = offset(b, gamma) / 4;
        const be0 = offset(b, beta) / 4;
        const mu = offset(b, mean) / 4;
        const v = offset(b, variance) / 4;
        for (let i = 0; i < c; i++) {
          const s = (heap[g + i] as number) / Math.sqrt((heap[v + i] as number) + eps);
          heap[scale / 4 + i] = s;
          heap[shift / 4 + i] = (heap[be0 + i] as number) - (heap[mu + i] as number) * s;
        }
        k.bn_apply(offset(b, x), m, c, scale, shift, offset(b, y), relu ? 1 : 0);
      } finally {
        b.wasm._free(scratch);
      }
      return [y, mean, variance];
    },
  });

  tf.registerKernel({
    kernelName: BATCH_NORM_TRAIN_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend: be, attrs }) => {
      const b = be as unknown as WasmBackend;
      const { x, dy, mean, variance, gamma, y } = inputs as Record<string, tf.TensorInfo>;
      const { eps, relu } = attrs as unknown as { eps: number; relu: boolean };
      if (!x || !dy || !mean || !variance || !gamma || (relu && !y)) {
        throw new Error(`${BATCH_NORM_TRAIN_GRAD}: inputs x, dy, mean, variance, gamma (and y with relu) are required`);
      }
      const { m, c } = check(b, BATCH_NORM_TRAIN_GRAD, x);
      const dx = b.makeOutput([...x.shape], 'float32');
      const dGamma = b.makeOutput([c], 'float32');
      const dBeta = b.makeOutput([c], 'float32');
      // Scratch: 2c doubles + 2c floats for the sums, then Σg·(x − μ), a, b, d (c floats each).
      const scratch = b.wasm._malloc(16 * c + 8 * c + 16 * c);
      try {
        const sumDyXc = scratch + 24 * c;
        const aOff = sumDyXc + 4 * c;
        const bOff = aOff + 4 * c;
        const dOff = bOff + 4 * c;
        const yOff = relu && y ? offset(b, y) : 0;
        k.bn_grad_sums(offset(b, x), offset(b, dy), yOff, m, c, offset(b, mean), offset(b, dBeta), sumDyXc, scratch);
        const heap = b.wasm.HEAPF32;
        const g = offset(b, gamma) / 4;
        const v = offset(b, variance) / 4;
        const db = offset(b, dBeta) / 4;
        const dg = offset(b, dGamma) / 4;
        for (let i = 0; i < c; i++) {
          const inv = 1 / Math.sqrt((heap[v + i] as number) + eps);
          const dGammaI = inv * (heap[sumDyXc / 4 + i] as number);
          const kI = (heap[g + i] as number) * inv;
          heap[dg + i] = dGammaI;
          heap[aOff / 4 + i] = kI;
          heap[bOff / 4 + i] = (-kI * inv * dGammaI) / m;
          heap[dOff / 4 + i] = (-kI * (heap[db + i] as number)) / m;
        }
        k.bn_grad_apply(offset(b, x), offset(b, dy), yOff, m, c, offset(b, mean), aOff, bOff, dOff, offset(b, dx));
      } finally {
        b.wasm._free(scratch);
      }
      return [dx, dGamma, dBeta];
    },
  });
  registered.add(backendName);
  return true;
}
