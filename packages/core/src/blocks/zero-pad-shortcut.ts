import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError } from '../errors.js';
import { Layer } from '../layers/layer.js';
import { expectFeatureMap } from '../layers/shapes.js';
import { positiveInt } from '../validate.js';

/**
 * The paper's parameter-free shortcut (option A, used for its CIFAR-10 networks): keep every
 * `stride`-th pixel and pad the new channels with zeros, half before and half after the
 * existing ones (as the widely used CIFAR reimplementations do).
 */
export class ZeroPadShortcut extends Layer {
  readonly typeName = 'ZeroPadShortcut';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly stride: number;

  constructor(inChannels: number, outChannels: number, stride: number) {
    super();
    this.inChannels = positiveInt('inChannels', inChannels);
    this.outChannels = positiveInt('outChannels', outChannels);
    this.stride = positiveInt('stride', stride);
    if (outChannels < inChannels) {
      throw new ArgumentError(
        'outChannels',
        `at least inChannels (${inChannels}) for a zero-padding shortcut`,
        outChannels,
      );
    }
  }

  /** Channels of zeros placed before the input's channels. */
  get padBefore(): number {
    return Math.floor((this.outChannels - this.inChannels) / 2);
  }

  outputShape(inputShape: readonly number[]): number[] {
    expectFeatureMap(this.typeName, inputShape, this.inChannels);
    const [n, h, w] = inputShape as [number, number, number, number];
    return [n, Math.ceil(h / this.stride), Math.ceil(w / this.stride), this.outChannels];
  }

  protected compute(x: tf.Tensor): tf.Tensor {
    const s = this.stride;
    const sub = s === 1 ? x : subsample(x as tf.Tensor4D, s);
    const before = this.padBefore;
    const after = this.outChannels - this.inChannels - before;
    if (before === 0 && after === 0) return s === 1 ? tf.clone(x) : sub;
    return tf.pad(sub as tf.Tensor4D, [
      [0, 0],
      [0, 0],
      [0, 0],
      [before, after],
    ]);
  }
}

/**
 * x[:, ::s, ::s, :]. When s divides the height and width, as a reshape and a plain slice (rows
 * [n·h/s, s, w/s, s·c], keep the first of each s rows and the first c of each s·c values): on WASM
 * about 4× faster than tfjs's StridedSlice forward and backward. Otherwise StridedSlice.
 */
function subsample(x: tf.Tensor4D, s: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  if (h % s !== 0 || w % s !== 0) return tf.stridedSlice(x, [0, 0, 0, 0], [n, h, w, c], [1, s, s, 1]) as tf.Tensor4D;
  const rows = tf.reshape(x, [(n * h) / s, s, w / s, s * c]);
  return tf.reshape(tf.slice(rows, [0, 0, 0, 0], [(n * h) / s, 1, w / s, c]), [n, h / s, w / s, c]);
}
