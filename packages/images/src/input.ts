import { ArgumentError, type HostTensor } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import { type BrowserImageSource, isBrowserImageSource, pixelsFromBrowserSource } from './browser-sources.js';
import { decodeImage } from './decode.js';
import { type PixelArray, rgbFromPixels, rgbFromTensor } from './pixels.js';
import type { RgbImage } from './rgb-image.js';
import { type ImageTransforms, applyTransforms, checkImageTransforms, stackBatches } from './transforms.js';

/**
 * Everything `toRGB` and `preprocess` accept, anywhere: decoded pixels (`RgbImage`, `PixelArray`,
 * `ImageData`), a `tf.Tensor3D` `[h, w, c]` of 0–255 values (int32 or float32), the bytes of a PNG
 * or JPEG file (`Uint8Array`, `ArrayBuffer`, `Blob`/`File`), and in browsers image, canvas, video
 * elements and `ImageBitmap`s. `@resnet/images/node` adds file paths.
 */
export type ImageInput = RgbImage | PixelArray | tf.Tensor | Uint8Array | ArrayBuffer | Blob | BrowserImageSource;

const INPUT_FIX =
  'Pass decoded pixels { width, height, data }, a tf.Tensor3D [h, w, c], PNG/JPEG bytes, or (in a browser) an image, canvas, video or ImageBitmap; in Node, a path with @resnet/images/node';

function isTensor(value: unknown): value is tf.Tensor {
  if (value instanceof tf.Tensor) return true;
  const v = value as { dataSync?: unknown; shape?: unknown; dtype?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.dataSync === 'function' && Array.isArray(v.shape);
}

/**
 * Any supported input → an RGB image as `PIL.Image.open(...).convert('RGB')` would hold it:
 * grey replicated, alpha dropped without compositing, palettes looked up, EXIF orientation ignored
 * (for files; browser elements come as the browser shows them).
 */
export async function toRGB(input: ImageInput, argument = 'image'): Promise<RgbImage> {
  if (input instanceof Uint8Array) return decodeImage(input, argument);
  if (input instanceof ArrayBuffer) return decodeImage(new Uint8Array(input), argument);
  if (typeof Blob === 'function' && input instanceof Blob)
    return decodeImage(new Uint8Array(await input.arrayBuffer()), (input as File).name || argument);
  if (isTensor(input)) return rgbFromTensor(input, argument);
  if (isBrowserImageSource(input)) return rgbFromPixels(await pixelsFromBrowserSource(input, argument), argument);
  if (typeof input === 'object' && input !== null && 'data' in input && 'width' in input) {
    const p = input as PixelArray;
    if (p.data instanceof Uint8Array && p.channels === undefined && p.data.length === p.width * p.height * 3)
      return { width: p.width, height: p.height, data: p.data };
    return rgbFromPixels(p, argument);
  }
  throw new ArgumentError(argument, 'an image', input, INPUT_FIX);
}

/** The eval-transform functions over an input reader (the main entry's toRGB, or Node's with paths). */
export function preprocessors<I>(read: (input: I, argument: string) => Promise<RgbImage>) {
  /** torchvision's `weights.transforms()(img)` as a host tensor `[1, crop, crop, 3]` (no tfjs backend needed). */
  async function preprocessToHost(image: I, transforms: ImageTransforms): Promise<HostTensor> {
    checkImageTransforms('transforms', transforms);
    return applyTransforms(await read(image, 'image'), transforms);
  }
  /** torchvision's `weights.transforms()(img).unsqueeze(0)` as an NHWC float32 tensor `[1, crop, crop, 3]`. */
  async function preprocess(image: I, transforms: ImageTransforms): Promise<tf.Tensor4D> {
    const host = await preprocessToHost(image, transforms);
    return tf.tensor4d(host.data, host.shape as [number, number, number, number], 'float32');
  }
  /** Several images, each transformed, stacked into one NHWC batch `[n, crop, crop, 3]`. */
  async function preprocessBatch(images: readonly I[], transforms: ImageTransforms): Promise<tf.Tensor4D> {
    if (!Array.isArray(images) || images.length === 0)
      throw new ArgumentError('images', 'a non-empty array of images', images, 'Pass [image1, image2, ...]');
    checkImageTransforms('transforms', transforms);
    const hosts: HostTensor[] = [];
    for (let i = 0; i < images.length; i++)
      hosts.push(applyTransforms(await read(images[i] as I, `images[${i}]`), transforms));
    const host = stackBatches(hosts);
    return tf.tensor4d(host.data, host.shape as [number, number, number, number], 'float32');
  }
  return { preprocess, preprocessBatch, preprocessToHost };
}
