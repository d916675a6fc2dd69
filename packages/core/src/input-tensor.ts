import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError } from './errors.js';

/** Checks that `input` is a live float32 tf.Tensor (the shape is the caller's to check). */
export function checkFloatInput(input: unknown): asserts input is tf.Tensor {
  if (!(input instanceof tf.Tensor)) {
    throw new ArgumentError('input', 'a tf.Tensor of shape [batch, height, width, channels]', input);
  }
  if (input.isDisposed) throw new ArgumentError('input', 'a live tensor', 'a disposed tensor');
  if (input.dtype !== 'float32') {
    throw new ArgumentError(
      'input',
      'a float32 tensor',
      `dtype ${input.dtype}`,
      "Convert with tf.cast(input, 'float32')",
    );
  }
}
