import * as tf from '@tensorflow/tfjs-core';
import { FormatError } from '../errors.js';

/** A tensor's values in host memory, as files hold them (no tfjs backend involved). */
export interface HostTensor {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** Largest tensor, in elements, that a file may declare (2^31 − 1: a JS typed array's limit). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

/** Product of a shape, refusing negative, fractional or overflowing sizes. */
export function shapeSize(shape: readonly number[], what: string): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new FormatError(`${what}: shape [${shape.join(', ')}] has an invalid size ${d}`);
    n *= d;
    if (n > MAX_TENSOR_ELEMENTS) {
      throw new FormatError(
        `${what}: shape [${shape.join(', ')}] has more than 2^31 − 1 elements; refusing to allocate it`,
      );
    }
  }
  return n;
}

/** A tf.Tensor holding a host tensor's values. */
export function hostToTensor(t: HostTensor): tf.Tensor {
  return tf.tensor(t.data, t.shape, t.dtype);
}

/** A host copy of a tf.Tensor (float32 or int32). */
export function tensorToHost(t: tf.Tensor): HostTensor {
  if (t.dtype !== 'float32' && t.dtype !== 'int32') {
    throw new FormatError(`cannot export a ${t.dtype} tensor; only float32 and int32 are supported`);
  }
  const data = t.dataSync();
  return {
    dtype: t.dtype,
    shape: [...t.shape],
    data: t.dtype === 'float32' ? Float32Array.from(data as Float32Array) : Int32Array.from(data as Int32Array),
  };
}
