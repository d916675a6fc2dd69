import { ArgumentError } from '../errors.js';
import { bool, knownKeysOf, nonNegativeInt, oneOf, optionsObject, positiveInt, positiveIntList } from '../validate.js';

/** Residual block used in every stage. */
export type BlockKind = 'basic' | 'bottleneck' | 'keras';
/**
 * The stem before the first stage.
 * - `torchvision`: k×k/2 conv (k = 7), BN, ReLU, 3×3/2 max pool.
 * - `keras`: ZeroPad2d(3), 7×7/2 conv with padding 0, BN, ReLU, 3×3/2 max pool (the first seed).
 * - `cifar`: 3×3/1 conv, BN, ReLU (the paper's CIFAR-10 networks).
 * - `conv-bn`: k×k/2 conv and BN only (labml's ResnetBase, the third seed).
 */
export type StemKind = 'torchvision' | 'keras' | 'cifar' | 'conv-bn';
/**
 * Shortcut where the shape changes: `projection` (option B) or `zero-pad` (option A); `none`
 * removes every shortcut, giving the paper's plain networks (same layers, no residual sums).
 */
export type ShortcutKind = 'projection' | 'zero-pad' | 'none';

/** Everything the generic builder needs. Presets are values of this type. */
export interface ResNetConfig {
  /** A name for messages and summaries (for example "resnet50"). */
  name?: string;
  block: BlockKind;
  /** Blocks per stage, e.g. [3, 4, 6, 3]. */
  depths: number[];
  /** Planes per stage (torchvision's 64, 128, 256, 512); a stage outputs widths[i] × expansion channels. */
  widths: number[];
  /** Output channels per plane: default 1 for basic blocks, 4 for bottleneck and keras blocks. */
  expansion?: number;
  /** Explicit bottleneck widths per stage; otherwise floor(widths[i] × widthPerGroup / 64) × groups. */
  bottleneckWidths?: number[];
  /** Groups of each bottleneck's 3×3 convolution (ResNeXt cardinality). Default 1. */
  groups?: number;
  /** Channels per group at the first stage (64 plain, 128 wide_resnet*_2, 4 for resnext 32x4d). Default 64. */
  widthPerGroup?: number;
  stem?: StemKind;
  /** Channels out of the stem. Default widths[0]. */
  stemWidth?: number;
  /** Kernel of the stem convolution (torchvision and conv-bn stems). Default 7. */
  stemKernelSize?: number;
  /** Stride of each stage's first block. Default [1, 2, 2, ...]. */
  stageStrides?: number[];
  /** Where bottleneck blocks stride: '3x3' (torchvision v1.5) or '1x1' (paper, Keras). Default '3x3'. */
  strideOn?: '3x3' | '1x1';
  shortcut?: ShortcutKind;
  /** Whether every convolution has a bias (Keras, labml). Default false. */
  convBias?: boolean;
  /** Input channels (3 for RGB, 1 for grayscale). Default 3. */
  inputChannels?: number;
  /** Classes of the linear head; 0 for no head (pooled features). Default 1000. */
  numClasses?: number;
  /** Global pooling before the head. Default 'avg'. */
  pool?: 'avg' | 'max';
  /** Head output: raw logits (as torchvision) or softmax probabilities. Default 'logits'. */
  output?: 'logits' | 'softmax';
  /** Build only the stem and stages (no pooling, no head), like timm's features_only. Default false. */
  featuresOnly?: boolean;
  /** Stages whose outputs `extractFeatures` returns, 1-based (1 = layer1 = C2 ... 4 = C5). Default all. */
  outIndices?: number[];
  /** Zero the last BatchNorm γ of each block so every block starts as its shortcut. Default false. */
  zeroInitResidual?: boolean;
  /** Seed of the parameter initialisation. Default: random. */
  seed?: number;
}

const CONFIG_KEYS: (keyof ResNetConfig)[] = [
  'name',
  'block',
  'depths',
  'widths',
  'expansion',
  'bottleneckWidths',
  'groups',
  'widthPerGroup',
  'stem',
  'stemWidth',
  'stemKernelSize',
  'stageStrides',
  'strideOn',
  'shortcut',
  'convBias',
  'inputChannels',
  'numClasses',
  'pool',
  'output',
  'featuresOnly',
  'outIndices',
  'zeroInitResidual',
  'seed',
];

