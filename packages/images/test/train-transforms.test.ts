import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ArgumentError } from '@resnet/core';
import {
  applyTrainTransforms,
  type CropBox,
  evalResizeSize,
  horizontalFlip,
  imageClassificationTrain,
  randomResizedCropBox,
  randomResizedCropFallback,
  readImage,
  resizedCrop,
} from '@resnet/images/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { TORCH_PYTHON } from '../../../tools/test-support/torch.js';
import { difference } from './reference.js';

// The oracle is Debian's torchvision 0.14.1 and PIL 9.4 (tools/images/train_transforms.py):
// RandomResizedCrop.get_params itself — run with our uniform numbers in place of torch's generator
// for the exact checks, with torch's generator for the statistical ones — and F.resized_crop,
// F.hflip, ToTensor and Normalize on PIL images of real photos.

const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const RATIO: [number, number] = [3 / 4, 4 / 3];
const SCALE: [number, number] = [0.08, 1];

interface Answer {
  torchvision: string;
  structure: { box: [number, number, number, number]; used: number }[];
  fallback: [number, number, number, number][];
  samples: [number, number, number, number][][];
  crops: { uint8: number[]; normalized: number[] }[];
}

function torchvision(request: Record<string, unknown>): Answer {
  const r = spawnSync(TORCH_PYTHON, [join(REPO_ROOT, 'tools/images/train_transforms.py')], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 1 << 30,
  });
  if (r.status !== 0)
    throw new Error(`tools/images/train_transforms.py failed (needs Debian's python3-torchvision): ${r.stderr}`);
  return JSON.parse(r.stdout) as Answer;
}

/** A small seeded generator for the tests (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A generator that replays `values` and counts what it handed out. */
function replay(values: readonly number[]) {
  let used = 0;
  return {
    random: () => {
      if (used >= values.length) throw new Error('replay ran out of numbers');
      return values[used++] as number;
    },
    get used() {
      return used;
    },
  };
}

const asBox = ({ top, left, height, width }: CropBox) => [top, left, height, width];

function structureCases() {
  const sizes: [number, number][] = [
    [300, 451],
    [451, 300],
    [28, 28],
    [32, 32],
    [1, 1000],
    [50, 400],
    [7, 3],
    [1, 1],
    [224, 225],
  ];
  const scales: [number, number][] = [SCALE, [0.5, 1], [0.9, 1], [1, 1]];
  const ratios: [number, number][] = [RATIO, [1, 1], [0.2, 5]];
  const next = seeded(1);
  const cases = [];
  for (const [height, width] of sizes)
    for (const scale of scales)
      for (const ratio of ratios)
        for (let k = 0; k < 6; k++)
          cases.push({ height, width, scale, ratio, uniforms: Array.from({ length: 22 }, next) });
  return cases;
}

const FALLBACK_CASES = [
  { height: 1, width: 1000, ratio: RATIO },
  { height: 1000, width: 1, ratio: RATIO },
  { height: 100, width: 100, ratio: RATIO },
  { height: 50, width: 400, ratio: RATIO },
  { height: 401, width: 50, ratio: RATIO },
  { height: 3, width: 7, ratio: [1, 1] as [number, number] },
  { height: 33, width: 10, ratio: [0.5, 2] as [number, number] },
  { height: 10, width: 35, ratio: [0.5, 2] as [number, number] },
  { height: 224, width: 225, ratio: [1.1, 1.2] as [number, number] },
];

const SAMPLES = 4000;
const SAMPLE_SIZES: [number, number][] = [
  [300, 451],
  [28, 28],
  [50, 400],
];

