import * as tf from '@tensorflow/tfjs-core';
import { ResNetError } from '../errors.js';
import { Layer } from './layer.js';

/** `nn.ReLU`: max(x, 0). */
export class ReLU extends Layer {
  readonly typeName = 'ReLU';
  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
  protected compute(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/** `nn.Softmax(dim=-1)`: turns logits `[N, classes]` into probabilities. */
export class Softmax extends Layer {
  readonly typeName = 'Softmax';
  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 1) throw new ResNetError('Softmax expects a tensor of rank 1 or more; got a scalar');
    return [...inputShape];
  }
  protected compute(x: tf.Tensor): tf.Tensor {
    return tf.softmax(x, -1);
  }
}

/** `nn.Identity`: returns its input (for shortcuts that change nothing). */
export class Identity extends Layer {
  readonly typeName = 'Identity';
  outputShape(inputShape: readonly number[]): number[] {
    return [...inputShape];
  }
  protected compute(x: tf.Tensor): tf.Tensor {
    return tf.clone(x);
  }
}
