import { Conv2d } from '../layers/conv2d.js';

/** A 3×3 convolution whose padding keeps the size at stride 1 (torchvision's `conv3x3`). */
export function conv3x3(
  inChannels: number,
  outChannels: number,
  options: { stride?: number; groups?: number; dilation?: number; bias?: boolean } = {},
): Conv2d {
  const dilation = options.dilation ?? 1;
  return new Conv2d(inChannels, outChannels, {
    kernelSize: 3,
    stride: options.stride ?? 1,
    padding: dilation,
    dilation,
    groups: options.groups ?? 1,
    bias: options.bias ?? false,
  });
}

/** A 1×1 convolution (torchvision's `conv1x1`). */
export function conv1x1(
  inChannels: number,
  outChannels: number,
  options: { stride?: number; bias?: boolean } = {},
): Conv2d {
  return new Conv2d(inChannels, outChannels, {
    kernelSize: 1,
    stride: options.stride ?? 1,
    bias: options.bias ?? false,
  });
}
