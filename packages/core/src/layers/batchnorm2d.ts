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
    const { mean, variance } = tf.moments(x4, [0, 1, 2]);
    // Written with broadcasting ops rather than tf.batchNorm: their gradients reduce with Sum,
    // where tf.batchNorm's tiles [C] statistics to the input's shape several times (slow on WASM).
    const scale = tf.mul(this.weight, tf.rsqrt(tf.add(variance, this.eps)));
    const y = tf.add(tf.mul(tf.sub(x4, mean), scale), this.bias);
    tf.tidy(() => {
      const m = this.momentum;
      const unbiased = tf.mul(variance, count / (count - 1));
      this.runningMean.assign(tf.add(tf.mul(this.runningMean, 1 - m), tf.mul(mean, m)));
      this.runningVar.assign(tf.add(tf.mul(this.runningVar, 1 - m), tf.mul(unbiased, m)));
      this.numBatchesTracked.assign(tf.add(this.numBatchesTracked, tf.scalar(1, 'int32')));
    });
    return y;
  }
}
