import * as tf from '@tensorflow/tfjs-core';
import { ResNetError } from '../errors.js';
import { knownKeysOf, numberInRange, optionsObject, positiveInt } from '../validate.js';
import { Layer } from './layer.js';
import { expectFeatureMap } from './shapes.js';

export interface BatchNorm2dOptions {
  /** Added to the variance. Default 1e-5, as torch. */
  eps?: number;
  /** Weight of the new batch in the running statistics. Default 0.1, as torch. */
  momentum?: number;
}

/**
 * `nn.BatchNorm2d` over the channel (last) axis of NHWC tensors.
 * Eval mode normalises with the running statistics. Train mode normalises with the batch's mean
 * and biased variance and updates the running statistics with the unbiased variance:
 * `running = (1 − momentum) · running + momentum · batch`, and counts the batch in
 * `num_batches_tracked`, exactly as torch.
 */
export class BatchNorm2d extends Layer {
  readonly typeName = 'BatchNorm2d';
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;

  constructor(numFeatures: number, options: BatchNorm2dOptions = {}) {
    super();
    this.numFeatures = positiveInt('numFeatures', numFeatures);
    const o = optionsObject('options', options);
    knownKeysOf('options', o, ['eps', 'momentum']);
    this.eps = numberInRange('options.eps', o.eps ?? 1e-5, 0, 1);
    this.momentum = numberInRange('options.momentum', o.momentum ?? 0.1, 0, 1);
    const c = [numFeatures];
    this.weight = this.registerParameter('weight', c, () => tf.ones(c));
    this.bias = this.registerParameter('bias', c, () => tf.zeros(c));
    this.runningMean = this.registerBuffer('running_mean', c, () => tf.zeros(c));
    this.runningVar = this.registerBuffer('running_var', c, () => tf.ones(c));
    this.numBatchesTracked = this.registerBuffer('num_batches_tracked', [], () => tf.scalar(0, 'int32'), 'int32');
  }

  outputShape(inputShape: readonly number[]): number[] {
    expectFeatureMap(this.typeName, inputShape, this.numFeatures);
    const [n, h, w] = inputShape as [number, number, number, number];
    if (this.training && n * h * w < 2) {
      throw new ResNetError(
        `BatchNorm2d in train mode needs more than 1 value per channel (batch × height × width); got ${n * h * w}. ` +
          'Use a larger batch or input, or call model.eval()',
      );
    }
    return [...inputShape];
  }

