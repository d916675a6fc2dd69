import { FormatError } from '@resnet/core';
import { unzlibSync } from 'fflate';

/**
 * Adam7-interlaced PNGs of 1, 2 or 4 bits per pixel (grey or palette). fast-png 8.0.0 de-interlaces
 * as if every pixel took whole bytes, which scrambles these, so they are read here: chunks,
 * zlib (fflate), the five row filters and the seven passes of the PNG specification.
 * Returns one unscaled sample (grey level or palette index) per pixel, and the palette's colours.
 */
export function readInterlacedLowDepth(bytes: Uint8Array): {
  width: number;
  height: number;
  depth: number;
  samples: Uint8Array;
  palette: number[][] | undefined;
} {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = 0;
  let palette: number[][] | undefined;
  const idat: Uint8Array[] = [];
  for (let at = 8; ; ) {
    if (at + 12 > bytes.length) throw new FormatError('truncated PNG: no IEND chunk');
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const data = bytes.subarray(at + 8, at + 8 + length);
    if (at + 12 + length > bytes.length) throw new FormatError(`truncated PNG: the ${type} chunk is cut short`);
    if (type === 'IHDR') {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      depth = data[8] as number;
      colorType = data[9] as number;
    } else if (type === 'PLTE') {
      palette = [];
      for (let i = 0; i + 2 < length; i += 3)
        palette.push([data[i] as number, data[i + 1] as number, data[i + 2] as number]);
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (![1, 2, 4].includes(depth) || (colorType !== 0 && colorType !== 3))
    throw new FormatError(`unexpected PNG header (bit depth ${depth}, colour type ${colorType})`);
  const compressed = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
  let filled = 0;
  for (const d of idat) {
    compressed.set(d, filled);
    filled += d.length;
  }
  let raw: Uint8Array;
  try {
    raw = unzlibSync(compressed);
  } catch (e) {
    throw new FormatError(`PNG image data does not inflate (${(e as Error).message})`);
  }
  const samples = new Uint8Array(width * height);
  const perByte = 8 / depth;
  const mask = (1 << depth) - 1;
  let offset = 0;
  for (const [x0, y0, dx, dy] of [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ] as const) {
    const passWidth = Math.ceil((width - x0) / dx);
    const passHeight = Math.ceil((height - y0) / dy);
    if (passWidth <= 0 || passHeight <= 0) continue;
    const rowBytes = Math.ceil(passWidth / perByte);
    let previous = new Uint8Array(rowBytes);
    for (let py = 0; py < passHeight; py++) {
      if (offset + 1 + rowBytes > raw.length) throw new FormatError('truncated PNG image data');
      const filter = raw[offset] as number;
      const row = raw.slice(offset + 1, offset + 1 + rowBytes);
      offset += 1 + rowBytes;
      unfilter(filter, row, previous);
      previous = row;
      const y = y0 + py * dy;
      for (let px = 0; px < passWidth; px++) {
        const byte = row[Math.floor(px / perByte)] as number;
        samples[y * width + x0 + px * dx] = (byte >> (8 - depth * ((px % perByte) + 1))) & mask;
      }
    }
  }
  return { width, height, depth, samples, palette: colorType === 3 ? (palette ?? []) : undefined };
}

/** Undoes a PNG row filter in place (one byte per filter unit: bit depths below 8). */
function unfilter(filter: number, row: Uint8Array, up: Uint8Array): void {
  for (let i = 0; i < row.length; i++) {
    const a = i > 0 ? (row[i - 1] as number) : 0;
    const b = up[i] as number;
    const c = i > 0 ? (up[i - 1] as number) : 0;
    let add: number;
    if (filter === 0) add = 0;
    else if (filter === 1) add = a;
    else if (filter === 2) add = b;
    else if (filter === 3) add = (a + b) >> 1;
    else if (filter === 4) {
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      add = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    } else throw new FormatError(`PNG row filter ${filter} does not exist (0–4)`);
    row[i] = ((row[i] as number) + add) & 0xff;
  }
}
