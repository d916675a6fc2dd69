import { BatchNorm2d } from '../layers/batchnorm2d.js';
import { Sequential } from '../layers/sequential.js';
import { conv1x1 } from './convs.js';

// #region notebook:shortcut-projection
/**
 * The projection shortcut W_s·x of the paper (option B): a strided 1×1 convolution and a
 * BatchNorm that bring the input to the block's output shape. It is torchvision's
 * `downsample = Sequential(conv1x1, BatchNorm2d)`, so its weights are `downsample.0.weight`
 * and `downsample.1.*`, and summaries list it as a `Sequential`.
 */
export class ShortcutProjection extends Sequential {
  constructor(inChannels: number, outChannels: number, options: { stride?: number; bias?: boolean } = {}) {
    super([
      conv1x1(inChannels, outChannels, { stride: options.stride ?? 1, bias: options.bias ?? false }),
      new BatchNorm2d(outChannels),
    ]);
  }
}
// #endregion
