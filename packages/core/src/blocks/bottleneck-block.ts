import * as tf from '@tensorflow/tfjs-core';
import { addResidual, type Flow } from '../flow.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import type { Conv2d } from '../layers/conv2d.js';
import { Module } from '../module.js';
import { oneOf, positiveInt } from '../validate.js';
import { checkResidualOptions } from './residual-options.js';
import { conv1x1, conv3x3 } from './convs.js';

// #region notebook:bottleneck-block
export interface BottleneckBlockOptions {
  /** Spatial stride of the block. Default 1. */
  stride?: number;
  /**
   * Which convolution strides: '3x3' as torchvision ("ResNet v1.5", better accuracy) or '1x1'
   * as the paper, Keras and Caffe ("v1"). Default '3x3'.
   */
  strideOn?: '3x3' | '1x1';
  /** Groups of the 3×3 convolution (ResNeXt cardinality). Default 1. */
  groups?: number;
  /** Dilation of the 3×3 convolution. Default 1. */
  dilation?: number;
  /** Shortcut that reshapes the input when the stride or channels change (`downsample`). */
  shortcut?: Module | null;
  /** false: no shortcut and no residual sum (a block of the paper's plain networks). Default true. */
  residual?: boolean;
  /** Whether the convolutions add a bias. Default false. */
  convBias?: boolean;
}

/**
 * The bottleneck block of ResNet-50/101/152 (torchvision's `Bottleneck`): a 1×1 convolution
 * narrows the channels to `width`, a 3×3 works in that narrow space, a 1×1 widens to
 * `outChannels` (usually 4 × the stage's planes: `expansion = 4`), then y = ReLU(F(x) + shortcut(x)).
 * The 3×3 runs on a quarter of the channels, which is what makes 50+ layers affordable.
 */
export class BottleneckBlock extends Module {
  readonly typeName = 'Bottleneck';
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Module | null;
  /** Whether the block adds its shortcut (false in plain networks). */
  readonly residual: boolean;

  constructor(inChannels: number, width: number, outChannels: number, options: BottleneckBlockOptions = {}) {
    super();
    positiveInt('inChannels', inChannels);
    positiveInt('width', width);
    positiveInt('outChannels', outChannels);
    const stride = positiveInt('options.stride', options.stride ?? 1);
    const strideOn = oneOf('options.strideOn', options.strideOn ?? '3x3', ['3x3', '1x1'] as const);
    const groups = positiveInt('options.groups', options.groups ?? 1);
    const dilation = positiveInt('options.dilation', options.dilation ?? 1);
    const bias = options.convBias ?? false;
    this.residual = checkResidualOptions(options, stride, inChannels, outChannels);
    this.conv1 = this.registerModule(
      'conv1',
      conv1x1(inChannels, width, { stride: strideOn === '1x1' ? stride : 1, bias }),
    );
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.conv2 = this.registerModule(
      'conv2',
      conv3x3(width, width, { stride: strideOn === '3x3' ? stride : 1, groups, dilation, bias }),
    );
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width));
    this.conv3 = this.registerModule('conv3', conv1x1(width, outChannels, { bias }));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(outChannels));
    this.relu = this.registerModule('relu', new ReLU());
    this.downsample = options.shortcut ? this.registerModule('downsample', options.shortcut) : null;
  }

  forward(x: Flow): Flow {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.bn3.call(this.conv3.call(out));
    if (!this.residual) return this.relu.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(addResidual(out, identity));
  }

  /** Sets the last BatchNorm's γ to zero, so the block starts as the identity. */
  zeroInitLastNorm(): void {
    if (!this.isMeta) tf.tidy(() => this.bn3.weight.assign(tf.zerosLike(this.bn3.weight)));
  }
}
// #endregion
