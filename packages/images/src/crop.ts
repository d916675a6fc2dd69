import { ArgumentError } from '@resnet/core';
import { checkRgbImage, checkSize, type RgbImage, rgbImage } from './rgb-image.js';

/**
 * PIL's `Image.crop((left, top, left + width, top + height))`: the box may reach outside the
 * image, where the result is black (zero), as PIL's is.
 */
export function crop(image: RgbImage, top: number, left: number, height: number, width: number): RgbImage {
  checkRgbImage('image', image);
  for (const [name, v, min] of [
    ['top', top, Number.MIN_SAFE_INTEGER],
    ['left', left, Number.MIN_SAFE_INTEGER],
    ['height', height, 1],
    ['width', width, 1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min)
      throw new ArgumentError(name, min === 1 ? 'a positive integer (pixels)' : 'an integer (pixels)', v);
  }
  const out = rgbImage(width, height);
  const x0 = Math.max(0, left);
  const x1 = Math.min(image.width, left + width);
  if (x1 <= x0) return out;
  for (let y = Math.max(0, top); y < Math.min(image.height, top + height); y++) {
    const from = (y * image.width + x0) * 3;
    out.data.set(image.data.subarray(from, from + (x1 - x0) * 3), ((y - top) * width + (x0 - left)) * 3);
  }
  return out;
}

// #region notebook:center-crop-box
/** Python's `round` of a half-integer or integer `n / 2`: halves go to the even neighbour. */
function roundHalfEven(n: number): number {
  const half = n / 2;
  if (Number.isInteger(half)) return half;
  const down = Math.floor(half);
  return down % 2 === 0 ? down : down + 1;
}

/**
 * Where torchvision's `F.center_crop` takes a `cropHeight`×`cropWidth` box from an image of the
 * given size, in the image's coordinates. A side longer than the crop starts at
 * `round((side − crop) / 2)` (Python's round: halves to even, so 257 → 224 starts at 16 and 259 →
 * 224 at 18); a shorter side is first padded with zeros, `(crop − side) // 2` before and the rest
 * after, so the box starts at minus that padding.
 */
export function centerCropBox(
  height: number,
  width: number,
  cropHeight: number,
  cropWidth: number,
): { top: number; left: number } {
  const start = (side: number, size: number) =>
    size > side ? -Math.floor((size - side) / 2) : roundHalfEven(side - size);
  return { top: start(height, cropHeight), left: start(width, cropWidth) };
}
// #endregion

/**
 * torchvision's `F.center_crop(img, size)`: a number is a square crop, `[height, width]` a
 * rectangle; an image smaller than the crop is padded with zeros as torchvision pads it.
 */
export function centerCrop(image: RgbImage, size: number | readonly [number, number]): RgbImage {
  checkRgbImage('image', image);
  const [h, w] = checkSize(size, 'a positive integer or [height, width]', 'Use e.g. 224 as CenterCrop(224) does');
  if (h === image.height && w === image.width) return image;
  const { top, left } = centerCropBox(image.height, image.width, h, w);
  return crop(image, top, left, h, w);
}
