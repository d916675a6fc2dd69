import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyTrainTransforms,
  applyTransforms,
  encodePng,
  imageClassification,
  imageClassificationTrain,
  readImage,
} from '@resnet/images/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Batch } from '../src/index.js';
import { Rng } from '../src/index.js';
import { createImageLoader, type ImageFolder, type ImageLoader, scanImageFolder } from '../src/node.js';

// A folder of thousands of small PNGs of many sizes, written once: the loader decodes and
// transforms them on worker threads.
const dir = mkdtempSync(join(tmpdir(), 'resnet-image-loader-'));
const CLASSES = ['circle', 'square', 'stripe'];
const PER_CLASS = 800;
const TRAIN = imageClassificationTrain({ cropSize: 16 });
const EVAL = imageClassification({ cropSize: 16, resizeSize: 18 });
let folder: ImageFolder;

beforeAll(() => {
  const rng = new Rng(1);
  for (const [c, name] of CLASSES.entries()) {
    mkdirSync(join(dir, 'data', name), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) {
      const width = 6 + rng.int(30);
      const height = 6 + rng.int(30);
      const data = new Uint8Array(width * height * 3);
      for (let k = 0; k < data.length; k++) data[k] = (rng.int(64) + 80 * c + (k % 3) * 20) & 255;
      writeFileSync(join(dir, 'data', name, `${String(i).padStart(4, '0')}.png`), encodePng({ width, height, data }));
    }
  }
  folder = scanImageFolder(join(dir, 'data'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(iterator: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of iterator) out.push(b);
  return out;
}

const digest = (batches: Batch[]) => {
  const h = createHash('sha256');
  for (const b of batches)
    h.update(new Uint8Array(b.images.buffer, b.images.byteOffset, b.images.byteLength)).update(b.labels);
  return h.digest('hex');
};

describe('createImageLoader on 2,400 PNG files', () => {
  it('a training epoch: shuffled, each image its own seeded crop and flip, the same batches with 0, 1 or 2 threads', async () => {
    expect(folder.samples.length).toBe(CLASSES.length * PER_CLASS);
    const digests: string[] = [];
    let first: Batch[] = [];
    for (const workers of [2, 1, 0]) {
      const loader = createImageLoader({ workers });
      try {
        const rng = new Rng(5);
        const epoch = loader.epoch(folder.samples, { batchSize: 64, rng, transforms: TRAIN });
        expect(epoch.total).toBe(37); // 2,400 / 64, the last partial batch dropped
        const batches = await collect(epoch.iterator);
        expect(batches.length).toBe(37);
        expect(batches.every((b) => b.shape.join() === '64,16,16,3')).toBe(true);
        digests.push(digest(batches));
        if (workers === 2) first = batches;
      } finally {
        await loader.close();
      }
    }
    expect(new Set(digests).size).toBe(1);
    // The contract: the order is rng.shuffle of the indices, then one seed per position; image k of
    // the epoch is applyTrainTransforms(image, transforms, new Rng(seed k)).
    const rng = new Rng(5);
    const order = rng.shuffle(Int32Array.from(folder.samples, (_, i) => i));
    const seeds = Uint32Array.from(order, () => rng.nextUint32());
    const per = 16 * 16 * 3;
    for (const k of [0, 1, 63, 64, 1000, 2367]) {
      const sample = folder.samples[order[k] as number] as (typeof folder.samples)[number];
      const r = new Rng(seeds[k] as number);
      const expected = applyTrainTransforms(readImage(sample.path), TRAIN, () => r.next());
      const batch = first[Math.floor(k / 64)] as Batch;
      expect(batch.labels[k % 64]).toBe(sample.label);
      expect(Array.from(batch.images.subarray((k % 64) * per, ((k % 64) + 1) * per))).toEqual(Array.from(expected));
    }
    // Every image of the epoch once (the dropped remainder aside): the labels' counts match.
    const counts = [0, 0, 0];
    for (const b of first) for (const l of b.labels) counts[l] = (counts[l] as number) + 1;
    const expectedCounts = [0, 0, 0];
    for (const i of order.subarray(0, 37 * 64)) {
      const label = (folder.samples[i] as { label: number }).label;
      expectedCounts[label] = (expectedCounts[label] as number) + 1;
    }
    expect(counts).toEqual(expectedCounts);
  }, 300_000);

  it('evaluation batches: in order, the last one partial, each image the eval transform of its file', async () => {
    const loader = createImageLoader({ workers: 2, prefetch: 3 });
    try {
      const { total, iterator } = loader.batches(folder.samples, { batchSize: 100, transforms: EVAL });
      expect(total).toBe(24);
      const batches = await collect(iterator);
      const labels = batches.flatMap((b) => Array.from(b.labels));
      expect(labels).toEqual(folder.samples.map((s) => s.label));
      const per = 16 * 16 * 3;
      for (const k of [0, 99, 100, 2399]) {
        const expected = applyTransforms(readImage((folder.samples[k] as { path: string }).path), EVAL).data;
        const b = batches[Math.floor(k / 100)] as Batch;
        expect(Array.from(b.images.subarray((k % 100) * per, ((k % 100) + 1) * per))).toEqual(Array.from(expected));
      }
    } finally {
      await loader.close();
    }
  }, 300_000);

  it('holds only the batches in flight: host memory stays far below the epoch’s size', async () => {
    // 2,400 images at 96×96 are 265 MB of float32; with batches of 32 and 4 in flight, about 5 MB.
    const loader = createImageLoader({ workers: 1, prefetch: 4 });
    const big = imageClassificationTrain({ cropSize: 96 });
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let images = 0;
    try {
      const { iterator } = loader.epoch(folder.samples, { batchSize: 32, rng: new Rng(1), transforms: big });
      for await (const b of iterator) {
        images += b.labels.length;
        peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
      }
    } finally {
      await loader.close();
    }
    expect(images).toBe(2400);
    expect(peak).toBeLessThan(100 * 2 ** 20);
  }, 300_000);
});

describe('unreadable images', () => {
  let bad: ImageFolder;
  let names: { truncated: string; text: string; gone: string };
  beforeAll(() => {
    const root = join(dir, 'bad');
    for (const c of ['a', 'b']) {
      mkdirSync(join(root, c), { recursive: true });
      for (let i = 0; i < 10; i++)
        writeFileSync(join(root, c, `${i}.png`), encodePng({ width: 4, height: 4, data: new Uint8Array(48).fill(i) }));
    }
    names = { truncated: join(root, 'a', '3.png'), text: join(root, 'b', 'notes.jpg'), gone: join(root, 'b', '7.png') };
    truncateSync(names.truncated, 40);
    writeFileSync(names.text, 'not an image');
    bad = scanImageFolder(root);
    unlinkSync(names.gone); // removed after the scan
  });

  it('stop the epoch with an error that names the file and says how to go on', async () => {
    const loader = createImageLoader({ workers: 1 });
    try {
      const { iterator } = loader.batches(bad.samples, { batchSize: 4, transforms: EVAL });
      await expect(collect(iterator)).rejects.toThrow(
        /a[/\\]3\.png: .*Remove or replace the file, or leave unreadable images out \(resnet train --skip-bad-images/,
      );
    } finally {
      await loader.close();
    }
  });

  it('with skipBadImages are left out of every batch and reported once each', async () => {
    const reported: string[] = [];
    const loader: ImageLoader = createImageLoader({
      workers: 2,
      skipBadImages: true,
      onSkip: (path) => reported.push(path),
    });
    try {
      let seen = 0;
      for (let epoch = 0; epoch < 2; epoch++) {
        const { iterator } = loader.epoch(bad.samples, { batchSize: 7, rng: new Rng(epoch), transforms: TRAIN });
        for await (const b of iterator) seen += b.labels.length;
      }
      expect(bad.samples.length).toBe(21);
      // 21 images in batches of 7: three full batches per epoch, 3 unreadable images left out.
      expect(seen).toBe(2 * (21 - 3));
      expect(reported.sort()).toEqual([names.truncated, names.gone, names.text].sort());
      expect([...loader.skipped.keys()].sort()).toEqual(reported);
      expect(loader.skipped.get(names.gone)).toMatch(/cannot read it \(ENOENT\)/);
      expect(loader.skipped.get(names.text)).toMatch(/expected a PNG or JPEG file/);
    } finally {
      await loader.close();
    }
  });

  it('refuses bad options, and runs nothing once closed', async () => {
    expect(() => createImageLoader({ workers: -1 })).toThrow(/options\.workers: expected an integer from 0/);
    const loader = createImageLoader({ workers: 0 });
    expect(() => loader.epoch([], { batchSize: 4, rng: new Rng(1), transforms: TRAIN })).toThrow(
      /samples: expected a non-empty array/,
    );
    expect(() =>
      loader.epoch(bad.samples, { batchSize: 4, rng: undefined as unknown as Rng, transforms: TRAIN }),
    ).toThrow(/options\.rng/);
    expect(() => loader.batches(bad.samples, { batchSize: 4, transforms: TRAIN as never })).toThrow(
      /options\.transforms/,
    );
    await loader.close();
    await expect(collect(loader.batches(bad.samples, { batchSize: 4, transforms: EVAL }).iterator)).rejects.toThrow(
      /closed/,
    );
  });
});
