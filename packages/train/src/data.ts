import { ArgumentError, positiveInt } from '@resnet/core';
import type { Rng } from './rng.js';

/** Images in memory: NHWC float32 values and int32 labels. */
export interface ImageDataset {
  /** `length · height · width · channels` values, image after image (NHWC). */
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly length: number;
  /** [height, width, channels]. */
  readonly imageShape: readonly [number, number, number];
  readonly numClasses: number;
  /** The value padding takes in random crops (the normalised value of a black pixel). Default 0. */
  readonly fill: number;
}

export interface InMemoryDatasetInit {
  images: Float32Array;
  labels: Int32Array;
  imageShape: readonly [number, number, number];
  numClasses: number;
  fill?: number;
}

/** Checks and wraps users' own arrays as a dataset (no copy). */
export function inMemoryDataset(init: InMemoryDatasetInit): ImageDataset {
  if (init === null || typeof init !== 'object')
    throw new ArgumentError('init', 'an object { images, labels, imageShape, numClasses }', init);
  const { images, labels, imageShape, numClasses } = init;
  if (!(images instanceof Float32Array)) {
    throw new ArgumentError('images', 'a Float32Array of NHWC values', images, 'convert with Float32Array.from(...)');
  }
  if (!(labels instanceof Int32Array)) {
    throw new ArgumentError('labels', 'an Int32Array of class indices', labels, 'convert with Int32Array.from(...)');
  }
  if (!Array.isArray(imageShape) || imageShape.length !== 3) {
    throw new ArgumentError('imageShape', '[height, width, channels]', imageShape);
  }
  imageShape.forEach((d, i) => {
    positiveInt(`imageShape[${i}]`, d);
  });
  positiveInt('numClasses', numClasses);
  if (labels.length === 0)
    throw new ArgumentError('labels', 'at least one example', 'an empty dataset', 'a dataset needs images to train on');
  const size = imageShape[0] * imageShape[1] * imageShape[2];
  if (images.length !== labels.length * size) {
    throw new ArgumentError(
      'images',
      `${labels.length} images of [${imageShape.join(', ')}] (${labels.length * size} values, one image per label)`,
      `${images.length} values`,
      'images and labels must describe the same examples',
    );
  }
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (v < 0 || v >= numClasses) throw new ArgumentError(`labels[${i}]`, `a class index in [0, ${numClasses - 1}]`, v);
  }
  const fill = init.fill ?? 0;
  if (!Number.isFinite(fill)) throw new ArgumentError('fill', 'a finite number', fill);
  return {
    images,
    labels,
    length: labels.length,
    imageShape: [imageShape[0], imageShape[1], imageShape[2]],
    numClasses,
    fill,
  };
}

/** The examples [start, end) of a dataset (a view, no copy). */
export function sliceDataset(dataset: ImageDataset, start: number, end: number): ImageDataset {
  const size = dataset.imageShape[0] * dataset.imageShape[1] * dataset.imageShape[2];
  const s = Math.max(0, Math.min(start, dataset.length));
  const e = Math.max(s, Math.min(end, dataset.length));
  if (e === s)
    throw new ArgumentError(
      'end',
      `an index above start (${start}) within the dataset (${dataset.length} examples)`,
      end,
      'a dataset needs images',
    );
  return {
    ...dataset,
    images: dataset.images.subarray(s * size, e * size),
    labels: dataset.labels.subarray(s, e),
    length: e - s,
  };
}

export interface Augmentation {
  /** Random crop after zero-padding (with `fill`) by this many pixels on each side. Default 0 (none). */
  padCrop?: number;
  /** Random horizontal flip with probability 0.5. Default false. */
  flip?: boolean;
}

/** One batch: NHWC values and labels. */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  /** [batch, height, width, channels]. */
  shape: [number, number, number, number];
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffles with this generator (seeded: the same order each run). Without it, in order. */
  rng?: Rng;
  augment?: Augmentation;
  /** Drops a last partial batch. Default false. */
  dropLast?: boolean;
}

/** Number of batches `batches` yields. */
export function batchCount(dataset: ImageDataset, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(dataset.length / batchSize) : Math.ceil(dataset.length / batchSize);
}

/**
 * Batches of a dataset: shuffled by `rng` when given, augmented (random crop, flip; drawn from
 * `rng`). Every random number is drawn up front, when the generator starts, so the generator's
 * state after creating the iterator is that of the end of the epoch.
 */
export function* batches(dataset: ImageDataset, options: BatchOptions): Generator<Batch> {
  const batchSize = positiveInt('options.batchSize', options.batchSize);
  const { rng, augment = {}, dropLast = false } = options;
  const pad = augment.padCrop ?? 0;
  if (!Number.isInteger(pad) || pad < 0) throw new ArgumentError('augment.padCrop', 'an integer >= 0', pad);
  if ((pad > 0 || augment.flip) && !rng)
    throw new ArgumentError('options.rng', 'a generator for the random augmentation', rng);
  const n = dataset.length;
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (rng) rng.shuffle(order);
  const offsets = new Int32Array(n * 3);
  for (let i = 0; i < n; i++) {
    if (pad > 0 && rng) {
      offsets[3 * i] = rng.int(2 * pad + 1) - pad;
      offsets[3 * i + 1] = rng.int(2 * pad + 1) - pad;
    }
    if (augment.flip && rng) offsets[3 * i + 2] = rng.next() < 0.5 ? 1 : 0;
  }
  const [h, w, c] = dataset.imageShape;
  const size = h * w * c;
  const count = batchCount(dataset, batchSize, dropLast);
  for (let b = 0; b < count; b++) {
    const start = b * batchSize;
    const m = Math.min(batchSize, n - start);
    const images = new Float32Array(m * size);
    const labels = new Int32Array(m);
    for (let j = 0; j < m; j++) {
      const k = start + j;
      const src = order[k] as number;
      labels[j] = dataset.labels[src] as number;
      const dy = offsets[3 * k] as number;
      const dx = offsets[3 * k + 1] as number;
      const flip = offsets[3 * k + 2] === 1;
      const inBase = src * size;
      const outBase = j * size;
      if (dy === 0 && dx === 0 && !flip) {
        images.set(dataset.images.subarray(inBase, inBase + size), outBase);
        continue;
      }
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        for (let x = 0; x < w; x++) {
          const sx = (flip ? w - 1 - x : x) + dx;
          const o = outBase + (y * w + x) * c;
          if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
            for (let ch = 0; ch < c; ch++) images[o + ch] = dataset.fill;
          } else {
            const i = inBase + (sy * w + sx) * c;
            for (let ch = 0; ch < c; ch++) images[o + ch] = dataset.images[i + ch] as number;
          }
        }
      }
    }
    yield { images, labels, shape: [m, h, w, c] };
  }
}
