import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError } from '../errors.js';
import { kaimingNormalFanOut, uniformFanIn } from '../init.js';
import { knownKeysOf, nonNegativeInt, optionsObject, pair, positiveInt } from '../validate.js';
import { Layer } from './layer.js';
import { expectFeatureMap, slidingOutputSize } from './shapes.js';

export interface Conv2dOptions {
  /** Window size, a number or [height, width]. */
  kernelSize: number | [number, number];
  /** Default 1. */
  stride?: number | [number, number];
  /** Zeros added on every side (symmetric, as torch). Default 0. */
  padding?: number | [number, number];
  /** Default 1. */
  dilation?: number | [number, number];
  /** Channel groups: 1 (dense), `inChannels` (depthwise) or any common divisor. Default 1. */
  groups?: number;
  /** Whether the convolution adds a bias. Default true, as torch's `nn.Conv2d`. */
  bias?: boolean;
}

const CONV_OPTIONS = ['kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias'] as const;

/**
 * `nn.Conv2d` on NHWC tensors. Padding is explicit and symmetric (tfjs's 'same' pads stride-2
 * convolutions on one side only, torch on both). Weights are stored HWIO
 * (`[kh, kw, in/groups, out]`) and exchanged with torch as OIHW.
 */
export class Conv2d extends Layer {
  readonly typeName = 'Conv2d';
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | null;

  constructor(inChannels: number, outChannels: number, options: Conv2dOptions) {
    super();
    this.inChannels = positiveInt('inChannels', inChannels);
    this.outChannels = positiveInt('outChannels', outChannels);
    const o = optionsObject('options', options);
    knownKeysOf('options', o, CONV_OPTIONS);
    this.kernelSize = pair('options.kernelSize', o.kernelSize, positiveInt);
    this.stride = pair('options.stride', o.stride ?? 1, positiveInt);
    this.padding = pair('options.padding', o.padding ?? 0, nonNegativeInt);
    this.dilation = pair('options.dilation', o.dilation ?? 1, positiveInt);
    this.groups = positiveInt('options.groups', o.groups ?? 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ArgumentError(
        'options.groups',
        `a divisor of both inChannels (${inChannels}) and outChannels (${outChannels})`,
        this.groups,
      );
    }
    const hasBias = o.bias ?? true;
    if (typeof hasBias !== 'boolean') throw new ArgumentError('options.bias', 'true or false', hasBias);
    if ((this.stride[0] > 1 || this.stride[1] > 1) && (this.dilation[0] > 1 || this.dilation[1] > 1)) {
      throw new ArgumentError(
        'options.dilation',
        'dilation 1 when the stride is above 1 (TensorFlow.js cannot combine them)',
        o.dilation,
        'Use stride 1 with dilation, as torchvision does for replace_stride_with_dilation',
      );
    }
    const [kh, kw] = this.kernelSize;
    const inPerGroup = inChannels / this.groups;
    const shape = [kh, kw, inPerGroup, outChannels];
    this.weight = this.registerParameter(
      'weight',
      shape,
      () => kaimingNormalFanOut(shape, outChannels * kh * kw),
      'hwio',
    );
    this.bias = hasBias
      ? this.registerParameter('bias', [outChannels], () => uniformFanIn([outChannels], inPerGroup * kh * kw))
      : null;
  }

  outputShape(inputShape: readonly number[]): number[] {
    expectFeatureMap(this.typeName, inputShape, this.inChannels);
    const [n, h, w] = inputShape as [number, number, number, number];
    return [
      n,
      slidingOutputSize(
        this.typeName,
        'height',
        h,
        this.kernelSize[0],
        this.stride[0],
        this.padding[0],
        this.dilation[0],
      ),
      slidingOutputSize(
        this.typeName,
        'width',
        w,
        this.kernelSize[1],
        this.stride[1],
        this.padding[1],
        this.dilation[1],
      ),
      this.outChannels,
    ];
  }

  /** The explicit NHWC padding tfjs expects. */
  protected get explicitPadding(): [[number, number], [number, number], [number, number], [number, number]] {
    const [ph, pw] = this.padding;
    return [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ];
  }

  protected compute(x: tf.Tensor): tf.Tensor {
    const x4 = x as tf.Tensor4D;
    const pad = this.explicitPadding;
    const w = this.weight as tf.Tensor4D;
    let y: tf.Tensor4D;
    if (this.groups === 1) {
      y = tf.conv2d(x4, w, this.stride, pad, 'NHWC', this.dilation);
    } else if (this.groups === this.inChannels) {
      const [kh, kw] = this.kernelSize;
      const depthwise = tf.reshape(w, [kh, kw, this.inChannels, this.outChannels / this.inChannels]) as tf.Tensor4D;
      y = tf.depthwiseConv2d(x4, depthwise, this.stride, pad, 'NHWC', this.dilation);
    } else {
      const xs = tf.split(x4, this.groups, 3) as tf.Tensor4D[];
      const ws = tf.split(w, this.groups, 3) as tf.Tensor4D[];
      y = tf.concat(
        xs.map((xi, i) => tf.conv2d(xi, ws[i] as tf.Tensor4D, this.stride, pad, 'NHWC', this.dilation)),
        3,
      );
    }
    return this.bias ? tf.add(y, this.bias) : y;
  }
}
