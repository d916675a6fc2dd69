import { ArgumentError, type HostTensor } from '@resnet/core';
import { centerCrop } from './crop.js';
import {
  checkRange,
  type RandomSource,
  randomHorizontalFlip,
  randomResizedCropBox,
  resizedCrop,
} from './random-resized-crop.js';
import { greyscale } from './grey.js';
import { resize } from './resize.js';
import { checkRgbImage, type RgbImage } from './rgb-image.js';

/** ImageNet's channel means (RGB, on the 0–1 scale): torchvision's default. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet's channel standard deviations (RGB, on the 0–1 scale). */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/**
 * The eval transforms a set of weights expects, as plain data (torchvision's
 * `weights.transforms()`, an `ImageClassification`): resize the shorter side to `resizeSize`
 * (PIL's antialiased bilinear), centre-crop `cropSize` (an image smaller than the crop is padded
 * with zeros, as torchvision pads it), scale to 0–1, subtract `mean`, divide by `std`.
 *
 * `channels: 1` feeds a one-channel (grey) network: torchvision's `Grayscale()` first (PIL's
 * `convert('L')` of the RGB image), then the same steps, with one mean and one std; the tensors
 * are `[n, crop, crop, 1]`. Without `channels` (or with 3) the input is RGB.
 */
export interface ImageTransforms {
  resizeSize: number;
  cropSize: number;
  mean: readonly [number, number, number] | readonly [number];
  std: readonly [number, number, number] | readonly [number];
  interpolation: 'bilinear';
  /** Input channels of the network: 3 (RGB, the default) or 1 (grey, `Grayscale()` first). */
  channels?: 1 | 3;
}

/** The number of channels the transforms produce: `channels`, else 3. */
export function transformChannels(transforms: ImageTransforms): 1 | 3 {
  return transforms.channels ?? 3;
}

/**
 * torchvision's `ImageClassification(crop_size=..., resize_size=256, mean=..., std=...)` as data.
 * `imageClassification({ cropSize: 224 })` is IMAGENET1K_V1's; `{ cropSize: 224, resizeSize: 232 }`
 * is ResNet-50 IMAGENET1K_V2's.
 */
export function imageClassification(options: {
  cropSize: number;
  resizeSize?: number;
  mean?: readonly [number, number, number] | readonly [number];
  std?: readonly [number, number, number] | readonly [number];
  channels?: 1 | 3;
}): ImageTransforms {
  return checkImageTransforms('options', {
    resizeSize: 256,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    interpolation: 'bilinear',
    ...options,
  });
}

const KEYS = ['resizeSize', 'cropSize', 'mean', 'std', 'interpolation', 'channels'];

/** Checks an ImageTransforms value, naming the first bad field. */
export function checkImageTransforms(argument: string, value: unknown): ImageTransforms {
  if (typeof value !== 'object' || value === null) {
    throw new ArgumentError(
      argument,
      '{ resizeSize, cropSize, mean, std, interpolation }',
      value,
      'Use imageClassification({ cropSize: 224 }) or the transforms of a weights entry',
    );
  }
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!KEYS.includes(key))
      throw new ArgumentError(`${argument}.${key}`, `one of ${KEYS.join(', ')}`, key, 'Remove or rename the field');
  }
  for (const key of ['resizeSize', 'cropSize']) {
    const n = v[key];
    if (!Number.isSafeInteger(n) || (n as number) < 1 || (n as number) > 16384)
      throw new ArgumentError(`${argument}.${key}`, 'an integer from 1 to 16384 (pixels)', n);
  }
  if (v.channels !== undefined && v.channels !== 1 && v.channels !== 3)
    throw new ArgumentError(
      `${argument}.channels`,
      '1 (grey) or 3 (RGB, the default)',
      v.channels,
      'Leave it out for RGB networks',
    );
  const channels = (v.channels ?? 3) as 1 | 3;
  for (const key of ['mean', 'std']) {
    const a = v[key];
    if (
      !Array.isArray(a) ||
      a.length !== channels ||
      a.some((x) => typeof x !== 'number' || !Number.isFinite(x))
    ) {
      throw new ArgumentError(
        `${argument}.${key}`,
        channels === 3 ? 'three finite numbers (R, G, B on the 0–1 scale)' : 'one finite number (grey, on the 0–1 scale) for channels: 1',
        a,
        channels === 3 ? 'ImageNet’s are IMAGENET_MEAN and IMAGENET_STD' : 'Pass e.g. [0.286] for one channel',
      );
    }
    if (key === 'std' && a.some((x) => Math.fround(x) === 0))
      throw new ArgumentError(`${argument}.std`, 'non-zero standard deviations', a);
  }
  if (v.interpolation !== 'bilinear')
    throw new ArgumentError(
      `${argument}.interpolation`,
      "'bilinear' (the only interpolation the classification weights use)",
      v.interpolation,
    );
  return v as unknown as ImageTransforms;
}

