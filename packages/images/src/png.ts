import { FormatError } from '@resnet/core';
import { decode as decodePngSamples } from 'fast-png';
import { readInterlacedLowDepth } from './png-interlaced.js';
import { type RgbImage, rgbImage } from './rgb-image.js';

/**
 * A PNG file → RGB exactly as `PIL.Image.open(path).convert('RGB')` gives it (Pillow 9.4):
 * - grey (1, 2, 4, 8 bits) is replicated into R, G and B, low depths scaled to 0–255 (×255, ×85, ×17);
 * - 16-bit grey is PIL's mode "I", whose conversion to RGB clips at 255 (values are not scaled:
 *   0–255 stay, everything above becomes white); 16-bit RGB, RGBA and grey+alpha keep the high byte;
 * - palette images are looked up in their palette (a tRNS chunk changes nothing);
 * - alpha is dropped without compositing onto any background: the colour under a transparent
 *   pixel is kept, as PIL keeps it;
 * - gamma (gAMA), colour profiles (iCCP, sRGB) and EXIF orientation are ignored, as PIL ignores them.
 * Decoded by the pure-JS `fast-png` (Adam7 interlacing included), then converted here.
 */
export function decodePng(bytes: Uint8Array): RgbImage {
  let png: {
    width: number;
    height: number;
    depth: number;
    channels: number;
    data: ArrayLike<number>;
    palette?: number[][];
  };
  try {
    // IHDR: bit depth at byte 24, interlace method at byte 28.
    if (bytes[28] === 1 && (bytes[24] as number) < 8) {
      const p = readInterlacedLowDepth(bytes);
      png = { ...p, channels: 1, data: p.samples, depth: 8 };
      if (p.depth < 8 && !p.palette) png.data = scaleLowDepth(p.samples, p.depth);
    } else {
      const p = decodePngSamples(bytes, { checkCrc: true });
      png = { ...p, palette: p.palette };
      if (p.depth < 8) {
        // One channel (grey or palette index) packed MSB first in rows of whole bytes.
        const samples = unpackRows(
          p.data as Uint8Array,
          p.width,
          p.height,
          p.depth,
          Math.ceil((p.width * p.depth) / 8),
        );
        png.data = p.palette ? samples : scaleLowDepth(samples, p.depth);
        png.depth = 8;
      }
    }
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError(`cannot decode the PNG: ${(e as Error).message}; the file is damaged or truncated`);
  }
  const { width, height, depth, channels, data } = png;
  const out = rgbImage(width, height);
  const o = out.data;
  const n = width * height;
  if (png.palette) {
    const palette = png.palette;
    const index = data;
    for (let i = 0; i < n; i++) {
      const entry = palette[index[i] as number];
      // PIL reads an index past the palette's end as black.
      o[i * 3] = entry?.[0] ?? 0;
      o[i * 3 + 1] = entry?.[1] ?? 0;
      o[i * 3 + 2] = entry?.[2] ?? 0;
    }
    return out;
  }
  if (channels === 1 || channels === 2) {
    let grey: ArrayLike<number>;
    const step = channels;
    if (depth === 16 && channels === 1) {
      // PIL: mode "I" → RGB clips each value to 0..255.
      grey = (data as Uint16Array).map((v) => Math.min(v, 255));
    } else if (depth === 16) {
      grey = (data as Uint16Array).map((v) => v >> 8);
    } else {
      grey = data;
    }
    for (let i = 0; i < n; i++) {
      const v = grey[i * step] as number;
      o[i * 3] = v;
      o[i * 3 + 1] = v;
      o[i * 3 + 2] = v;
    }
    return out;
  }
  if (channels !== 3 && channels !== 4) throw new FormatError(`PNG with ${channels} channels is not valid`);
  const shift = depth === 16 ? 8 : 0;
  for (let i = 0; i < n; i++) {
    o[i * 3] = (data[i * channels] as number) >> shift;
    o[i * 3 + 1] = (data[i * channels + 1] as number) >> shift;
    o[i * 3 + 2] = (data[i * channels + 2] as number) >> shift;
  }
  return out;
}

/** Grey levels of 1, 2 or 4 bits scaled to 0–255 as PIL's unpackers do (×255, ×85, ×17). */
function scaleLowDepth(samples: Uint8Array, depth: number): Uint8Array {
  const factor = 255 / ((1 << depth) - 1);
  return samples.map((v) => v * factor);
}

/** Sub-byte (or byte) samples of one channel, packed per row MSB first → one value per pixel. */
function unpackRows(data: Uint8Array, width: number, height: number, depth: number, rowBytes: number): Uint8Array {
  if (depth === 8) return data;
  const out = new Uint8Array(width * height);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const byte = data[y * rowBytes + Math.floor(x / perByte)] as number;
      out[y * width + x] = (byte >> (8 - depth * ((x % perByte) + 1))) & mask;
    }
  }
  return out;
}
