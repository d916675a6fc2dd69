import {
  ArgumentError,
  buildUninitialized,
  type HostTensor,
  knownKeysOf,
  loadStateDict,
  optionsObject,
  ResNet,
  type ResNetConfig,
} from '@resnet/core';
import { checkImageTransforms, type ImageTransforms, transformChannels } from '@resnet/images';
import type * as tf from '@tensorflow/tfjs-core';
import { getPreset, presetConfig } from '../index.js';
import { fileNameOf } from '../weights/hash.js';
import { getWeights, listWeights, WEIGHTS, type WeightsEntry } from '../weights/registry.js';
import { shippedStateDict } from '../weights/shipped.js';
import { weightsArgumentKind } from '../weights/source.js';
import { checkCategories, checkTopk, decodePredictions, type Prediction } from './predictions.js';

/** The preprocessing of an entry point: images (of the inputs it accepts) → one NHWC batch. */
export type PreprocessImages<I> = (images: readonly I[], transforms: ImageTransforms) => Promise<tf.Tensor4D>;

/** Where the weights of a pretrained model came from. */
export interface WeightsOrigin {
  /** The file name (`resnet50-11ad3fa6.pth`); null for a state dict passed in memory. */
  fileName: string | null;
  /** The URL it was downloaded from (or would have been, when it came from a cache). */
  url: string | null;
  /** The file on disk (Node), when there is one. */
  path: string | null;
  /** Full SHA-256 of the file when it was verified; null for a local path or a state dict. */
  sha256: string | null;
}

export interface ClassifyOptions {
  /** How many classes per image, most probable first. Default 5 (or every class when fewer). */
  topk?: number;
}

/** What `pretrainedFromStateDict` needs besides the weights; every field has a default. */
export interface FromStateDictOptions {
  /** The registry entry the weights are (its transforms, categories and metadata). Default none. */
  entry?: WeightsEntry | null;
  /**
   * The eval transforms. Default: the entry's, else those of the architecture's DEFAULT torchvision
   * weights; required for a preset without torchvision weights.
   */
  transforms?: ImageTransforms;
  /** Class names by output index. Default: the entry's, else ImageNet's for 1000 classes, else none. */
  categories?: readonly string[] | null;
  /** Where the weights came from (shown by the CLI). */
  origin?: WeightsOrigin;
}

/**
 * A ResNet with its weights loaded, in eval mode, that knows how its images must be prepared and
 * what its outputs mean: `classify(image)` gives named classes with probabilities, `embed(image)`
 * the pooled features, as torchvision's `weights.transforms()` + `model(x)` + `weights.meta
 * ["categories"]` do in Python. Everything else of `ResNet` (`predict`, `extractFeatures`,
 * `dispose`, …) works as usual.
 */
export class PretrainedResNet<I> extends ResNet {
  /** The torchvision entry of the weights (URL, metrics, …), or null when they are not one. */
  readonly weights: WeightsEntry | null;
  /** The eval transforms `classify`, `embed` and `preprocess` apply. */
  readonly transforms: ImageTransforms;
  /** Class names by output index, or null (labels are then the indices). */
  readonly categories: readonly string[] | null;
  /** The file the weights came from. */
  readonly origin: WeightsOrigin;
  readonly #preprocess: PreprocessImages<I>;

  constructor(
    config: ResNetConfig,
    info: {
      weights: WeightsEntry | null;
      transforms: ImageTransforms;
      categories: readonly string[] | null;
      origin: WeightsOrigin;
    },
    preprocess: PreprocessImages<I>,
  ) {
    super(config);
    this.weights = info.weights;
    this.transforms = info.transforms;
    this.categories = info.categories;
    this.origin = info.origin;
    this.#preprocess = preprocess;
  }

