import * as tf from '@tensorflow/tfjs-core';
import { nextSeed } from './random.js';

/**
 * Kaiming-normal initialisation in "fan_out" mode for ReLU networks, as torchvision initialises
 * ResNet convolutions: N(0, 2 / fan_out) with fan_out = out_channels × kh × kw.
 */
export function kaimingNormalFanOut(shape: number[], fanOut: number): tf.Tensor {
  return tf.randomNormal(shape, 0, Math.sqrt(2 / fanOut), 'float32', nextSeed());
}

/** U(−1/√fan_in, 1/√fan_in): torch's default for Linear weights and biases and conv biases. */
export function uniformFanIn(shape: number[], fanIn: number): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.randomUniform(shape, -bound, bound, 'float32', nextSeed());
}
