import * as tf from '@tensorflow/tfjs-core';
import { ResNetError } from './errors.js';

/**
 * A tensor that has a shape but no data. Models accept it wherever they accept a `tf.Tensor`,
 * which lets summaries, size checks and feature-shape queries run the real forward code
 * without running a single kernel (before weights load, on any backend, at any input size).
 */
export class SymbolicTensor {
  readonly shape: readonly number[];
  readonly dtype = 'float32' as const;
  constructor(shape: readonly number[]) {
    this.shape = Object.freeze([...shape]);
  }
  get rank(): number {
    return this.shape.length;
  }
}

/** What flows between modules: real tensors when computing, symbolic ones when inferring shapes. */
export type Flow = tf.Tensor | SymbolicTensor;

export function isSymbolic(x: Flow): x is SymbolicTensor {
  return x instanceof SymbolicTensor;
}

// #region notebook:add-residual
/** The element-wise sum of a residual branch and its shortcut (`out += identity` in torch). */
export function addResidual<T extends Flow>(branch: T, shortcut: T): T {
  const a = branch.shape;
  const b = shortcut.shape;
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ResNetError(
      `residual add needs equal shapes; got branch [${a.join(', ')}] and shortcut [${b.join(', ')}] (NHWC). ` +
        'Use a projection shortcut when the stride or the channel count changes',
    );
  }
  if (isSymbolic(branch)) return new SymbolicTensor(a) as T;
  return tf.add(branch as tf.Tensor, shortcut as tf.Tensor) as T;
}
// #endregion

/**
 * `torch.flatten(x, 1)` on an NHWC tensor: the features are ordered as PyTorch orders them
 * (channels, then rows, then columns), so a Linear layer trained in PyTorch still fits.
 */
export function flattenTorchOrder<T extends Flow>(x: T): T {
  const [n, ...rest] = x.shape;
  const features = rest.reduce((p, d) => p * d, 1);
  if (isSymbolic(x)) return new SymbolicTensor([n ?? 0, features]) as T;
  const t = x as tf.Tensor;
  if (t.rank === 4 && (t.shape[1] !== 1 || t.shape[2] !== 1)) {
    return tf.reshape(tf.transpose(t, [0, 3, 1, 2]), [n ?? 0, features]) as T;
  }
  return tf.reshape(t, [n ?? 0, features]) as T;
}
