import * as tf from '@tensorflow/tfjs-core';
import { ResNetError } from '../errors.js';
import { uniformFanIn } from '../init.js';
import { bool, positiveInt } from '../validate.js';
import { Layer } from './layer.js';

/** `nn.Linear`: `y = x Wᵀ + b`. The weight is stored `[in, out]` and exchanged with torch as `[out, in]`. */
export class Linear extends Layer {
  readonly typeName = 'Linear';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } = {}) {
    super();
    this.inFeatures = positiveInt('inFeatures', inFeatures);
    this.outFeatures = positiveInt('outFeatures', outFeatures);
    const hasBias = bool('options.bias', options.bias ?? true);
    const shape = [inFeatures, outFeatures];
    this.weight = this.registerParameter('weight', shape, () => uniformFanIn(shape, inFeatures), 'io');
    this.bias = hasBias
      ? this.registerParameter('bias', [outFeatures], () => uniformFanIn([outFeatures], inFeatures))
      : null;
  }

  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length !== 2 || inputShape[1] !== this.inFeatures) {
      throw new ResNetError(`Linear expects input [batch, ${this.inFeatures}]; got [${inputShape.join(', ')}]`);
    }
    return [inputShape[0] as number, this.outFeatures];
  }

  protected compute(x: tf.Tensor): tf.Tensor {
    const y = tf.matMul(x as tf.Tensor2D, this.weight as tf.Tensor2D);
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