  /**
   * The batch `classify` feeds the model: `transforms` applied to each image, NHWC
   * `[n, crop, crop, channels]` (3, or 1 for grey weights such as resnet20's FASHION_MNIST).
   */
  preprocess(image: I | readonly I[]): Promise<tf.Tensor4D> {
    return this.#preprocess(Array.isArray(image) ? (image as readonly I[]) : [image as I], this.transforms);
  }

  /**
   * The `topk` most probable classes of an image, most probable first: `[{ index, label,
   * probability }]`. An array of images gives one list per image. The image is decoded and
   * transformed as torchvision does (`weights.transforms()`), then the softmax of the logits is read.
   */
  classify(image: I, options?: ClassifyOptions): Promise<Prediction[]>;
  classify(images: readonly I[], options?: ClassifyOptions): Promise<Prediction[][]>;
  async classify(input: I | readonly I[], options: ClassifyOptions = {}): Promise<Prediction[] | Prediction[][]> {
    const o = optionsObject('options', options);
    knownKeysOf('options', o, ['topk']);
    const classes = this.outputChannels;
    const topk = checkTopk('options.topk', o.topk ?? Math.min(5, classes), classes);
    const x = await this.preprocess(input);
    let scores: HostTensor;
    try {
      const y = this.predict(x);
      try {
        scores = { dtype: 'float32', shape: y.shape, data: (await y.data()) as Float32Array };
      } finally {
        y.dispose();
      }
    } finally {
      x.dispose();
    }
    const rows = decodePredictions(scores, topk, this.categories, {
      from: this.config.output === 'softmax' ? 'probabilities' : 'logits',
    }) as Prediction[][];
    return Array.isArray(input) ? rows : (rows[0] as Prediction[]);
  }

  /**
   * The pooled features of an image (the input of the classifier): a `[1, C]` tensor, or `[n, C]`
   * for an array of images (C = 2048 for resnet50). Dispose it when done.
   */
  async embed(image: I | readonly I[]): Promise<tf.Tensor2D> {
    const x = await this.preprocess(image);
    try {
      return this.predictPooled(x);
    } finally {
      x.dispose();
    }
  }
}

const FROM_STATE_DICT_KEYS = ['entry', 'transforms', 'categories', 'origin'] as const;

/**
 * The registry entry of `arch` whose file name is `fileName` (torchvision's `resnet50-11ad3fa6.pth`,
 * as a URL or a path names it), or null: what `pretrained` takes a file so named to be.
 */
export function weightsEntryOfFile(arch: string, fileName: string): WeightsEntry | null {
  const name = fileNameOf(fileName);
  return listWeights().find((e) => e.arch === arch && e.fileName === name) ?? null;
}

/**
 * A `PretrainedResNet` of `arch` with a torchvision `state_dict` loaded (strict: every name and
 * shape must fit; on a mismatch nothing is kept). The number of classes is read from `fc.weight`.
 */
