import { ArgumentError } from '@resnet/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type RgbImage, rgbImage } from './rgb-image.js';

/**
 * Decoded 8-bit pixels in host memory, rows top to bottom, channels interleaved: 1 = grey (L),
 * 2 = grey + alpha (LA), 3 = RGB, 4 = RGBA. `channels` may be left out when
 * `data.length / (width * height)` says it (an ImageData is one of these, with 4 channels).
 */
export interface PixelArray {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray | ArrayLike<number>;
  channels?: 1 | 2 | 3 | 4;
}

const PIXELS_FIX =
  'Pass { width, height, data, channels } with width*height*channels values from 0 to 255 (1 = grey, 2 = grey+alpha, 3 = RGB, 4 = RGBA)';

/**
 * RGB from decoded pixels as PIL's `convert('RGB')` makes it from modes L, LA, RGB and RGBA:
 * grey is replicated, alpha is dropped (no compositing).
 */
export function rgbFromPixels(pixels: PixelArray, argument = 'image'): RgbImage {
  const { width, height, data } = (pixels ?? {}) as Partial<PixelArray>;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || (width as number) < 1 || (height as number) < 1)
    throw new ArgumentError(`${argument}.width/height`, 'positive integers', [width, height], PIXELS_FIX);
  const n = (width as number) * (height as number);
  if (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number')
    throw new ArgumentError(`${argument}.data`, 'an array of pixel values', data, PIXELS_FIX);
  const channels = pixels.channels ?? data.length / n;
  if (![1, 2, 3, 4].includes(channels) || data.length !== n * channels) {
    throw new ArgumentError(
      `${argument}.data`,
      `${n} pixels × ${pixels.channels ?? '1, 2, 3 or 4'} channels (${width}×${height})`,
      `${data.length} values`,
      PIXELS_FIX,
    );
  }
  const integral = data instanceof Uint8Array || data instanceof Uint8ClampedArray;
  const out = rgbImage(width as number, height as number);
  const o = out.data;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const v = data[i * channels + (channels < 3 ? 0 : c)] as number;
      if (!integral && !(Number.isInteger(v) && v >= 0 && v <= 255)) {
        throw new ArgumentError(
          `${argument}.data[${i * channels + (channels < 3 ? 0 : c)}]`,
          'an integer from 0 to 255',
          v,
          'Pass 8-bit values; multiply values on the 0–1 scale by 255 and round them first',
        );
      }
      o[i * 3 + c] = v;
    }
  }
  return out;
}

/**
 * RGB from a `tf.Tensor3D` `[height, width, channels]` of values 0–255 (int32 or float32 holding
 * integers; channels 1, 2, 3 or 4 as in PixelArray): `tf.browser.fromPixels` gives such a tensor.
 * The tensor is read, not disposed.
 */
export function rgbFromTensor(tensor: tf.Tensor, argument = 'image'): RgbImage {
  if (tensor.rank !== 3 || ![1, 2, 3, 4].includes(tensor.shape[2] as number)) {
    throw new ArgumentError(
      argument,
      'a tf.Tensor3D [height, width, channels] with 1–4 channels (NHWC without the batch)',
      tensor,
      'Take one image of a batch with tensor.squeeze([0]) or tf.unstack',
    );
  }
  if (tensor.dtype !== 'int32' && tensor.dtype !== 'float32')
    throw new ArgumentError(`${argument}.dtype`, "'int32' or 'float32' with values 0–255", tensor.dtype);
  const [height, width, channels] = tensor.shape as [number, number, 1 | 2 | 3 | 4];
  return rgbFromPixels({ width, height, channels, data: tensor.dataSync() as Float32Array | Int32Array }, argument);
}