/**
 * The 256 values torchvision's `ToTensor()` then `Normalize([mean], [std])` give the 8-bit levels
 * of one channel, in float32 with torch's rounding at each step: `((v / 255) − mean) / std`.
 */
export function normalizationTable(mean: number, std: number): Float32Array {
  for (const [name, x] of [
    ['mean', mean],
    ['std', std],
  ] as const) {
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ArgumentError(name, 'a finite number', x);
  }
  const m = Math.fround(mean);
  const s = Math.fround(std);
  if (s === 0) throw new ArgumentError('std', 'a non-zero standard deviation', std);
  return Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(Math.fround(v / 255) - m) / s));
}

// #region notebook:normalize
function checkTriple(argument: string, value: unknown): readonly [number, number, number] {
  if (!Array.isArray(value) || value.length !== 3 || value.some((x) => typeof x !== 'number' || !Number.isFinite(x)))
    throw new ArgumentError(argument, 'three finite numbers (R, G, B)', value);
  return value as unknown as [number, number, number];
}

/**
 * torchvision's `convert_image_dtype` (÷255) then `normalize(mean, std)`, in float32 with
 * torch's rounding at each step: `((x / 255) − mean) / std`. Returns HWC float32 values.
 */
export function normalize(
  image: RgbImage,
  mean: readonly [number, number, number] = IMAGENET_MEAN,
  std: readonly [number, number, number] = IMAGENET_STD,
): Float32Array {
  checkRgbImage('image', image);
  const m = checkTriple('mean', mean).map(Math.fround);
  const s = checkTriple('std', std).map(Math.fround);
  if (s.some((x) => x === 0)) throw new ArgumentError('std', 'non-zero standard deviations', std);
  // One table per channel: 256 possible inputs, each computed with float32 rounding as torch does.
  const tables = [0, 1, 2].map((c) =>
    Float32Array.from({ length: 256 }, (_, v) => {
      const scaled = Math.fround(v / 255);
      return Math.fround(Math.fround(scaled - (m[c] as number)) / (s[c] as number));
    }),
  ) as [Float32Array, Float32Array, Float32Array];
  const { data } = image;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i += 3) {
    out[i] = tables[0][data[i] as number] as number;
    out[i + 1] = tables[1][data[i + 1] as number] as number;
    out[i + 2] = tables[2][data[i + 2] as number] as number;
  }
  return out;
}
// #endregion

/**
 * The whole eval transform on an RGB image, host side: resize, centre crop, ÷255, normalise.
 * Returns a batch of one, NHWC float32 `[1, cropSize, cropSize, 3]` — torchvision's output
 * `weights.transforms()(img)` transposed from CHW — with no tfjs backend involved. With
 * `channels: 1` the image is first made grey (`Grayscale()`, PIL's `convert('L')`) and the result
 * is `[1, cropSize, cropSize, 1]`.
 */
export function applyTransforms(image: RgbImage, transforms: ImageTransforms): HostTensor {
  checkRgbImage('image', image);
  const t = checkImageTransforms('transforms', transforms);
  const size = t.cropSize;
  if (transformChannels(t) === 3) {
    const cropped = centerCrop(resize(image, t.resizeSize), size);
    const [mean, std] = [t.mean, t.std] as [readonly [number, number, number], readonly [number, number, number]];
    return { dtype: 'float32', shape: [1, size, size, 3], data: normalize(cropped, mean, std) };
  }
  const cropped = centerCrop(resize(greyscale(image), t.resizeSize), size);
  const table = normalizationTable(t.mean[0], t.std[0]);
  const data = new Float32Array(size * size);
  for (let i = 0; i < data.length; i++) data[i] = table[cropped.data[i * 3] as number] as number;
  return { dtype: 'float32', shape: [1, size, size, 1], data };
}

/** Stacks host batches of one into one batch (same height, width and channels). */
export function stackBatches(batches: readonly HostTensor[]): HostTensor {
  const first = batches[0];
  if (!first) throw new ArgumentError('images', 'at least one image', batches);
  const [, h, w, c] = first.shape as [number, number, number, number];
  const size = h * w * c;
  const data = new Float32Array(batches.length * size);
  for (const [i, b] of batches.entries()) data.set(b.data, i * size);
  return { dtype: 'float32', shape: [batches.length, h, w, c], data };
}

