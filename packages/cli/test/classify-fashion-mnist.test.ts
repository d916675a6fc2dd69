import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fashionMnistFolderName, writeFashionMnistFolder } from '@resnet/train/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesUnder, lastLine, resnetWithEnv } from './helpers.js';

// `resnet classify --arch resnet20 --weights FASHION_MNIST` as a user runs it, on real Fashion-MNIST
// test images written as 28×28 grey PNGs: the weights come from @resnet/zoo itself, so nothing is
// downloaded (the mirror points at a closed port and the cache stays empty). The classes' spelling
// is torchvision's FashionMNIST.classes (checked in @resnet/zoo's registry test).
let scratch: string;
let images: { path: string; label: string }[];

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'resnet-cli-fmnist-'));
  // Two test images of each of five classes.
  const classes = [0, 1, 5, 7, 9];
  writeFashionMnistFolder(join(scratch, 'images'), { split: 'test', classes, perClass: 2 });
  images = classes.flatMap((c) =>
    [0, 1].map((i) => ({
      path: join(scratch, 'images', fashionMnistFolderName(c), `test-${String(i).padStart(4, '0')}.png`),
      label: c,
    })),
  ).map(({ path, label }) => ({ path, label: String(label) }));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('resnet classify --arch resnet20 --weights FASHION_MNIST', () => {
  it('classifies grey PNGs with the shipped weights, with nothing downloaded', async () => {
    const env = { RESNET_HOME: join(scratch, 'home'), RESNET_WEIGHTS_MIRROR: 'http://127.0.0.1:9/models/' };
    const r = await resnetWithEnv(
      env,
      'classify',
      ...images.map((i) => i.path),
      '--arch',
      'resnet20',
      '--weights',
      'FASHION_MNIST',
      '--topk',
      '3',
      '--json',
      '--backend',
      'wasm',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resnet20 with FASHION_MNIST, trained by resnet train \(shipped in @resnet\/zoo as resnet20-fashion-mnist-f16\.safetensors\), wasm: 10 images/);
    const results = JSON.parse(lastLine(r.stdout)) as { image: string; top: { index: number; label: string; probability: number }[] }[];
    expect(results.map((x) => x.image)).toEqual(images.map((i) => i.path));
    let right = 0;
    results.forEach((x, k) => {
      expect(x.top).toHaveLength(3);
      expect(x.top[0]?.probability).toBeGreaterThan(x.top[1]?.probability as number);
      if (String(x.top[0]?.index) === images[k]?.label) right++;
    });
    expect(right).toBeGreaterThanOrEqual(8);
    // The labels are the class names, as torchvision spells them.
    const trouser = results[2]?.top[0];
    expect(trouser).toMatchObject({ index: 1, label: 'Trouser' });
    expect(filesUnder(join(scratch, 'home'))).toEqual([]);
  }, 120_000);
});