/** Boxes of real photos with our crops; the second half of the list is applyTrainTransforms'. */
function cropCases() {
  const photos = ['chelsea.png', 'coffee.png', 'camera.png', 'astronaut.png'];
  const next = seeded(7);
  const cases: Record<string, unknown>[] = [];
  const ours: Uint8Array[] = [];
  for (const [k, name] of photos.entries()) {
    const path = `${SKIMAGE}/${name}`;
    const image = readImage(path);
    for (const size of k === 0 ? [224, 32] : [64, 32]) {
      const box = randomResizedCropBox(image.height, image.width, next);
      const flip = ours.length % 2 === 1;
      const out = resizedCrop(image, box, size);
      ours.push((flip ? horizontalFlip(out) : out).data);
      cases.push({ path, ...box, size, flip, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    }
    // Edge boxes: the whole image, one pixel, the last row.
    for (const box of [
      { top: 0, left: 0, height: image.height, width: image.width },
      { top: image.height - 1, left: image.width - 1, height: 1, width: 1 },
      { top: image.height - 1, left: 0, height: 1, width: image.width },
    ]) {
      ours.push(resizedCrop(image, box, 40).data);
      cases.push({ path, ...box, size: 40, flip: false, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
    }
  }
  return { cases, ours };
}

/** applyTrainTransforms with recorded draws, and the box and flip those draws mean. */
function trainTransformCases() {
  const path = `${SKIMAGE}/coffee.png`;
  const image = readImage(path);
  const transforms = imageClassificationTrain({ cropSize: 48 });
  const cases: Record<string, unknown>[] = [];
  const ours: Float32Array[] = [];
  const draws: [number, number][] = [];
  for (let k = 0; k < 6; k++) {
    const values = Array.from({ length: 24 }, seeded(20 + k));
    const run = replay(values);
    ours.push(applyTrainTransforms(image, transforms, run.random));
    const again = replay(values);
    const box = randomResizedCropBox(image.height, image.width, again.random);
    const flip = (values[again.used] as number) < 0.5;
    draws.push([run.used, again.used + 1]);
    cases.push({ path, ...box, size: 48, flip, mean: transforms.mean, std: transforms.std });
  }
  return { cases, ours, draws };
}

const structure = structureCases();
let crops: ReturnType<typeof cropCases>;
let trained: ReturnType<typeof trainTransformCases>;
let answer: Answer;

beforeAll(() => {
  crops = cropCases();
  trained = trainTransformCases();
  answer = torchvision({
    structure,
    fallback: FALLBACK_CASES,
    samples: SAMPLE_SIZES.map(([height, width], seed) => ({ height, width, n: SAMPLES, seed })),
    crops: [...crops.cases, ...trained.cases],
  });
});

describe('randomResizedCropBox is torchvision’s RandomResizedCrop.get_params', () => {
  it('given the same uniform numbers, the same box from the same number of draws (rounding, ten attempts, fallback)', () => {
    const cases = structure;
    expect(answer.torchvision).toMatch(/^0\.14\./);
    let fallbacks = 0;
    cases.forEach((c, i) => {
      const expected = answer.structure[i] as Answer['structure'][number];
      const source = replay(c.uniforms);
      const box = randomResizedCropBox(c.height, c.width, source.random, { scale: c.scale, ratio: c.ratio });
      expect({ case: i, box: asBox(box), used: source.used }).toEqual({ case: i, ...expected });
      if (source.used === 20) fallbacks++;
    });
    // The fallback path is exercised too (ten failed attempts use 20 numbers).
    expect(fallbacks).toBeGreaterThan(20);
  });

  it('the fallback box exactly: the centred box with the aspect ratio clamped into ratio', () => {
    const cases = FALLBACK_CASES;
    cases.forEach((c, i) => {
      expect({ case: c, box: asBox(randomResizedCropFallback(c.height, c.width, c.ratio)) }).toEqual({
        case: c,
        box: answer.fallback[i],
      });
    });
    // An image far outside the ratio range never fits a drawn box: randomResizedCropBox falls back.
    expect(asBox(randomResizedCropBox(1, 1000, seeded(3)))).toEqual(answer.fallback[0]);
  });

  it('with torch’s own generator, boxes have the same distribution as ours (two-sample KS, α = 0.001)', () => {
    const n = SAMPLES;
    const sizes = SAMPLE_SIZES;
    const critical = 1.949 * Math.sqrt((2 * n) / (n * n));
    sizes.forEach(([height, width], s) => {
      const theirs = answer.samples[s] as [number, number, number, number][];
      const next = seeded(100 + s);
      const ours = Array.from({ length: n }, () => asBox(randomResizedCropBox(height, width, next)));
      const features: [string, (b: number[]) => number][] = [
        ['area fraction', (b) => ((b[2] as number) * (b[3] as number)) / (height * width)],
        ['log aspect', (b) => Math.log((b[3] as number) / (b[2] as number))],
        ['top', (b) => b[0] as number],
        ['left', (b) => b[1] as number],
      ];
      for (const [name, f] of features) {
        const d = ksStatistic(ours.map(f), theirs.map(f));
        expect({ size: [height, width], feature: name, significant: d > critical }).toEqual({
          size: [height, width],
          feature: name,
          significant: false,
        });
      }
      // The fallback's share (a centred box of the clamped ratio) within 4 standard errors.
      const fallback = asBox(randomResizedCropFallback(height, width, RATIO));
      const share = (boxes: number[][]) =>
        boxes.filter((b) => b.every((v, i) => v === fallback[i])).length / boxes.length;
      const p = share(theirs);
      expect(Math.abs(share(ours) - p)).toBeLessThanOrEqual(4 * Math.sqrt((2 * Math.max(p, 1 / n) * (1 - p)) / n));
      if (height === 50) expect(p).toBeGreaterThan(0.4); // the elongated image falls back often
    });
  });
});

/** Largest gap between the empirical distribution functions of two samples. */
function ksStatistic(a: number[], b: number[]): number {
  const x = [...a].sort((p, q) => p - q);
  const y = [...b].sort((p, q) => p - q);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const v = Math.min(x[i] as number, y[j] as number);
    while (i < x.length && (x[i] as number) <= v) i++;
    while (j < y.length && (y[j] as number) <= v) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

describe('resizedCrop, horizontalFlip and applyTrainTransforms are torchvision’s on PIL images', () => {
  it('given a box, the crop resized (antialiased bilinear) and flipped equals F.resized_crop + F.hflip, every level', () => {
    const { cases, ours } = crops;
    cases.forEach((c, i) => {
      expect({ case: c, ...difference(ours[i] as Uint8Array, answer.crops[i]?.uint8 ?? []) }).toEqual({
        case: c,
        max: 0,
        mean: 0,
      });
    });
  });

  it('applyTrainTransforms: the drawn box, the flip draw and normalisation give torchvision’s float32 tensor', () => {
    const { cases, ours, draws } = trained;
    for (const [used, expected] of draws) expect(used).toBe(expected);
    expect(new Set(cases.map((c) => c.flip)).size).toBe(2);
    const first = crops.cases.length;
    cases.forEach((c, i) => {
      expect({
        case: c,
        max: difference(ours[i] as Float32Array, answer.crops[first + i]?.normalized ?? []).max,
      }).toEqual({
        case: c,
        max: 0,
      });
    });
  });
});

describe('training transforms as data', () => {
  it('imageClassificationTrain has torchvision’s defaults, evalResizeSize timm’s crop fraction', () => {
    expect(imageClassificationTrain({ cropSize: 224 })).toEqual({
      cropSize: 224,
      scale: [0.08, 1],
      ratio: [3 / 4, 4 / 3],
      flipProbability: 0.5,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      interpolation: 'bilinear',
    });
    expect([evalResizeSize(224), evalResizeSize(32), evalResizeSize(176)]).toEqual([256, 36, 201]);
  });

  it('refuses bad options, naming them', () => {
    expect(() => imageClassificationTrain({ cropSize: 0 })).toThrow(/cropSize/);
    expect(() => imageClassificationTrain({ cropSize: 32, scale: [0.5, 0.2] })).toThrow(/options\.scale.*\[min, max\]/);
    expect(() => imageClassificationTrain({ cropSize: 32, ratio: [0, 1] })).toThrow(/options\.ratio/);
    expect(() => imageClassificationTrain({ cropSize: 32, flipProbability: 2 })).toThrow(/flipProbability/);
    expect(() => randomResizedCropBox(10, 10, () => 1)).toThrow(ArgumentError);
    expect(() => randomResizedCropBox(0, 10, Math.random)).toThrow(/height/);
    expect(() => resizedCrop({ width: 1, height: 1, data: new Uint8Array(3) }, null as unknown as CropBox, 4)).toThrow(
      /box/,
    );
  });
});
