import { ArgumentError } from '@resnet/core';
import type { ImageTransforms } from '@resnet/images';
import {
  IMAGENET_CATEGORIES_TEXT,
  TORCHVISION_SOURCE,
  TORCHVISION_WEIGHTS_DATA,
  type TorchvisionArch,
  type TorchvisionWeightsName,
} from './torchvision-data.js';

export type { ImageTransforms };

/** What torchvision publishes about a checkpoint (its `meta`), under our names. */
export interface WeightsMeta {
  /** The data set the metrics are measured on. */
  readonly dataset: 'ImageNet-1K';
  /** Top-1 accuracy on the ImageNet-1K validation set, in percent (`acc@1`). */
  readonly acc1: number;
  /** Top-5 accuracy, in percent (`acc@5`). */
  readonly acc5: number;
  /** Parameters of the model (`num_params`). */
  readonly numParams: number;
  /** Giga floating-point operations of one 224×224 image as torchvision counts them (`_ops`). */
  readonly gflops: number;
  /** Size of the .pth file in MB of 2^20 bytes (`_file_size`). */
  readonly fileSizeMB: number;
  /** Smallest input [height, width] (`min_size`). */
  readonly minSize: readonly [number, number];
  /** How the weights were trained (`recipe`). */
  readonly recipe: string;
  /** torchvision's note on the weights (`_docs`), one line. */
  readonly description: string;
}

/** The architectures with torchvision weights. */
export type WeightsArch = TorchvisionArch;
/** The names of torchvision's weight entries (`IMAGENET1K_V1`, `IMAGENET1K_V2`). */
export type WeightsName = TorchvisionWeightsName;

/** One of torchvision's checkpoints: where it is, how to check it, how to feed it, how good it is. */
export interface WeightsEntry {
  readonly arch: WeightsArch;
  readonly name: WeightsName;
  /** torchvision's name, `ResNet50_Weights.IMAGENET1K_V2`. */
  readonly torchvision: string;
  /** Whether torchvision's `DEFAULT` is this entry. */
  readonly isDefault: boolean;
  /** The official URL (download.pytorch.org). */
  readonly url: string;
  /** The file name, as in torch's cache: `resnet50-11ad3fa6.pth`. */
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
}

/** A row of the generated data: an entry without its categories. */
export type WeightsRow = Omit<WeightsEntry, 'categories'>;

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

/** Every weight entry, in zoo order (architecture, then name). */
const ENTRIES: readonly WeightsEntry[] = deepFreeze(
  TORCHVISION_WEIGHTS_DATA.map((row): WeightsEntry => ({ ...row, categories: IMAGENET_CATEGORIES })),
);

/**
 * torchvision's pretrained weights for every preset with a torchvision twin, by architecture:
 * `WEIGHTS.resnet50.entries.IMAGENET1K_V2.url`, `WEIGHTS.resnet50.default === 'IMAGENET1K_V2'`.
 * Facts from torchvision's release files (see `WEIGHTS_SOURCE`).
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

/** The architectures that have torchvision weights, in zoo order. */
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
 * (IMAGENET1K_V2), `getWeights('resnet50', 'IMAGENET1K_V1')` the original one. Unknown names fail
 * with the valid ones listed.
 */
export function getWeights(arch: string, name = 'DEFAULT'): WeightsEntry {
  const w = typeof arch === 'string' ? (WEIGHTS as Record<string, ArchWeights | undefined>)[arch] : undefined;
  if (!w) {
    throw new ArgumentError(
      'arch',
      `an architecture with torchvision weights (${WEIGHTS_ARCHS.join(', ')})`,
      arch,
      'The other presets (CIFAR, plain, Keras) have no published weights; train them or load your own file',
    );
  }
  const resolved = name === 'DEFAULT' ? w.default : name;
  const entry = typeof resolved === 'string' ? w.entries[resolved as WeightsName] : undefined;
  if (!entry) throw new ArgumentError('weights', `one of ${weightsNames(arch).join(', ')} for ${arch}`, name);
  return entry;
}
