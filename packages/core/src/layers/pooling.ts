import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError } from '../errors.js';
import { flattenTorchOrder } from '../flow.js';
import { bool, knownKeysOf, nonNegativeInt, optionsObject, pair, positiveInt } from '../validate.js';
import { Layer } from './layer.js';
import { expectFeatureMap, slidingOutputSize } from './shapes.js';

export interface MaxPool2dOptions {
  /** Default: the kernel size, as torch. */
  stride?: number | [number, number];
  /** Implicit −∞ padding on every side, at most half the kernel. Default 0. */
  padding?: number | [number, number];
  /** Use ceil instead of floor for the output size. Default false. */
  ceilMode?: boolean;
}

/** `nn.MaxPool2d` with torch's padding (padded positions never win) and output size. */
export class MaxPool2d extends Layer {
  readonly typeName = 'MaxPool2d';
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly ceilMode: boolean;

  constructor(kernelSize: number | [number, number], options: MaxPool2dOptions = {}) {
    super();
    this.kernelSize = pair('kernelSize', kernelSize, positiveInt);
    const o = optionsObject('options', options);
    knownKeysOf('options', o, ['stride', 'padding', 'ceilMode']);
    this.stride = pair('options.stride', o.stride ?? this.kernelSize, positiveInt);
    this.padding = pair('options.padding', o.padding ?? 0, nonNegativeInt);
    this.ceilMode = bool('options.ceilMode', o.ceilMode ?? false);
    this.padding.forEach((p, i) => {
      if (2 * p > (this.kernelSize[i] ?? 0)) {
        throw new ArgumentError('options.padding', 'at most half the kernel size (as torch)', o.padding);
      }
    });
  }

  outputShape(inputShape: readonly number[]): number[] {
    expectFeatureMap(this.typeName, inputShape);
    const [n, h, w, c] = inputShape as [number, number, number, number];
    const args = (i: 0 | 1, size: number, axis: string) =>
      slidingOutputSize(
        this.typeName,
        axis,
        size,
        this.kernelSize[i],
        this.stride[i],
        this.padding[i],
        1,
        this.ceilMode,
      );
    return [n, args(0, h, 'height'), args(1, w, 'width'), c];
  }

  protected compute(x: tf.Tensor): tf.Tensor {
    const [, h, w] = x.shape as [number, number, number, number];
    const [, oh, ow] = this.outputShape(x.shape);
    const [ph, pw] = this.padding;
    const [kh, kw] = this.kernelSize;
    const [sh, sw] = this.stride;
    // Pad with −∞ explicitly (extra on the bottom/right when ceil mode needs it), then pool 'valid'.
    const extraH = Math.max(0, ((oh as number) - 1) * sh + kh - (h + 2 * ph));
    const extraW = Math.max(0, ((ow as number) - 1) * sw + kw - (w + 2 * pw));
    let input = x as tf.Tensor4D;
    if (ph > 0 || pw > 0 || extraH > 0 || extraW > 0) {
      input = tf.pad(
        input,
        [
          [0, 0],
          [ph, ph + extraH],
          [pw, pw + extraW],
          [0, 0],
        ],
        Number.NEGATIVE_INFINITY,
      );
    }
    return tf.maxPool(input, this.kernelSize, this.stride, 'valid');
  }
}

/** `nn.AdaptiveAvgPool2d(1)` / `nn.AdaptiveMaxPool2d(1)`: one value per channel, shape [N, 1, 1, C]. */
export class GlobalPool2d extends Layer {
  readonly typeName: string;
  constructor(readonly mode: 'avg' | 'max' = 'avg') {
    super();
    if (mode !== 'avg' && mode !== 'max') throw new ArgumentError('mode', "'avg' or 'max'", mode);
    this.typeName = mode === 'avg' ? 'AdaptiveAvgPool2d' : 'AdaptiveMaxPool2d';
  }
  outputShape(inputShape: readonly number[]): number[] {
    expectFeatureMap(this.typeName, inputShape);
    return [inputShape[0] as number, 1, 1, inputShape[3] as number];
  }
  protected compute(x: tf.Tensor): tf.Tensor {
    return this.mode === 'avg' ? tf.mean(x, [1, 2], true) : tf.max(x, [1, 2], true);
  }
}

/** `nn.Flatten()`: `[N, ...] → [N, features]`, features in torch's (C, H, W) order. */
export class Flatten extends Layer {
  readonly typeName = 'Flatten';
  outputShape(inputShape: readonly number[]): number[] {
    if (inputShape.length < 2) {
      throw new ArgumentError('input', 'a tensor of rank 2 or more [batch, ...]', `rank ${inputShape.length}`);
    }
    const [n, ...rest] = inputShape;
    return [n as number, rest.reduce((p, d) => p * d, 1)];
  }
  protected compute(x: tf.Tensor): tf.Tensor {
    return flattenTorchOrder(x);
  }
}

/** `nn.ZeroPad2d(p)`: zeros around the height and width axes. */
export class ZeroPad2d extends Layer {
  readonly typeName = 'ZeroPad2d';
  readonly padding: [number, number];
  constructor(padding: number | [number, number]) {
    super();
    this.padding = pair('padding', padding, nonNegativeInt);
  }
  outputShape(inputShape: readonly number[]): number[] {
    expectFeatureMap(this.typeName, inputShape);
    const [n, h, w, c] = inputShape as [number, number, number, number];
    return [n, h + 2 * this.padding[0], w + 2 * this.padding[1], c];
  }
  protected compute(x: tf.Tensor): tf.Tensor {
    const [ph, pw] = this.padding;
    return tf.pad(x, [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ]);
  }
}
