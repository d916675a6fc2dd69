import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError } from '../errors.js';
import { addResidual, type Flow } from '../flow.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Module } from '../module.js';
import { positiveInt, positiveIntList } from '../validate.js';

// #region notebook:keras-bottleneck
/** Filters [F1, F2, F3] of the first seed's blocks: 1×1 to F1, f×f to F2, 1×1 to F3. */
export type BlockFilters = [number, number, number];

/**
 * Shared body of the Keras-style blocks: conv1 (1×1, carries the stride) → bn1 → ReLU →
 * conv2 (f×f, "same") → bn2 → ReLU → conv3 (1×1) → bn3. Convolutions keep their bias, as in
 * Keras' ResNet50 and the first seed.
 */
abstract class KerasBottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly filters: BlockFilters;
  readonly kernelSize: number;

  constructor(inChannels: number, filters: BlockFilters, f: number, stride: number) {
    super();
    positiveInt('inChannels', inChannels);
    const [f1, f2, f3] = positiveIntList('filters', filters, 3) as BlockFilters;
    positiveInt('f', f);
    if (f % 2 === 0) throw new ArgumentError('f', 'an odd kernel size (so that "same" padding is symmetric)', f);
    this.filters = [f1, f2, f3];
    this.kernelSize = f;
    this.conv1 = this.registerModule('conv1', new Conv2d(inChannels, f1, { kernelSize: 1, stride }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(f1));
    this.conv2 = this.registerModule('conv2', new Conv2d(f1, f2, { kernelSize: f, padding: Math.floor(f / 2) }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(f2));
    this.conv3 = this.registerModule('conv3', new Conv2d(f2, f3, { kernelSize: 1 }));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(f3));
  }

  protected residual(x: Flow, relu: ReLU): Flow {
    let out = relu.call(this.bn1.call(this.conv1.call(x)));
    out = relu.call(this.bn2.call(this.conv2.call(out)));
    return this.bn3.call(this.conv3.call(out));
  }

  /** Sets bn3's γ to zero, so the block starts as its shortcut. */
  zeroInitLastNorm(): void {
    if (!this.isMeta) tf.tidy(() => this.bn3.weight.assign(tf.zerosLike(this.bn3.weight)));
  }
}
// #endregion

// #region notebook:identity-block
/**
 * The first seed's identity block: input and output have the same shape (`inChannels` = F3),
 * so the shortcut is x itself: y = ReLU(F(x) + x).
 */
export class IdentityBlock extends KerasBottleneck {
  readonly typeName = 'IdentityBlock';
  readonly relu: ReLU;

  constructor(inChannels: number, filters: BlockFilters, f: number) {
    // Checked before super() allocates any weight, so a refused block leaks nothing.
    if (Array.isArray(filters) && inChannels !== filters[2]) {
      throw new ArgumentError(
        'filters[2]',
        `F3 equal to inChannels (${inChannels}): an identity block keeps the shape`,
        filters[2],
        'Use a ConvolutionalBlock to change the channel count',
      );
    }
    super(inChannels, filters, f, 1);
    this.relu = this.registerModule('relu', new ReLU());
  }

  forward(x: Flow): Flow {
    return this.relu.call(addResidual(this.residual(x, this.relu), x));
  }
}
// #endregion

// #region notebook:convolutional-block
/**
 * The first seed's convolutional block, used where the shape changes: the shortcut is a strided
 * 1×1 convolution with BatchNorm (`shortcut_conv`, `shortcut_bn`), and the main path strides on
 * its first 1×1 convolution.
 */
export class ConvolutionalBlock extends KerasBottleneck {
  readonly typeName = 'ConvolutionalBlock';
  readonly shortcutConv: Conv2d;
  readonly shortcutBn: BatchNorm2d;
  readonly relu: ReLU;
  readonly stride: number;

  constructor(inChannels: number, filters: BlockFilters, f: number, stride = 2) {
    positiveInt('stride', stride);
    super(inChannels, filters, f, stride);
    this.stride = stride;
    this.shortcutConv = this.registerModule(
      'shortcut_conv',
      new Conv2d(inChannels, filters[2], { kernelSize: 1, stride }),
    );
    this.shortcutBn = this.registerModule('shortcut_bn', new BatchNorm2d(filters[2]));
    this.relu = this.registerModule('relu', new ReLU());
  }

  forward(x: Flow): Flow {
    const shortcut = this.shortcutBn.call(this.shortcutConv.call(x));
    return this.relu.call(addResidual(this.residual(x, this.relu), shortcut));
  }
}
// #endregion
