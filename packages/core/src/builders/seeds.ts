import { BottleneckBlock } from '../blocks/bottleneck-block.js';
import { ArgumentError } from '../errors.js';
import { positiveInt, positiveIntList } from '../validate.js';
import { ResNet } from './resnet.js';

// #region notebook:resnet-base
/**
 * The third seed's `ResnetBase(n_blocks, n_channels, bottlenecks, img_channels, first_kernel_size)`
 * (labml's annotated ResNet): a k×k/2 convolution and BatchNorm, then stages of residual blocks
 * (bottleneck blocks when `bottlenecks` gives their widths) whose convolutions carry biases, and
 * global average pooling to a `[batch, nChannels.at(-1)]` vector. No classifier.
 *
 * Downsampling follows the seed's README: the first block of every stage after the first has
 * stride 2. (Its code strides only the very first block of the network, a known upstream bug
 * that leaves every later stage at full resolution; we do not reproduce it.)
 * Parameter names are torchvision's (`conv1`, `bn1`, `layer{i}.{j}.conv1`, `downsample.0`), not
 * labml's (`conv`, `bn`, `blocks.{k}.conv1`, `shortcut.conv`).
 */
export class ResnetBase extends ResNet {
  constructor(
    nBlocks: number[],
    nChannels: number[],
    bottlenecks: number[] | null = null,
    imgChannels = 3,
    firstKernelSize = 7,
  ) {
    const depths = positiveIntList('nBlocks', nBlocks);
    const channels = positiveIntList('nChannels', nChannels, depths.length);
    const widths = bottlenecks === null ? null : positiveIntList('bottlenecks', bottlenecks, depths.length);
    const k = positiveInt('firstKernelSize', firstKernelSize);
    if (k % 2 === 0) throw new ArgumentError('firstKernelSize', 'an odd kernel size', k);
    super({
      name: 'ResnetBase',
      block: widths ? 'bottleneck' : 'basic',
      depths,
      widths: channels,
      expansion: 1,
      ...(widths ? { bottleneckWidths: widths } : {}),
      stem: 'conv-bn',
      stemKernelSize: k,
      convBias: true,
      inputChannels: positiveInt('imgChannels', imgChannels),
      numClasses: 0,
    });
  }
}
// #endregion

// #region notebook:seed-factories
/** The fourth seed's `ResNet50(img_channel, num_classes)`: bottleneck blocks, layers [3, 4, 6, 3]. */
export function ResNet50(imgChannels = 3, numClasses = 1000): ResNet {
  return new ResNet(BottleneckBlock, [3, 4, 6, 3], imgChannels, numClasses);
}

/** The fourth seed's `ResNet101`: layers [3, 4, 23, 3]. */
export function ResNet101(imgChannels = 3, numClasses = 1000): ResNet {
  return new ResNet(BottleneckBlock, [3, 4, 23, 3], imgChannels, numClasses);
}

/** The fourth seed's `ResNet152`: layers [3, 8, 36, 3]. */
export function ResNet152(imgChannels = 3, numClasses = 1000): ResNet {
  return new ResNet(BottleneckBlock, [3, 8, 36, 3], imgChannels, numClasses);
}
// #endregion

// #region notebook:keras-resnet50
/**
 * The first seed's ResNet-50, the Keras "v1" layout: ZeroPad2d(3) before a 7×7/2 convolution,
 * IdentityBlock / ConvolutionalBlock stages (stride on the first 1×1, convolutions with bias)
 * and a softmax output. The seed runs it on 1×64×64×3 with 3 classes by default.
 * Its stages are `layer1`…`layer4` (the seed's `layer2a`…`layer5c`), blocks `layer{i}.{j}`.
 */
export class KerasResNet50 extends ResNet {
  constructor(numClasses = 3, inputChannels = 3) {
    super({
      name: 'resnet50_keras',
      block: 'keras',
      depths: [3, 4, 6, 3],
      widths: [64, 128, 256, 512],
      stem: 'keras',
      strideOn: '1x1',
      convBias: true,
      inputChannels: positiveInt('inputChannels', inputChannels),
      numClasses: positiveInt('numClasses', numClasses),
      output: 'softmax',
    });
  }
}
// #endregion
