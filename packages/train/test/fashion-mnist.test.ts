import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../src/node.js';

const cache = mkdtempSync(join(tmpdir(), 'resnet-fmnist-cache-'));
process.env.RESNET_CACHE = cache;
afterAll(() => rmSync(cache, { recursive: true, force: true }));

const pkg = dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json'));
// The package's own file for class 0 (T-shirt/top), read here independently of the loader.
const class0 = (JSON.parse(readFileSync(join(pkg, 'src/clothes/0.json'), 'utf8')) as { data: number[][] }).data;

describe('loadFashionMnist', () => {
  it('splits 6,000/1,000 per class, interleaves classes, pads to 32×32 and normalises', () => {
    const first = loadFashionMnist({ trainLimit: 30, testLimit: 20 });
    expect(first.train.length).toBe(30);
    expect(first.test.length).toBe(20);
    expect(first.train.imageShape).toEqual([32, 32, 1]);
    expect(Array.from(first.train.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    // Fashion-MNIST's published training-set statistics: mean 0.2860, std 0.3530.
    expect(first.mean).toBeCloseTo(0.286, 3);
    expect(first.std).toBeCloseTo(0.353, 2);
    const nonEmpty = class0.filter((r) => r.length > 0);
    expect(nonEmpty.length).toBe(7000);
    const check = (images: Float32Array, index: number, row: number[]) => {
      const img = images.subarray(index * 1024, (index + 1) * 1024);
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) {
          const inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          const v = inside ? (row[(y - 2) * 28 + x - 2] as number) : 0;
          expect(img[y * 32 + x]).toBeCloseTo((v / 255 - first.mean) / first.std, 5);
        }
      }
    };
    check(first.train.images, 0, nonEmpty[0] as number[]); // training image 0: class 0, image 0
    check(first.train.images, 10, nonEmpty[1] as number[]); // training image 10: class 0, image 1
    check(first.test.images, 0, nonEmpty[6000] as number[]); // test image 0: class 0, image 6,000
    expect(first.train.fill).toBeCloseTo(-first.mean / first.std, 6);
    // The second load comes from the cache and is identical.
    const second = loadFashionMnist({ trainLimit: 30, testLimit: 20 });
    expect(second.train.images).toEqual(first.train.images);
    expect(second.test.images).toEqual(first.test.images);
  });

  it('refuses bad limits and a missing package with instructions', () => {
    expect(() => loadFashionMnist({ trainLimit: 0 })).toThrow(/trainLimit: expected an integer from 1 to 60000/);
    expect(() => loadFashionMnist({ testLimit: 10001 })).toThrow(/testLimit/);
    expect(() => loadFashionMnist({ packageDir: join(cache, 'nowhere') })).toThrow(/cannot read Fashion-MNIST class 0/);
  });
});
