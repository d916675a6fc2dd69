import { ArgumentError } from '@resnet/core';
import { crop } from './crop.js';
import { resizeTo } from './resize.js';
import { checkRgbImage, type RgbImage, rgbImage } from './rgb-image.js';

/**
 * torchvision's training-time crops: `RandomResizedCrop` (the "Inception crop": a random box of
 * 8–100 % of the image's area and an aspect ratio between 3/4 and 4/3, resized to a square) and
 * `RandomHorizontalFlip`. The random numbers come from a generator you pass (`() => number` in
 * [0, 1)), so a seeded generator gives the same crops on every run and in every worker.
 */

/** A crop box in an image's pixel coordinates, as torchvision's `get_params` returns `(i, j, h, w)`. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/** A source of uniform random numbers in [0, 1). */
export type RandomSource = () => number;

// #region notebook:random-resized-crop
/** Python's `round` (halves to the even neighbour), as `int(round(x))` in torchvision. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 ? 2 * Math.round(x / 2) : r;
}

/** Checks a `[min, max]` range argument within [lo, hi]. */
export function checkRange(argument: string, value: unknown, lo: number, hi: number): readonly [number, number] {
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    value.some((x) => typeof x !== 'number' || !Number.isFinite(x) || x < lo || x > hi) ||
    (value[0] as number) > (value[1] as number) ||
    (value[1] as number) <= 0
  ) {
    const bounds = lo === 0 ? `0 ≤ min ≤ max ≤ ${hi}, max > 0` : '0 < min ≤ max';
    throw new ArgumentError(argument, `[min, max] with ${bounds}`, value);
  }
  return value as unknown as readonly [number, number];
}

function nextRandom(random: RandomSource): number {
  const u = random();
  if (typeof u !== 'number' || !(u >= 0 && u < 1))
    throw new ArgumentError('random', 'a function returning numbers in [0, 1)', u, 'Pass e.g. () => rng.next()');
  return u;
}

/**
 * The box `RandomResizedCrop` falls back to when ten draws found no box that fits: the largest
 * centred box whose aspect ratio is clamped into `ratio` (the whole image when its own ratio is
 * inside). Exactly torchvision 0.14's fallback, rounding included.
 */
export function randomResizedCropFallback(
  height: number,
  width: number,
  ratio: readonly [number, number] = [3 / 4, 4 / 3],
): CropBox {
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < Math.min(...ratio)) h = roundHalfEven(w / Math.min(...ratio));
  else if (inRatio > Math.max(...ratio)) w = roundHalfEven(h * Math.max(...ratio));
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * torchvision's `RandomResizedCrop.get_params(img, scale, ratio)` for an image of
 * `height`×`width`: up to ten tries of an area fraction uniform in `scale` and a log-uniform
 * aspect ratio in `ratio`; the first box that fits is placed uniformly at random; if none fits,
 * `randomResizedCropFallback`. The draws are made in torchvision's order (area, ratio, then top
 * and left of the accepted box) from `random`.
 */
export function randomResizedCropBox(
  height: number,
  width: number,
  random: RandomSource,
  options: { scale?: readonly [number, number]; ratio?: readonly [number, number] } = {},
): CropBox {
  for (const [name, v] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentError(name, 'a positive integer (pixels)', v);
  }
  if (typeof random !== 'function')
    throw new ArgumentError('random', 'a function returning numbers in [0, 1)', random, 'Pass e.g. () => rng.next()');
  const scale = checkRange('options.scale', options.scale ?? [0.08, 1], 0, 1);
  const ratio = checkRange('options.ratio', options.ratio ?? [3 / 4, 4 / 3], Number.MIN_VALUE, Number.MAX_VALUE);
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * nextRandom(random));
    const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * nextRandom(random));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(nextRandom(random) * (height - h + 1));
      const left = Math.floor(nextRandom(random) * (width - w + 1));
      return { top, left, height: h, width: w };
    }
  }
  return randomResizedCropFallback(height, width, ratio);
}

// #endregion

/**
 * torchvision's `F.resized_crop(img, top, left, height, width, [size, size])` on a PIL image:
 * PIL's crop, then PIL's antialiased bilinear resize of the crop to `size`×`size` (or
 * `[height, width]`).
 */
export function resizedCrop(image: RgbImage, box: CropBox, size: number | readonly [number, number]): RgbImage {
  checkRgbImage('image', image);
  if (typeof box !== 'object' || box === null)
    throw new ArgumentError('box', '{ top, left, height, width }', box, 'Use randomResizedCropBox(...)');
  const [h, w] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  return resizeTo(crop(image, box.top, box.left, box.height, box.width), h, w);
}

/** PIL's `transpose(FLIP_LEFT_RIGHT)`: torchvision's `F.hflip`. */
export function horizontalFlip(image: RgbImage): RgbImage {
  checkRgbImage('image', image);
  const { width, height, data } = image;
  const out = rgbImage(width, height);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const from = row + (width - 1 - x) * 3;
      const to = row + x * 3;
      out.data[to] = data[from] as number;
      out.data[to + 1] = data[from + 1] as number;
      out.data[to + 2] = data[from + 2] as number;
    }
  }
  return out;
}

/** torchvision's `RandomHorizontalFlip(p)`: one draw from `random`; flipped when it is below `probability`. */
export function randomHorizontalFlip(image: RgbImage, probability: number, random: RandomSource): RgbImage {
  if (typeof probability !== 'number' || !(probability >= 0 && probability <= 1))
    throw new ArgumentError('probability', 'a probability from 0 to 1', probability);
  return nextRandom(random) < probability ? horizontalFlip(image) : image;
}
