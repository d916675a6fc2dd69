import { ArgumentError } from '@resnet/core';
import { checkRgbImage, checkSize, type RgbImage, rgbImage } from './rgb-image.js';

/**
 * PIL's antialiased bilinear resampling of 8-bit images (Pillow 9.4, `libImaging/Resample.c`),
 * reproduced operation for operation so that the result is PIL's to the last bit: a triangle
 * filter widened by the scale factor when shrinking, weights normalised in double precision and
 * then rounded to 22-bit fixed point, sums in integers with the same rounding and clipping, a
 * horizontal pass followed by a vertical one, each skipped when that side keeps its size.
 */

/** Fixed-point fraction bits of the 8-bit resampler's weights (32 − 8 − 2 in PIL). */
const PRECISION_BITS = 22;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** For each output position: the first input index, how many inputs and their fixed-point weights. */
interface Weights {
  first: Int32Array;
  count: Int32Array;
  /** `size` weights per output position. */
  weights: Int32Array;
  size: number;
}

function triangle(x: number): number {
  const a = x < 0 ? -x : x;
  return a < 1 ? 1 - a : 0;
}

/** PIL's `precompute_coeffs` + `normalize_coeffs_8bpc` for the bilinear filter (support 1). */
function bilinearWeights(inSize: number, outSize: number): Weights {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale;
  const size = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * size);
  const k = new Float64Array(size);
  const inverse = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let total = 0;
    for (let x = 0; x < xmax; x++) {
      const w = triangle((x + xmin - center + 0.5) * inverse);
      k[x] = w;
      total += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = total !== 0 ? (k[x] as number) / total : (k[x] as number);
      weights[xx * size + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    first[xx] = xmin;
    count[xx] = xmax;
  }
  return { first, count, weights, size };
}

/** The rounded fixed-point sum back to 8 bits, clipped as PIL's `clip8`. */
function clip8(sum: number): number {
  return Math.min(Math.max(sum >> PRECISION_BITS, 0), 255);
}

function horizontal(src: RgbImage, rowStart: number, rows: number, outWidth: number, w: Weights): RgbImage {
  const out = rgbImage(outWidth, rows);
  const { data } = src;
  const o = out.data;
  for (let y = 0; y < rows; y++) {
    const row = (y + rowStart) * src.width * 3;
    for (let xx = 0; xx < outWidth; xx++) {
      const start = row + (w.first[xx] as number) * 3;
      const n = w.count[xx] as number;
      const base = xx * w.size;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < n; x++) {
        const k = w.weights[base + x] as number;
        const i = start + x * 3;
        r += (data[i] as number) * k;
        g += (data[i + 1] as number) * k;
        b += (data[i + 2] as number) * k;
      }
      const j = (y * outWidth + xx) * 3;
      o[j] = clip8(r);
      o[j + 1] = clip8(g);
      o[j + 2] = clip8(b);
    }
  }
  return out;
}

function vertical(src: RgbImage, outHeight: number, w: Weights, rowShift: number): RgbImage {
  const out = rgbImage(src.width, outHeight);
  const { data } = src;
  const o = out.data;
  const stride = src.width * 3;
  for (let yy = 0; yy < outHeight; yy++) {
    const first = (w.first[yy] as number) - rowShift;
    const n = w.count[yy] as number;
    const base = yy * w.size;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      for (let y = 0; y < n; y++) s += (data[(first + y) * stride + i] as number) * (w.weights[base + y] as number);
      o[yy * stride + i] = clip8(s);
    }
  }
  return out;
}

/**
 * PIL's `Image.resize((width, height), Image.BILINEAR)` of an RGB image: bit-exact with Pillow 9.4
 * (checked against Debian's PIL on real photos, down- and upscaling). Returns `image` itself when
 * the size does not change, as PIL returns a copy and torchvision the image.
 */
export function resizeTo(image: RgbImage, height: number, width: number): RgbImage {
  checkRgbImage('image', image);
  for (const [name, v] of [
    ['height', height],
    ['width', width],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1 || v > 1 << 24)
      throw new ArgumentError(name, 'an integer from 1 to 16777216 (pixels)', v);
  }
  if (height === image.height && width === image.width) return image;
  const vw = bilinearWeights(image.height, height);
  let current = image;
  let shift = 0;
  if (width !== image.width) {
    // Only the rows that the vertical pass reads.
    const firstRow = vw.first[0] as number;
    const lastRow = (vw.first[height - 1] as number) + (vw.count[height - 1] as number);
    current = horizontal(image, firstRow, lastRow - firstRow, width, bilinearWeights(image.width, width));
    shift = firstRow;
  }
  if (height !== image.height) current = vertical(current, height, vw, shift);
  return current;
}

// #region notebook:resized-size
/**
 * torchvision's output size for `F.resize(img, size)`: a number sets the shorter side and the
 * longer one is `int(size * long / short)` (truncated, as torchvision does); a pair is [height, width].
 */
export function resizedSize(height: number, width: number, size: number | readonly [number, number]): [number, number] {
  if (typeof size !== 'number') return [size[0], size[1]];
  if (width <= height) return [Math.trunc((size * height) / width), size];
  return [size, Math.trunc((size * width) / height)];
}
// #endregion

/**
 * torchvision's `F.resize(img, size)` on a PIL image (bilinear, always antialiased): a number
 * resizes the shorter side to `size` keeping the aspect ratio; `[height, width]` resizes to exactly that.
 */
export function resize(image: RgbImage, size: number | readonly [number, number]): RgbImage {
  checkRgbImage('image', image);
  checkSize(
    size,
    'a positive integer (the shorter side) or [height, width]',
    'Use e.g. 256 as torchvision’s Resize(256) does',
  );
  const [h, w] = resizedSize(image.height, image.width, size);
  return resizeTo(image, h, w);
}
