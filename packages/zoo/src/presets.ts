import type { ResNetConfig } from '@resnet/core';

/** A preset: a builder config plus what it is and where it comes from. */
export interface Preset {
  /** The builder config (without name, head options or seed). */
  config: Omit<ResNetConfig, 'name'>;
  /** One line for listings. */
  description: string;
  /** The torchvision model with the same architecture and state_dict names, if any. */
  torchvision?: string;
  /** Where the architecture is defined. */
  source: string;
  family: 'resnet' | 'wide_resnet' | 'resnext' | 'cifar' | 'plain' | 'keras';
  /**
   * Side of the square images the architecture was designed for, and at which its figures are
   * quoted: 224 for the ImageNet networks, 32 for the paper's CIFAR-10 networks. Any size that
   * survives the downsampling runs; this is the one a listing or a default input uses.
   */
  imageSize: number;
}

/** ImageNet's training crop (torchvision's and the paper's figures are for one 224×224 image). */
const IMAGENET_SIZE = 224;
/** CIFAR-10's images (the paper's section 4.2). */
const CIFAR_SIZE = 32;

const STAGES = [64, 128, 256, 512];

function torchvisionBasic(depths: number[]): Omit<ResNetConfig, 'name'> {
  return { block: 'basic', depths, widths: STAGES };
}

function torchvisionBottleneck(depths: number[], groups = 1, widthPerGroup = 64): Omit<ResNetConfig, 'name'> {
  return { block: 'bottleneck', depths, widths: STAGES, groups, widthPerGroup };
}

/**
 * The paper's CIFAR-10 networks: 6n + 2 layers, 16/32/64 channels, 10 classes; option-A
 * shortcuts, or none for the plain baselines of its Figure 6.
 */
function cifar(n: number, shortcut: 'zero-pad' | 'none' = 'zero-pad'): Omit<ResNetConfig, 'name'> {
  return {
    block: 'basic',
    depths: [n, n, n],
    widths: [16, 32, 64],
    stem: 'cifar',
    shortcut,
    numClasses: 10,
  };
}

const PAPER = 'He et al., Deep Residual Learning for Image Recognition (2015)';

