import { ArgumentError, FormatError } from '@resnet/core';
import { decodeJpeg } from './jpeg.js';
import { decodePng } from './png.js';
import type { RgbImage } from './rgb-image.js';

/**
 * Largest image decoded, in pixels: PIL's limit (`Image.MAX_IMAGE_PIXELS` × 2, where PIL raises
 * DecompressionBombError), so that a small file cannot claim gigabytes.
 */
export const MAX_IMAGE_PIXELS = 2 * 89_478_485;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format of encoded image bytes, from their first bytes. */
export function sniffFormat(bytes: Uint8Array): 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp' | 'unknown' {
  const starts = (sig: number[], at = 0) => sig.every((b, i) => bytes[at + i] === b);
  if (starts(PNG_SIGNATURE)) return 'png';
  if (starts([0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts([0x47, 0x49, 0x46, 0x38])) return 'gif';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  if (starts([0x42, 0x4d])) return 'bmp';
  return 'unknown';
}

/**
 * Decodes a PNG or JPEG file's bytes to RGB as `PIL.Image.open(f).convert('RGB')` does (PNG:
 * identical; JPEG: another decoder, see decodeJpeg), in pure JavaScript: Node, browsers, workers.
 * `name` appears in errors (a path or a URL).
 */
export function decodeImage(bytes: Uint8Array, name = 'image'): RgbImage {
  if (!(bytes instanceof Uint8Array))
    throw new ArgumentError('bytes', 'the encoded file as a Uint8Array (or Buffer)', bytes);
  const format = sniffFormat(bytes);
  try {
    if (format === 'png') {
      // Refuse a decompression bomb before inflating: IHDR's width and height come first.
      if (bytes.length >= 24) {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        checkPixels(view.getUint32(16), view.getUint32(20));
      }
      const image = decodePng(bytes);
      checkPixels(image.width, image.height);
      return image;
    }
    if (format === 'jpeg') return decodeJpeg(bytes, MAX_IMAGE_PIXELS);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${name}: ${e.message}`);
    throw e;
  }
  const hex = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new FormatError(
    `${name}: expected a PNG or JPEG file; got ${format === 'unknown' ? `bytes starting ${hex || '(empty)'}` : `a ${format.toUpperCase()} file`}. Convert it to PNG or JPEG first`,
  );
}

function checkPixels(width: number, height: number): void {
  if (width * height > MAX_IMAGE_PIXELS)
    throw new FormatError(
      `the image is ${width}×${height} = ${width * height} pixels, more than the ${MAX_IMAGE_PIXELS} PIL accepts (a decompression bomb?)`,
    );
}
