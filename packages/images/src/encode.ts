import { ArgumentError } from '@resnet/core';
import { encode } from 'fast-png';
import type { PixelArray } from './pixels.js';

/**
 * Encodes 8-bit pixels as a PNG file (grey, grey + alpha, RGB or RGBA, as `channels` says or the
 * data's length implies): lossless, so `decodeImage` gives the pixels back exactly (and PIL
 * reads the same values). For writing image folders, crops and figures.
 */
export function encodePng(pixels: PixelArray): Uint8Array {
  const { width, height, data } = (pixels ?? {}) as Partial<PixelArray>;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || (width as number) < 1 || (height as number) < 1)
    throw new ArgumentError('pixels.width/height', 'positive integers', [width, height]);
  const n = (width as number) * (height as number);
  const channels = pixels.channels ?? (data ? data.length / n : Number.NaN);
  if (
    !(data instanceof Uint8Array || data instanceof Uint8ClampedArray) ||
    ![1, 2, 3, 4].includes(channels) ||
    data.length !== n * channels
  )
    throw new ArgumentError(
      'pixels.data',
      `a Uint8Array of ${n} pixels × 1, 2, 3 or 4 channels (${width}×${height})`,
      data,
      'Pass { width, height, data, channels } with 8-bit samples',
    );
  return encode({ width: width as number, height: height as number, data: Uint8Array.from(data), channels, depth: 8 });
}
