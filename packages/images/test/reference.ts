/**
 * PIL's and torchvision's results on real photos, made by tools/images/reference.py with Debian's
 * PIL 9.4 and torchvision 0.14 into a temporary directory (once per test file).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostTensor, parseNpy } from '@resnet/core';
import { REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { TORCH_PYTHON } from '../../../tools/test-support/torch.js';

export interface ReferenceImage {
  name: string;
  path: string;
  mode: string;
  width: number;
  height: number;
}

export interface Reference {
  dir: string;
  pil: string;
  torchvision: string;
  coffee: string;
  images: ReferenceImage[];
  resizes: { file: string; size: [number, number] }[];
  crops: { file: string; image: [number, number]; crop: [number, number] }[];
  /** The mean and std of the grey transform (`<name>.grey.npy`). */
  grey: { mean: number; std: number };
  npy(file: string): HostTensor;
  remove(): void;
}

export function generateReference(): Reference {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-images-'));
  const r = spawnSync(TORCH_PYTHON, [join(REPO_ROOT, 'tools/images/reference.py'), dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `tools/images/reference.py failed (needs Debian's python3-torchvision, python3-skimage and python-matplotlib-data; \`node scripts/bootstrap.mjs --test\` installs them): ${r.stderr}`,
    );
  }
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  return {
    ...manifest,
    dir,
    npy: (file: string) => parseNpy(readFileSync(join(dir, file))),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Largest and mean |a − b|. */
export function difference(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; mean: number } {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} ≠ ${b.length}`);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number));
    if (!(d <= max)) max = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
    sum += d;
  }
  return { max, mean: sum / a.length };
}

/** The coordinate image of reference.py's crop cases: R = x mod 256, G = y mod 256, B = tiles + 1. */
export function coordinateImage(height: number, width: number) {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = x % 256;
      data[i + 1] = y % 256;
      data[i + 2] = Math.floor(x / 256) + 16 * Math.floor(y / 256) + 1;
    }
  return { width, height, data };
}
