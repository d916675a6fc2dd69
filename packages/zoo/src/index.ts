import { ArgumentError, buildMeta, knownKeysOf, ResNet, type ResNetConfig } from '@resnet/core';
import { PRESET_NAMES, PRESETS, type Preset, type PresetName } from './presets.js';
import { WEIGHTS, type WeightsName } from './weights/registry.js';

export { PRESETS, PRESET_NAMES, type Preset, type PresetName } from './presets.js';
export {
  type ArchWeights,
  type EpochRecord,
  getWeights,
  IMAGENET_CATEGORIES,
  type ImageTransforms,
  listWeights,
  type TrainingProvenance,
  WEIGHTS,
  WEIGHTS_ARCHS,
  WEIGHTS_SOURCE,
  type WeightsArch,
  type WeightsEntry,
  type WeightsMeta,
  type WeightsName,
  weightsNames,
} from './weights/registry.js';
export { fileNameOf, hashPrefixOf } from './weights/hash.js';
export { shippedStateDict } from './weights/shipped.js';
export {
  applyMirror,
  OFFICIAL_WEIGHTS_BASE,
  type WeightsArgumentKind,
  weightsArgumentKind,
  type WeightsSource,
  type WeightsSourceOptions,
  weightsSource,
} from './weights/source.js';
export { WeightsDownloadError, type WeightsDownloadContext, type WeightsDownloadFailure } from './weights/errors.js';
export type { DownloadProgress } from './weights/http.js';
export { type FetchedWeights, type FetchWeightsOptions, fetchWeights, WEIGHTS_CACHE_NAME } from './weights/browser.js';
export {
  type DecodeOptions,
  decodePredictions,
  type Prediction,
  type Scores,
} from './classify/predictions.js';
export {
  type ClassifyOptions,
  type FromStateDictOptions,
  type PreprocessImages,
  type PretrainedModelOptions,
  PretrainedResNet,
  type WeightsOrigin,
  weightsEntryOfFile,
} from './classify/pretrained-resnet.js';
export { type PretrainedOptions, pretrained, pretrainedFromStateDict } from './classify/pretrained.js';

/** What every preset lets you change: the head, the input channels and initialisation. */
export interface PresetOptions {
  /** Classes of the linear head; 0 for pooled features without a head. Default: the preset's. */
  numClasses?: number;
  /** Input channels (1 for grayscale). Default 3. */
  inputChannels?: number;
  /** 'logits' (default for all but resnet50_keras) or 'softmax'. */
  output?: 'logits' | 'softmax';
  /** Global pooling before the head: 'avg' (default) or 'max'. */
  pool?: 'avg' | 'max';
  /** Stem and stages only; `extractFeatures` returns the stage outputs. */
  featuresOnly?: boolean;
  /** Stages returned by `extractFeatures`, 1-based (1 = C2 … 4 = C5). */
  outIndices?: number[];
  /** Zero-init the last BatchNorm of each block. */
  zeroInitResidual?: boolean;
  /** Seed of the initialisation. */
  seed?: number;
  /**
   * Build shapes only, without allocating weights (for summaries and parameter counts): a meta
   * model can run symbolic tensors but not real ones.
   */
  meta?: boolean;
}

const OPTION_KEYS = [
  'numClasses',
  'inputChannels',
  'output',
  'pool',
  'featuresOnly',
  'outIndices',
  'zeroInitResidual',
  'seed',
  'meta',
] as const;

/** The preset of `name`, or an error that lists the known names. */
export function getPreset(name: string): Preset {
  if (typeof name !== 'string' || !Object.hasOwn(PRESETS, name)) {
    throw new ArgumentError('arch', `one of ${PRESET_NAMES.join(', ')}`, name);
  }
  return PRESETS[name as PresetName];
}

/** The full builder config of a preset with options applied. */
export function presetConfig(name: string, options: PresetOptions = {}): ResNetConfig {
  const preset = getPreset(name);
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', 'an options object', options);
  knownKeysOf('options', options, OPTION_KEYS);
  const { meta: _meta, ...rest } = options;
  const defaults: Partial<ResNetConfig> = name === 'resnet50_keras' ? { output: 'softmax' } : {};
  return { ...preset.config, ...defaults, ...rest, name } as ResNetConfig;
}

/** Builds a preset: `createModel('resnet50', { numClasses: 10 })`. */
export function createModel(name: PresetName | (string & {}), options: PresetOptions = {}): ResNet {
  const config = presetConfig(name, options);
  return options.meta ? buildMeta(() => new ResNet(config)) : new ResNet(config);
}

/** A row of the zoo listing. */
export interface ZooEntry {
  name: PresetName;
  description: string;
  family: Preset['family'];
  torchvision: string | null;
  /** Parameters with the preset's default head (trainable and not). */
  params: number;
  /** BatchNorm running statistics and counters. */
  buffers: number;
  /** Classes of the default head. */
  numClasses: number;
  /** Side of the square images the preset is designed for (`Preset.imageSize`): 224, or 32 for CIFAR. */
  imageSize: number;
  /** The preset's pretrained weights (torchvision's `IMAGENET1K_V1`, …; resnet20's `FASHION_MNIST`); [] when there are none. */
  weights: WeightsName[];
  /** The entry torchvision's `DEFAULT` means, or null. */
  defaultWeights: WeightsName | null;
}

/** Every preset with its parameter count, computed from a meta build (no weights allocated). */
export function listPresets(): ZooEntry[] {
  return PRESET_NAMES.map((name) => {
    const model = createModel(name, { meta: true });
    return {
      name,
      description: PRESETS[name].description,
      family: PRESETS[name].family,
      torchvision: (PRESETS[name] as Preset).torchvision ?? null,
      params: model.countParameters(),
      buffers: model.countBuffers(),
      numClasses: model.config.numClasses,
      imageSize: PRESETS[name].imageSize,
      weights: Object.keys(WEIGHTS[name as keyof typeof WEIGHTS]?.entries ?? {}) as WeightsName[],
      defaultWeights: WEIGHTS[name as keyof typeof WEIGHTS]?.default ?? null,
    };
  });
}

type Factory = (options?: PresetOptions) => ResNet;
const factory =
  (name: PresetName): Factory =>
  (options = {}) =>
    createModel(name, options);

export const resnet18 = factory('resnet18');
export const resnet34 = factory('resnet34');
export const resnet50 = factory('resnet50');
export const resnet101 = factory('resnet101');
export const resnet152 = factory('resnet152');
export const wide_resnet50_2 = factory('wide_resnet50_2');
export const wide_resnet101_2 = factory('wide_resnet101_2');
export const resnext50_32x4d = factory('resnext50_32x4d');
export const resnext101_32x8d = factory('resnext101_32x8d');
export const resnext101_64x4d = factory('resnext101_64x4d');
export const resnet20 = factory('resnet20');
export const resnet32 = factory('resnet32');
export const resnet44 = factory('resnet44');
export const resnet56 = factory('resnet56');
export const resnet110 = factory('resnet110');
export const plain20 = factory('plain20');
export const plain32 = factory('plain32');
export const plain44 = factory('plain44');
export const plain56 = factory('plain56');
export const resnet50_keras = factory('resnet50_keras');
