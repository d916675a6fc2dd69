import * as tf from '@tensorflow/tfjs-core';
import { addResidual, type Flow } from '../flow.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import type { Conv2d } from '../layers/conv2d.js';
import { Module } from '../module.js';
import { positiveInt } from '../validate.js';
import { checkResidualOptions } from './residual-options.js';
import { conv3x3 } from './convs.js';

// #region notebook:basic-block
export interface BasicBlockOptions {
  /** Stride of the first 3×3 convolution. Default 1. */
  stride?: number;
  /** Shortcut that reshapes the input when the stride or channels change (`downsample`). */
  shortcut?: Module | null;
  /** false: no shortcut and no residual sum (a block of the paper's plain networks). Default true. */
  residual?: boolean;
  /** Whether the convolutions add a bias (torchvision: no; labml's ResidualBlock: yes). Default false. */
  convBias?: boolean;
}

/**
 * The two-convolution residual block of ResNet-18/34 (torchvision's `BasicBlock`):
 * y = ReLU(F(x) + shortcut(x)), F = conv3×3 → BN → ReLU → conv3×3 → BN.
 * The block learns only the residual F(x) = H(x) − x; when the best H is close to identity,
 * F is close to zero, which is far easier to reach than identity through a plain stack.
 */
export class BasicBlock extends Module {
  readonly typeName = 'BasicBlock';
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Module | null;
  /** Whether the block adds its shortcut (false in plain networks). */
  readonly residual: boolean;

  constructor(inChannels: number, channels: number, options: BasicBlockOptions = {}) {
    super();
    positiveInt('inChannels', inChannels);
    positiveInt('channels', channels);
    const stride = positiveInt('options.stride', options.stride ?? 1);
    const bias = options.convBias ?? false;
    this.residual = checkResidualOptions(options, stride, inChannels, channels);
    this.conv1 = this.registerModule('conv1', conv3x3(inChannels, channels, { stride, bias }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(channels));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', conv3x3(channels, channels, { bias }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(channels));
    this.downsample = options.shortcut ? this.registerModule('downsample', options.shortcut) : null;
  }

  forward(x: Flow): Flow {
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.bn2.call(this.conv2.call(out));
    if (!this.residual) return this.relu.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.call(addResidual(out, identity));
  }

  /** Sets the last BatchNorm's γ to zero, so the block starts as the identity (torchvision's zero_init_residual). */
  zeroInitLastNorm(): void {
    if (!this.isMeta) tf.tidy(() => this.bn2.weight.assign(tf.zerosLike(this.bn2.weight)));
  }
}
// #endregion