export function buildPretrained<I>(
  arch: string,
  stateDict: ReadonlyMap<string, HostTensor>,
  options: FromStateDictOptions,
  preprocess: PreprocessImages<I>,
): PretrainedResNet<I> {
  getPreset(arch);
  const o = optionsObject('options', options) as FromStateDictOptions;
  knownKeysOf('options', o, FROM_STATE_DICT_KEYS);
  if (!(stateDict instanceof Map)) {
    throw new ArgumentError(
      'stateDict',
      'a Map from torch names to tensors',
      stateDict,
      'Use parseStateDict(bytes).tensors',
    );
  }
  const entry = o.entry ?? null;
  if (
    entry !== null &&
    (typeof entry !== 'object' ||
      entry.arch !== arch ||
      (entry.source !== 'torchvision' && entry.source !== 'resnet'))
  ) {
    throw new ArgumentError('options.entry', `a weights entry of ${arch} (getWeights('${arch}', NAME))`, entry);
  }
  const transforms = checkImageTransforms(
    'options.transforms',
    o.transforms ?? entry?.transforms ?? defaultTransforms(arch),
  );
  const head = stateDict.get('fc.weight');
  const numClasses = head && head.shape.length === 2 ? (head.shape[0] as number) : undefined;
  // The input channels the weights take (conv1.weight is [out, in, kh, kw]); 3 when not said.
  const stem = stateDict.get('conv1.weight');
  const inputChannels = stem && stem.shape.length === 4 ? (stem.shape[1] as number) : 3;
  if (transformChannels(transforms) !== inputChannels) {
    throw new ArgumentError(
      'options.transforms',
      `transforms for ${inputChannels} input channel${inputChannels === 1 ? '' : 's'} (conv1.weight is ${JSON.stringify(stem?.shape)})`,
      `transforms for ${transformChannels(transforms)} channel${transformChannels(transforms) === 1 ? '' : 's'}`,
      inputChannels === 1
        ? "Pass imageClassification({ cropSize, resizeSize, mean: [m], std: [s], channels: 1 }) from @resnet/images"
        : 'Pass imageClassification({ cropSize, resizeSize, mean, std }) from @resnet/images',
    );
  }
  const config = presetConfig(arch, {
    ...(numClasses === undefined ? {} : { numClasses }),
    ...(inputChannels === 3 ? {} : { inputChannels }),
  });
  const categories = checkCategories(
    'options.categories',
    o.categories === undefined ? (entry?.categories ?? null) : o.categories,
    numClasses ?? (config.numClasses as number),
  );
  const origin = o.origin ?? { fileName: null, url: null, path: null, sha256: null };
  // Zeros, not the random initialisation: the strict load below overwrites every slot.
  const model = buildUninitialized(
    () => new PretrainedResNet(config, { weights: entry, transforms, categories, origin }, preprocess),
  );
  try {
    loadStateDict(model, stateDict);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model.eval();
}

/** The transforms of the architecture's DEFAULT torchvision weights, or an error saying what to pass. */
function defaultTransforms(arch: string): ImageTransforms {
  if (!Object.hasOwn(WEIGHTS, arch)) {
    throw new ArgumentError(
      'options.transforms',
      `the eval transforms of the weights (${arch} has no pretrained weights whose transforms could be used)`,
      undefined,
      'Pass imageClassification({ cropSize, resizeSize, mean, std }) from @resnet/images',
    );
  }
  return getWeights(arch).transforms;
}

/** What `pretrained` takes besides the architecture, in Node and in browsers. */
export interface PretrainedModelOptions {
  /**
   * Which weights: a NAME of the architecture's entries (torchvision's `IMAGENET1K_V1`,
   * `IMAGENET1K_V2`; ours, shipped inside the package with nothing to download: resnet20's
   * `FASHION_MNIST`) or `DEFAULT` (the default), an entry (`getWeights(...)`), a URL whose file name
   * carries its SHA-256 prefix (`…/resnet50-11ad3fa6.pth`), or in Node the path of a file (read as
   * it is). `.pth` and safetensors files are read alike.
   */
  weights?: string | WeightsEntry;
  /**
   * The eval transforms. Default: the entry's (a URL or path named as a torchvision checkpoint,
   * `resnet50-11ad3fa6.pth`, counts as that entry), else those of the architecture's DEFAULT.
   */
  transforms?: ImageTransforms;
  /** Class names by output index. Default: the entry's, else ImageNet's for 1000 classes. */
  categories?: readonly string[] | null;
}

const PRETRAINED_OPTION_KEYS = ['weights', 'transforms', 'categories'] as const;

/**
 * The shipped entry (`source: 'resnet'`) that `weights` names for `arch`, or null when it names
 * something to download or read (torchvision's weights, a URL, a path).
 */
function shippedEntry(arch: string, weights: string | WeightsEntry): WeightsEntry | null {
  if (typeof weights === 'object' && weights !== null) {
    if (weights.source !== 'resnet') return null;
    if (weights.arch !== arch)
      throw new ArgumentError('options.weights', `weights of ${arch}`, `${weights.arch} ${weights.name}`);
    return weights;
  }
  if (typeof weights !== 'string' || weightsArgumentKind(weights) !== 'name' || !Object.hasOwn(WEIGHTS, arch))
    return null;
  const entry = getWeights(arch, weights);
  return entry.source === 'resnet' ? entry : null;
}

/** A shipped entry's weights, from the package itself (no download, no file). */
async function loadShipped(entry: WeightsEntry): Promise<LoadedWeights> {
  const { tensors, sha256 } = await shippedStateDict(entry);
  return { tensors, entry, origin: { fileName: entry.fileName, url: null, path: null, sha256 } };
}

/** A weights file read into memory by an entry point's loader. */
export interface LoadedWeights {
  tensors: Map<string, HostTensor>;
  /** The registry entry when the weights were named. */
  entry: WeightsEntry | null;
  origin: WeightsOrigin & { fileName: string };
}

/**
 * An entry point's `pretrained` and `pretrainedFromStateDict`, over its loader (download and read:
 * a disk cache in Node, `fetch` and the Cache API in browsers) and its preprocessing (Node's takes
 * paths too). Options are checked before anything is downloaded.
 */
export function pretrainedEntry<I, D extends object>(
  preprocess: PreprocessImages<I>,
  downloadKeys: readonly string[],
  load: (arch: string, weights: string | WeightsEntry, download: D) => Promise<LoadedWeights>,
) {
  /**
   * A ResNet with torchvision's pretrained weights, in eval mode, ready to classify:
   * `const model = await pretrained('resnet50'); await model.classify(image)`. The weights (a
   * NAME, by default DEFAULT; a URL; in Node a path) are downloaded once, checked against the
   * SHA-256 prefix in their file name as torch.hub checks them, read as `.pth` or safetensors and
   * loaded strictly; the model carries their transforms, categories and metadata. Weights we
   * trained and ship, `pretrained('resnet20', { weights: 'FASHION_MNIST' })`, come from the package
   * itself (loaded on first use), with nothing to download.
   */
  async function pretrained(arch: string, options: PretrainedModelOptions & D = {} as D): Promise<PretrainedResNet<I>> {
    const o = optionsObject('options', options) as PretrainedModelOptions & D;
    knownKeysOf('options', o, [...PRETRAINED_OPTION_KEYS, ...downloadKeys]);
    getPreset(arch);
    if (o.transforms !== undefined) checkImageTransforms('options.transforms', o.transforms);
    const c = o.categories;
    if (c !== undefined && c !== null && (!Array.isArray(c) || c.some((x) => typeof x !== 'string'))) {
      throw new ArgumentError('options.categories', 'an array of class names (strings)', c);
    }
    const { weights = 'DEFAULT', transforms, categories, ...download } = o;
    const shipped = shippedEntry(arch, weights);
    const loaded = shipped ? await loadShipped(shipped) : await load(arch, weights, download as unknown as D);
    return pretrainedFromStateDict(arch, loaded.tensors, {
      entry: loaded.entry ?? weightsEntryOfFile(arch, loaded.origin.fileName),
      transforms,
      categories,
      origin: loaded.origin,
    });
  }

  /**
   * A `PretrainedResNet` from a state dict you already hold (`parseStateDict(bytes).tensors`):
   * loaded strictly, the number of classes read from `fc.weight`, the transforms and categories
   * from `options`, else the architecture's DEFAULT torchvision weights.
   */
  function pretrainedFromStateDict(
    arch: string,
    stateDict: ReadonlyMap<string, HostTensor>,
    options: FromStateDictOptions = {},
  ): PretrainedResNet<I> {
    return buildPretrained(arch, stateDict, options, preprocess);
  }

  return { pretrained, pretrainedFromStateDict };
}
