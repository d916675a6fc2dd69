/**
 * @resnet/images/node: everything of the main entry, plus file paths. `readImage(path)` decodes a
 * PNG or JPEG file as `PIL.Image.open(path).convert('RGB')`; `toRGB`, `preprocess`,
 * `preprocessBatch` and `preprocessToHost` also accept a path.
 */
import { readFileSync } from 'node:fs';
import { ArgumentError } from '@resnet/core';
import { decodeImage } from './decode.js';
import { type ImageInput, preprocessors, toRGB as toRGBAnywhere } from './input.js';
import type { RgbImage } from './rgb-image.js';

export * from './index.js';

/** What the Node entry accepts: a file path, or anything the main entry accepts. */
export type NodeImageInput = string | ImageInput;

/** Reads and decodes a PNG or JPEG file (see decodeImage). */
export function readImage(path: string): RgbImage {
  if (typeof path !== 'string' || path === '') throw new ArgumentError('path', 'the path of a PNG or JPEG file', path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ArgumentError(
      'path',
      'a readable PNG or JPEG file',
      path,
      code === 'ENOENT' ? 'No such file; check the path' : `Cannot read it (${code ?? (e as Error).message})`,
    );
  }
  return decodeImage(bytes, path);
}

/** toRGB of the main entry, plus file paths. */
export async function toRGB(input: NodeImageInput, argument = 'image'): Promise<RgbImage> {
  return typeof input === 'string' ? readImage(input) : toRGBAnywhere(input, argument);
}

export const { preprocess, preprocessBatch, preprocessToHost } = preprocessors<NodeImageInput>(toRGB);
