import { FormatError } from '@resnet/core';
import jpeg from 'jpeg-js';
import { type RgbImage, rgbImage } from './rgb-image.js';

/**
 * A JPEG file → RGB with the pure-JS `jpeg-js` decoder (baseline and progressive; grey, YCbCr,
 * Adobe RGB and CMYK). PIL decodes with libjpeg-turbo, whose integer IDCT and "fancy" (smoothed)
 * chroma upsampling differ from jpeg-js's: expect a few levels of difference at sharp colour edges
 * (the package's README lists the figures measured on real photos). EXIF orientation is ignored,
 * as PIL ignores it. A damaged or truncated file is refused, as PIL refuses it.
 */
export function decodeJpeg(bytes: Uint8Array, maxPixels: number): RgbImage {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6,
      maxMemoryUsageInMB: Math.max(512, Math.ceil((maxPixels * 8) / 2 ** 20)),
    });
  } catch (e) {
    throw new FormatError(`cannot decode the JPEG: ${(e as Error).message}`);
  }
  return rgbImage(image.width, image.height, image.data);
}
