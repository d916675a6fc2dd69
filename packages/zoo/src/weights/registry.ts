import { ArgumentError } from '@resnet/core';
import type { ImageTransforms } from '@resnet/images';
import { SHIPPED_WEIGHTS_DATA } from './shipped-data.js';
import {
  IMAGENET_CATEGORIES_TEXT,
  TORCHVISION_SOURCE,
  TORCHVISION_WEIGHTS_DATA,
  type TorchvisionArch,
  type TorchvisionWeightsName,
} from './torchvision-data.js';

export type { ImageTransforms };

/**
 * What torchvision publishes about a checkpoint (its `meta`), under our names; for the weights we
 * trained and ship, the same facts measured by us (see `WeightsEntry.provenance`).
 */
export interface WeightsMeta {
  /** The data set the weights were trained on and the metrics are measured on. */
  readonly dataset: 'ImageNet-1K' | 'Fashion-MNIST';
  /**
   * Top-1 accuracy in percent (`acc@1`): on the ImageNet-1K validation set, or on the 10,000
   * Fashion-MNIST test images for FASHION_MNIST (of the weights as shipped, float16).
   */
  readonly acc1: number;
  /** Top-5 accuracy, in percent (`acc@5`). */
  readonly acc5: number;
  /** Parameters of the model (`num_params`). */
  readonly numParams: number;
  /**
   * Giga multiply-adds of one image at the input size of the transforms' crop, as torchvision
   * counts them (`_ops`): 224×224 RGB for torchvision's weights, 32×32 grey for FASHION_MNIST.
   */
  readonly gflops: number;
  /** Size of the weights file in MB of 2^20 bytes (`_file_size`); for shipped weights, the embedded float16 file. */
  readonly fileSizeMB: number;
  /** Smallest input [height, width] (`min_size`). */
  readonly minSize: readonly [number, number];
  /** How the weights were trained (`recipe`). */
  readonly recipe: string;
  /** torchvision's note on the weights (`_docs`), one line. */
  readonly description: string;
}

/** One epoch of a training run, as `resnet train --json` records it (fractions, not percent). */
export interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAccuracy: number;
  readonly testLoss: number;
  readonly testAccuracy: number;
  /** Training throughput of the epoch (images per second, on the machine of the run). */
  readonly imagesPerSec: number;
}

/**
 * How weights that we trained and ship were made: the command, the code, the seed, the time, the
 * learning curves, and what converting them to float16 for shipping changed (measured once, when
 * the shipped file was generated from the float32 checkpoint by tools/weights/fashion-mnist.mjs).
 */
export interface TrainingProvenance {
  /** The `resnet train` command line, as run from a checkout of `commit`. */
  readonly command: string;
  /** The commit of this repository the training ran from. */
  readonly commit: string;
  readonly seed: number;
  /** The recipe in words: optimiser, schedule, augmentation, epochs, batch. */
  readonly recipe: string;
  readonly trainImages: number;
  readonly testImages: number;
  /** When and how the run went, including interruptions and machine load, in words. */
  readonly timeline: string;
  /** Training throughput on an idle machine (the last epoch's, images per second), and its setup. */
  readonly idleImagesPerSec: number;
  readonly idleSetup: string;
  /** Every epoch, from the checkpoint's own record. */
  readonly history: readonly EpochRecord[];
  /** The float32 checkpoint the shipped file was made from. */
  readonly float32: {
    readonly file: string;
    /** SHA-256 of that checkpoint file (model and optimiser state). */
    readonly sha256: string;
    /** Top-1 and top-5 accuracy (percent) on the test images, measured with @resnet/zoo. */
    readonly acc1: number;
    readonly acc5: number;
  };
  /** The shipped float16 safetensors file (embedded in @resnet/zoo). */
  readonly float16: {
    readonly sha256: string;
    readonly bytes: number;
    readonly acc1: number;
    readonly acc5: number;
    /** Test images whose top-1 class differs between float32 and float16. */
    readonly changedPredictions: number;
    /** Largest |logit difference| float16 − float32 over the test images. */
    readonly maxLogitDifference: number;
  };
  /** The tool and backend that measured the accuracies, and when. */
  readonly measured: string;
}

/** The architectures with pretrained weights: torchvision's, and resnet20 (our Fashion-MNIST weights). */
export type WeightsArch = TorchvisionArch | 'resnet20';
/** The names of the weight entries: torchvision's (`IMAGENET1K_V1`, `IMAGENET1K_V2`) and ours (`FASHION_MNIST`). */
export type WeightsName = TorchvisionWeightsName | 'FASHION_MNIST';

/**
 * One set of pretrained weights: where it is, how to check it, how to feed it, how good it is.
 * `source: 'torchvision'` entries are torchvision's checkpoints (downloaded from their official
 * URL); `source: 'resnet'` entries were trained by us with `resnet train` and ship inside
 * @resnet/zoo (no URL, no download; `provenance` says how they were made).
 */
