import type * as tf from '@tensorflow/tfjs-core';
import { type Flow, isSymbolic, SymbolicTensor } from '../flow.js';
import { Module } from '../module.js';

/**
 * A leaf module: it computes its output shape from its input shape (validating the input), and
 * runs kernels only for real tensors. Symbolic inputs therefore cost nothing.
 */
export abstract class Layer extends Module {
  /** Output shape for an input shape (NHWC); throws a clear error for inputs it cannot take. */
  abstract outputShape(inputShape: readonly number[]): number[];

  /** The computation on a real tensor whose shape `outputShape` accepted. */
  protected abstract compute(input: tf.Tensor): tf.Tensor;

  forward(input: Flow): Flow {
    const shape = this.outputShape(input.shape);
    if (isSymbolic(input)) return new SymbolicTensor(shape);
    return this.compute(input);
  }
}