/** Every preset, by name. Presets are data; `createModel` turns one into a model. */
export const PRESETS = {
  resnet18: {
    config: torchvisionBasic([2, 2, 2, 2]),
    description: 'ResNet-18, basic blocks [2, 2, 2, 2]',
    torchvision: 'resnet18',
    source: PAPER,
    family: 'resnet',
    imageSize: IMAGENET_SIZE,
  },
  resnet34: {
    config: torchvisionBasic([3, 4, 6, 3]),
    description: 'ResNet-34, basic blocks [3, 4, 6, 3]',
    torchvision: 'resnet34',
    source: PAPER,
    family: 'resnet',
    imageSize: IMAGENET_SIZE,
  },
  resnet50: {
    config: torchvisionBottleneck([3, 4, 6, 3]),
    description: 'ResNet-50 v1.5, bottleneck blocks [3, 4, 6, 3], stride on the 3×3',
    torchvision: 'resnet50',
    source: PAPER,
    family: 'resnet',
    imageSize: IMAGENET_SIZE,
  },
  resnet101: {
    config: torchvisionBottleneck([3, 4, 23, 3]),
    description: 'ResNet-101 v1.5, bottleneck blocks [3, 4, 23, 3]',
    torchvision: 'resnet101',
    source: PAPER,
    family: 'resnet',
    imageSize: IMAGENET_SIZE,
  },
  resnet152: {
    config: torchvisionBottleneck([3, 8, 36, 3]),
    description: 'ResNet-152 v1.5, bottleneck blocks [3, 8, 36, 3]',
    torchvision: 'resnet152',
    source: PAPER,
    family: 'resnet',
    imageSize: IMAGENET_SIZE,
  },
  wide_resnet50_2: {
    config: torchvisionBottleneck([3, 4, 6, 3], 1, 128),
    description: 'Wide ResNet-50-2: ResNet-50 with bottlenecks twice as wide',
    torchvision: 'wide_resnet50_2',
    source: 'Zagoruyko & Komodakis, Wide Residual Networks (2016)',
    family: 'wide_resnet',
    imageSize: IMAGENET_SIZE,
  },
  wide_resnet101_2: {
    config: torchvisionBottleneck([3, 4, 23, 3], 1, 128),
    description: 'Wide ResNet-101-2: ResNet-101 with bottlenecks twice as wide',
    torchvision: 'wide_resnet101_2',
    source: 'Zagoruyko & Komodakis, Wide Residual Networks (2016)',
    family: 'wide_resnet',
    imageSize: IMAGENET_SIZE,
  },
  resnext50_32x4d: {
    config: torchvisionBottleneck([3, 4, 6, 3], 32, 4),
    description: 'ResNeXt-50 32×4d: 32 groups of 4 channels in the first stage',
    torchvision: 'resnext50_32x4d',
    source: 'Xie et al., Aggregated Residual Transformations (2017)',
    family: 'resnext',
    imageSize: IMAGENET_SIZE,
  },
  resnext101_32x8d: {
    config: torchvisionBottleneck([3, 4, 23, 3], 32, 8),
    description: 'ResNeXt-101 32×8d',
    torchvision: 'resnext101_32x8d',
    source: 'Xie et al., Aggregated Residual Transformations (2017)',
    family: 'resnext',
    imageSize: IMAGENET_SIZE,
  },
  resnext101_64x4d: {
    config: torchvisionBottleneck([3, 4, 23, 3], 64, 4),
    description: 'ResNeXt-101 64×4d',
    torchvision: 'resnext101_64x4d',
    source: 'Xie et al., Aggregated Residual Transformations (2017)',
    family: 'resnext',
    imageSize: IMAGENET_SIZE,
  },
  resnet20: {
    config: cifar(3),
    description: 'CIFAR ResNet-20 (n = 3), option-A shortcuts, 10 classes',
    source: `${PAPER}, section 4.2`,
    family: 'cifar',
    imageSize: CIFAR_SIZE,
  },
  resnet32: {
    config: cifar(5),
    description: 'CIFAR ResNet-32 (n = 5), option-A shortcuts, 10 classes',
    source: `${PAPER}, section 4.2`,
    family: 'cifar',
    imageSize: CIFAR_SIZE,
  },
  resnet44: {
    config: cifar(7),
    description: 'CIFAR ResNet-44 (n = 7), option-A shortcuts, 10 classes',
    source: `${PAPER}, section 4.2`,
    family: 'cifar',
    imageSize: CIFAR_SIZE,
  },
  resnet56: {
    config: cifar(9),
    description: 'CIFAR ResNet-56 (n = 9), option-A shortcuts, 10 classes',
    source: `${PAPER}, section 4.2`,
    family: 'cifar',
    imageSize: CIFAR_SIZE,
  },
  resnet110: {
    config: cifar(18),
    description: 'CIFAR ResNet-110 (n = 18), option-A shortcuts, 10 classes',
    source: `${PAPER}, section 4.2`,
    family: 'cifar',
    imageSize: CIFAR_SIZE,
  },
  plain20: {
    config: cifar(3, 'none'),
    description: 'CIFAR plain-20: resnet20 without shortcuts (the paper’s Figure 6 baseline)',
    source: `${PAPER}, section 4.2`,
    family: 'plain',
    imageSize: CIFAR_SIZE,
  },
  plain32: {
    config: cifar(5, 'none'),
    description: 'CIFAR plain-32: resnet32 without shortcuts',
    source: `${PAPER}, section 4.2`,
    family: 'plain',
    imageSize: CIFAR_SIZE,
  },
  plain44: {
    config: cifar(7, 'none'),
    description: 'CIFAR plain-44: resnet44 without shortcuts',
    source: `${PAPER}, section 4.2`,
    family: 'plain',
    imageSize: CIFAR_SIZE,
  },
  plain56: {
    config: cifar(9, 'none'),
    description: 'CIFAR plain-56: resnet56 without shortcuts',
    source: `${PAPER}, section 4.2`,
    family: 'plain',
    imageSize: CIFAR_SIZE,
  },
  resnet50_keras: {
    config: {
      block: 'keras',
      depths: [3, 4, 6, 3],
      widths: STAGES,
      stem: 'keras',
      strideOn: '1x1',
      convBias: true,
    },
    description: 'Keras ResNet-50 v1 (the first seed): conv biases, stride on the first 1×1, ZeroPad 3 stem',
    source: 'keras.applications.ResNet50; the identity/convolutional-block notebook',
    family: 'keras',
    imageSize: IMAGENET_SIZE,
  },
} as const satisfies Record<string, Preset>;

/** The name of a preset. */
export type PresetName = keyof typeof PRESETS;

/** Preset names in listing order. */
export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];