export interface WeightsEntry {
  readonly arch: WeightsArch;
  readonly name: WeightsName;
  /** Who made the weights: torchvision, or this project (`resnet train`). */
  readonly source: 'torchvision' | 'resnet';
  /** torchvision's name, `ResNet50_Weights.IMAGENET1K_V2`; null for weights that are not torchvision's. */
  readonly torchvision: string | null;
  /** Whether `DEFAULT` means this entry (torchvision's choice for its weights). */
  readonly isDefault: boolean;
  /** The official URL (download.pytorch.org); null for weights shipped inside @resnet/zoo. */
  readonly url: string | null;
  /** The file name, as in torch's cache: `resnet50-11ad3fa6.pth` (for shipped weights, the embedded file's). */
  readonly fileName: string;
  /** The first hex digits of the file's SHA-256, carried in its name (torch.hub's check). */
  readonly sha256Prefix: string;
  /**
   * The eval transforms the checkpoint expects (torchvision's `weights.transforms()`): plain data
   * that @resnet/images' `preprocess` takes as it is.
   */
  readonly transforms: ImageTransforms;
  /** The label of each output index: `IMAGENET_CATEGORIES`. */
  readonly categories: readonly string[];
  readonly meta: WeightsMeta;
  /** How weights we trained were made; null for torchvision's (see its docs). */
  readonly provenance: TrainingProvenance | null;
}

/** A row of the generated torchvision data: an entry without its categories, source and provenance. */
export type WeightsRow = Omit<WeightsEntry, 'categories' | 'source' | 'provenance' | 'torchvision' | 'url'> & {
  readonly torchvision: string;
  readonly url: string;
};

/** The weights of one architecture: its entries by name and which one `DEFAULT` means. */
export interface ArchWeights {
  readonly default: WeightsName;
  readonly entries: Readonly<Partial<Record<WeightsName, WeightsEntry>>>;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** torchvision's 1000 ImageNet-1K class names, index = output index, in its order and spelling. */
export const IMAGENET_CATEGORIES: readonly string[] = deepFreeze(IMAGENET_CATEGORIES_TEXT.split('\n'));

/** Every weight entry, in zoo order (architecture, then name): torchvision's, then ours. */
const ENTRIES: readonly WeightsEntry[] = deepFreeze([
  ...TORCHVISION_WEIGHTS_DATA.map(
    (row): WeightsEntry => ({ ...row, source: 'torchvision', provenance: null, categories: IMAGENET_CATEGORIES }),
  ),
  ...SHIPPED_WEIGHTS_DATA,
]);

/**
 * The pretrained weights of every preset that has some, by architecture:
 * `WEIGHTS.resnet50.entries.IMAGENET1K_V2.url`, `WEIGHTS.resnet50.default === 'IMAGENET1K_V2'`.
 * torchvision's facts come from its release files (see `WEIGHTS_SOURCE`); `WEIGHTS.resnet20`
 * holds FASHION_MNIST, trained by us and shipped inside the package.
 */
export const WEIGHTS: Readonly<Record<WeightsArch, ArchWeights>> = deepFreeze(byArch(ENTRIES));

function byArch(entries: readonly WeightsEntry[]): Record<WeightsArch, ArchWeights> {
  const all: Partial<
    Record<WeightsArch, { default: WeightsName; entries: Partial<Record<WeightsName, WeightsEntry>> }>
  > = {};
  for (const e of entries) {
    const arch = all[e.arch] ?? { default: e.name, entries: {} };
    arch.entries[e.name] = e;
    if (e.isDefault) arch.default = e.name;
    all[e.arch] = arch;
  }
  return all as Record<WeightsArch, ArchWeights>;
}

/** Where the registry's facts come from (torchvision versions and files). */
export const WEIGHTS_SOURCE = TORCHVISION_SOURCE;

/** The architectures that have pretrained weights, in zoo order. */
export const WEIGHTS_ARCHS = Object.keys(WEIGHTS) as WeightsArch[];

/** Every weight entry, in zoo order. */
export function listWeights(): WeightsEntry[] {
  return [...ENTRIES];
}

/** The weight names of an architecture, `DEFAULT` last; [] for a preset without weights. */
export function weightsNames(arch: string): string[] {
  const w = (WEIGHTS as Record<string, ArchWeights | undefined>)[arch];
  return w ? [...Object.keys(w.entries), 'DEFAULT'] : [];
}

/**
 * A weight entry: `getWeights('resnet50')` is torchvision's `ResNet50_Weights.DEFAULT`
 * (IMAGENET1K_V2), `getWeights('resnet50', 'IMAGENET1K_V1')` the original one,
 * `getWeights('resnet20', 'FASHION_MNIST')` ours. Unknown names fail with the valid ones listed.
 */
export function getWeights(arch: string, name = 'DEFAULT'): WeightsEntry {
  const w = typeof arch === 'string' ? (WEIGHTS as Record<string, ArchWeights | undefined>)[arch] : undefined;
  if (!w) {
    throw new ArgumentError(
      'arch',
      `an architecture with pretrained weights (${WEIGHTS_ARCHS.join(', ')})`,
      arch,
      'The other presets (CIFAR, plain, Keras) have no published weights; train them or load your own file',
    );
  }
  const resolved = name === 'DEFAULT' ? w.default : name;
  const entry = typeof resolved === 'string' ? w.entries[resolved as WeightsName] : undefined;
  if (!entry) throw new ArgumentError('weights', `one of ${weightsNames(arch).join(', ')} for ${arch}`, name);
  return entry;
}