/** A config with every default filled in and every value checked. */
export type ResolvedResNetConfig = Required<Omit<ResNetConfig, 'seed' | 'bottleneckWidths'>> & {
  seed: number | undefined;
  bottleneckWidths: number[];
};

/** Checks a config and fills in its defaults; throws an ArgumentError naming the first bad field. */
export function resolveConfig(config: ResNetConfig): ResolvedResNetConfig {
  const c = optionsObject('config', config);
  knownKeysOf('config', c, CONFIG_KEYS);
  const block = oneOf('config.block', c.block, ['basic', 'bottleneck', 'keras'] as const);
  const depths = positiveIntList('config.depths', c.depths);
  const widths = positiveIntList('config.widths', c.widths, depths.length);
  const expansion = positiveInt('config.expansion', c.expansion ?? (block === 'basic' ? 1 : 4));
  const groups = positiveInt('config.groups', c.groups ?? 1);
  const widthPerGroup = positiveInt('config.widthPerGroup', c.widthPerGroup ?? 64);
  if (block === 'basic' && (groups !== 1 || widthPerGroup !== 64)) {
    throw new ArgumentError(
      'config.groups',
      'groups 1 and widthPerGroup 64 with basic blocks (as torchvision)',
      { groups, widthPerGroup },
      "Use block: 'bottleneck' for ResNeXt and wide ResNets",
    );
  }
  const bottleneckWidths =
    c.bottleneckWidths === undefined
      ? widths.map((w) => Math.floor((w * widthPerGroup) / 64) * groups)
      : positiveIntList('config.bottleneckWidths', c.bottleneckWidths, depths.length);
  bottleneckWidths.forEach((w, i) => {
    if (w % groups !== 0) {
      throw new ArgumentError(`config.bottleneckWidths[${i}]`, `a multiple of groups (${groups})`, w);
    }
  });
  const stageStrides =
    c.stageStrides === undefined
      ? depths.map((_, i) => (i === 0 ? 1 : 2))
      : positiveIntList('config.stageStrides', c.stageStrides, depths.length);
  const numClasses = nonNegativeInt('config.numClasses', c.numClasses ?? 1000);
  const featuresOnly = bool('config.featuresOnly', c.featuresOnly ?? false);
  const outIndices =
    c.outIndices === undefined ? depths.map((_, i) => i + 1) : positiveIntList('config.outIndices', c.outIndices);
  outIndices.forEach((s, i) => {
    if (s > depths.length) {
      throw new ArgumentError(`config.outIndices[${i}]`, `a stage number from 1 to ${depths.length}`, s);
    }
  });
  if (block === 'keras' && c.shortcut === 'none') {
    throw new ArgumentError(
      'config.shortcut',
      "'projection' with keras blocks (they define their own shortcuts)",
      c.shortcut,
    );
  }
  const output = oneOf('config.output', c.output ?? 'logits', ['logits', 'softmax'] as const);
  if (output === 'softmax' && numClasses === 0) {
    throw new ArgumentError('config.output', "'logits' when numClasses is 0 (there is no head)", output);
  }
  const seed = c.seed === undefined ? undefined : nonNegativeInt('config.seed', c.seed);
  const name = c.name ?? 'resnet';
  if (typeof name !== 'string') throw new ArgumentError('config.name', 'a string', name);
  return {
    name,
    block,
    depths,
    widths,
    expansion,
    bottleneckWidths,
    groups,
    widthPerGroup,
    stem: oneOf('config.stem', c.stem ?? 'torchvision', ['torchvision', 'keras', 'cifar', 'conv-bn'] as const),
    stemWidth: positiveInt('config.stemWidth', c.stemWidth ?? widths[0]),
    stemKernelSize: positiveInt('config.stemKernelSize', c.stemKernelSize ?? 7),
    stageStrides,
    strideOn: oneOf('config.strideOn', c.strideOn ?? '3x3', ['3x3', '1x1'] as const),
    shortcut: oneOf('config.shortcut', c.shortcut ?? 'projection', ['projection', 'zero-pad', 'none'] as const),
    convBias: bool('config.convBias', c.convBias ?? false),
    inputChannels: positiveInt('config.inputChannels', c.inputChannels ?? 3),
    numClasses,
    pool: oneOf('config.pool', c.pool ?? 'avg', ['avg', 'max'] as const),
    output,
    featuresOnly,
    outIndices,
    zeroInitResidual: bool('config.zeroInitResidual', c.zeroInitResidual ?? false),
    seed,
  };
}