  protected compute(x: tf.Tensor): tf.Tensor {
    const x4 = x as tf.Tensor4D;
    if (!this.training) {
      return tf.batchNorm(x4, this.runningMean, this.runningVar, this.bias, this.weight, this.eps);
    }
    const count = x4.shape[0] * x4.shape[1] * x4.shape[2];
    const { y, mean, variance } = batchNormTrain(x4, this.weight, this.bias, this.eps);
    tf.tidy(() => {
      const m = this.momentum;
      const unbiased = tf.mul(variance, count / (count - 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
    tf.dispose([mean, variance]);
    return y;
  }
}

/**
 * Names of the fused train-mode BatchNorm kernels a backend may register through tfjs's kernel
 * registry (@resnet/backends does for WASM): `forward` takes x, gamma, beta (attrs eps, relu) and
 * returns y, mean, biased variance; `backward` takes x, dy, mean, variance, gamma (and y when relu)
 * and returns dx, dgamma, dbeta. Without them BatchNorm2d uses tfjs ops.
 */
export const FUSED_BATCH_NORM_KERNELS = {
  forward: 'ResNetBatchNormTrain',
  backward: 'ResNetBatchNormTrainGrad',
} as const;

function fusedBatchNormAvailable(channels: number): boolean {
  if (channels % 4 !== 0) return false;
  const backend = tf.getBackend();
  return (
    tf.getKernel(FUSED_BATCH_NORM_KERNELS.forward, backend) !== undefined &&
    tf.getKernel(FUSED_BATCH_NORM_KERNELS.backward, backend) !== undefined
  );
}

/**
 * Train-mode batch normalisation over N, H, W with its gradient written out (a custom gradient):
 * 4 full-size kernels forward and 7 backward, where differentiating the broadcasting ops takes
 * about twice as many (the full-size kernels are what costs on WASM). With x̂ = (x − μ)/√(σ² + ε),
 * k = γ/√(σ² + ε) and M = N·H·W values per channel:
 *   dβ = Σ dy,  dγ = Σ dy·x̂,  dx = k·dy − x̂·(k·dγ/M) − k·dβ/M,
 * where the last two terms are one `batchNorm` kernel (an affine map of x̂). A backend that
 * registers FUSED_BATCH_NORM_KERNELS (WASM, by @resnet/backends) runs both directions in its own kernels.
 * Returns the batch statistics (biased variance) too; the caller disposes them.
 */
function batchNormTrain(
  x: tf.Tensor4D,
  gamma: tf.Tensor1D | tf.Variable,
  beta: tf.Tensor1D | tf.Variable,
  eps: number,
): { y: tf.Tensor4D; mean: tf.Tensor1D; variance: tf.Tensor1D } {
  type Stats = [tf.Tensor1D, tf.Tensor1D];
  // The backend's fused kernels when it has them, else tfjs ops: same inputs, same outputs.
  const fused = fusedBatchNormAvailable(x.shape[3]);
  const forward = (xi: tf.Tensor4D, g: tf.Tensor1D, b: tf.Tensor1D): [tf.Tensor4D, ...Stats] => {
    if (fused) {
      return tf
        .engine()
        .runKernel(FUSED_BATCH_NORM_KERNELS.forward, { x: xi, gamma: g, beta: b }, { eps, relu: false }) as [
        tf.Tensor4D,
        ...Stats,
      ];
    }
    const { mean, variance } = tf.moments(xi, [0, 1, 2]) as { mean: tf.Tensor1D; variance: tf.Tensor1D };
    return [tf.batchNorm(xi, mean, variance, b, g, eps), mean, variance];
  };
  const backward = (sx: tf.Tensor4D, dy: tf.Tensor4D, sMean: tf.Tensor1D, sVar: tf.Tensor1D, sGamma: tf.Tensor1D) => {
    if (fused) {
      return tf
        .engine()
        .runKernel(
          FUSED_BATCH_NORM_KERNELS.backward,
          { x: sx, dy, mean: sMean, variance: sVar, gamma: sGamma },
          { eps, relu: false },
        ) as tf.Tensor[];
    }
    const m = sx.shape[0] * sx.shape[1] * sx.shape[2];
    const xhat = tf.batchNorm(sx, sMean, sVar, undefined, undefined, eps);
    const dBeta = tf.sum(dy, [0, 1, 2]);
    const dGamma = tf.sum(tf.mul(dy, xhat), [0, 1, 2]);
    const k = tf.mul(sGamma, tf.rsqrt(tf.add(sVar, eps)));
    const affine = tf.batchNorm(sx, sMean, sVar, tf.mul(k, tf.div(dBeta, -m)), tf.mul(k, tf.div(dGamma, -m)), eps);
    return [tf.add(tf.mul(dy, k), affine), dGamma, dBeta];
  };
  let stats: { mean: tf.Tensor1D; variance: tf.Tensor1D } | undefined;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, g, b, save] = args as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const [value, mean, variance] = forward(xi, g, b);
    save([xi, mean, variance, g]);
    stats = { mean: tf.keep(tf.clone(mean)), variance: tf.keep(tf.clone(variance)) };
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sMean, sVar, sGamma] = saved as [tf.Tensor4D, tf.Tensor1D, tf.Tensor1D, tf.Tensor1D];
        return backward(sx, dy as tf.Tensor4D, sMean, sVar, sGamma);
      },
    };
  });
  const y = op(x, gamma, beta) as tf.Tensor4D;
  if (!stats) throw new ResNetError('BatchNorm2d: the batch statistics were not computed');
  return { y, ...stats };
}