/**
 * The training transforms of torchvision's classification recipe (`ClassificationPresetTrain` of
 * its reference scripts, without the optional extras), as plain data: `RandomResizedCrop(cropSize,
 * scale, ratio)` with PIL's antialiased bilinear resize, `RandomHorizontalFlip(flipProbability)`,
 * ÷255, normalise. Plain data, so it can be sent to worker threads and stored in checkpoints.
 */
export interface TrainImageTransforms {
  cropSize: number;
  /** Range of the crop's area as a fraction of the image's. torchvision: [0.08, 1]. */
  scale: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height), drawn log-uniformly. torchvision: [3/4, 4/3]. */
  ratio: readonly [number, number];
  /** Probability of a horizontal flip. torchvision: 0.5. */
  flipProbability: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  interpolation: 'bilinear';
}

const TRAIN_KEYS = ['cropSize', 'scale', 'ratio', 'flipProbability', 'mean', 'std', 'interpolation'];

/** Checks a TrainImageTransforms value, naming the first bad field. */
export function checkTrainImageTransforms(argument: string, value: unknown): TrainImageTransforms {
  if (typeof value !== 'object' || value === null)
    throw new ArgumentError(
      argument,
      `{ ${TRAIN_KEYS.join(', ')} }`,
      value,
      'Use imageClassificationTrain({ cropSize: 224 })',
    );
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (!TRAIN_KEYS.includes(key))
      throw new ArgumentError(
        `${argument}.${key}`,
        `one of ${TRAIN_KEYS.join(', ')}`,
        key,
        'Remove or rename the field',
      );
  }
  // The eval checks cover cropSize, mean, std and interpolation.
  checkImageTransforms(argument, {
    resizeSize: 1,
    cropSize: v.cropSize,
    mean: v.mean,
    std: v.std,
    interpolation: v.interpolation,
  });
  checkRange(`${argument}.scale`, v.scale, 0, 1);
  checkRange(`${argument}.ratio`, v.ratio, Number.MIN_VALUE, Number.MAX_VALUE);
  const p = v.flipProbability;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw new ArgumentError(`${argument}.flipProbability`, 'a probability from 0 to 1', p);
  return v as unknown as TrainImageTransforms;
}

/**
 * torchvision's training transforms as data: `RandomResizedCrop(cropSize)` (scale [0.08, 1], ratio
 * [3/4, 4/3], bilinear), `RandomHorizontalFlip(0.5)`, ImageNet's mean and std unless given.
 */
export function imageClassificationTrain(options: {
  cropSize: number;
  scale?: readonly [number, number];
  ratio?: readonly [number, number];
  flipProbability?: number;
  mean?: readonly [number, number, number];
  std?: readonly [number, number, number];
}): TrainImageTransforms {
  return checkTrainImageTransforms('options', {
    scale: [0.08, 1],
    ratio: [3 / 4, 4 / 3],
    flipProbability: 0.5,
    mean: IMAGENET_MEAN,
    std: IMAGENET_STD,
    interpolation: 'bilinear',
    ...options,
  });
}

/** The eval resize for a crop size: timm's `floor(cropSize / 0.875)` (256 for 224, as torchvision's V1 weights; 36 for 32). */
export function evalResizeSize(cropSize: number, cropFraction = 0.875): number {
  if (!Number.isSafeInteger(cropSize) || cropSize < 1)
    throw new ArgumentError('cropSize', 'a positive integer (pixels)', cropSize);
  if (typeof cropFraction !== 'number' || !(cropFraction > 0 && cropFraction <= 1))
    throw new ArgumentError('cropFraction', 'a number in (0, 1]', cropFraction);
  return Math.floor(cropSize / cropFraction);
}

/**
 * The training transform on an RGB image: a `RandomResizedCrop` box drawn from `random`, the crop
 * resized (PIL's antialiased bilinear), flipped with `flipProbability` (one more draw), ÷255,
 * normalised. Returns HWC float32 values `[cropSize, cropSize, 3]`, as `applyTransforms` but
 * without the batch axis. torchvision's `RandomResizedCrop` then `RandomHorizontalFlip`, with our
 * generator in place of torch's.
 */
export function applyTrainTransforms(
  image: RgbImage,
  transforms: TrainImageTransforms,
  random: RandomSource,
): Float32Array {
  checkRgbImage('image', image);
  const t = checkTrainImageTransforms('transforms', transforms);
  const box = randomResizedCropBox(image.height, image.width, random, { scale: t.scale, ratio: t.ratio });
  const out = randomHorizontalFlip(resizedCrop(image, box, t.cropSize), t.flipProbability, random);
  return normalize(out, t.mean, t.std);
}
