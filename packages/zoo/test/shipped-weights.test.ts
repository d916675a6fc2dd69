import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { build } from 'esbuild';
import { ArgumentError } from '@resnet/core';
import { imageClassification } from '@resnet/images';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getWeights, shippedStateDict } from '../src/index.js';
import { pretrained as browserPretrained } from '../src/classify/pretrained.js';
import { pretrained, pretrainedFromStateDict } from '../src/node.js';

// resnet20's FASHION_MNIST: weights we trained and ship inside the package. Its accuracy on the
// real test images is measured in @resnet/train's tests (test/shipped-fashion-mnist.test.ts), where
// the data and the loader are; here: loading with no download and no file, both entry points, the
// grey input, errors and memory.

const entry = getWeights('resnet20', 'FASHION_MNIST');
/** A 28×28 grey image with a bright square (any image will do for shapes and probabilities). */
const grey = { width: 28, height: 28, channels: 1 as const, data: new Uint8Array(784).map((_, i) => (i % 28 > 8 && i % 28 < 20 ? 200 : 0)) };
const savedFetch = globalThis.fetch;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  // Nothing may be downloaded: any fetch fails the test.
  globalThis.fetch = () => Promise.reject(new Error('FASHION_MNIST must not fetch anything'));
});
afterAll(() => {
  globalThis.fetch = savedFetch;
});

describe("pretrained('resnet20', { weights: 'FASHION_MNIST' })", () => {
  it('loads from the package in Node and with the browser entry, without fetch or files', async () => {
    const node = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
    const browser = await browserPretrained('resnet20', { weights: 'FASHION_MNIST' });
    try {
      for (const m of [node, browser]) {
        expect(m.weights).toBe(entry);
        expect(m.transforms).toBe(entry.transforms);
        expect(m.categories).toBe(entry.categories);
        expect(m.config.inputChannels).toBe(1);
        expect(m.outputChannels).toBe(10);
        expect(m.origin).toEqual({
          fileName: 'resnet20-fashion-mnist-f16.safetensors',
          url: null,
          path: null,
          sha256: entry.provenance?.float16.sha256,
        });
      }
      const a = await node.classify(grey, { topk: 10 });
      const b = await browser.classify(grey, { topk: 10 });
      expect(b).toEqual(a);
      expect(a.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 5);
      expect((await getWeights('resnet20').categories).length).toBe(10);
      // DEFAULT and the entry itself name the same weights.
      const byEntry = await pretrained('resnet20', { weights: entry });
      expect(await byEntry.classify(grey, { topk: 10 })).toEqual(a);
      byEntry.dispose();
    } finally {
      node.dispose();
      browser.dispose();
    }
  });

  it('the embedded file is the one whose SHA-256 the provenance records', async () => {
    const { tensors, sha256 } = await shippedStateDict(entry);
    expect(sha256).toBe(entry.provenance?.float16.sha256);
    expect(tensors.get('conv1.weight')?.shape).toEqual([16, 1, 3, 3]);
    expect(tensors.get('fc.weight')?.shape).toEqual([10, 64]);
    // 2 bytes a value (float16), 8 a counter (int64), plus the JSON header.
    let payload = 0;
    for (const [, t] of tensors) payload += t.data.length * (t.dtype === 'float32' ? 2 : 8);
    const bytes = entry.provenance?.float16.bytes ?? 0;
    expect(bytes - payload).toBeGreaterThan(0);
    expect(bytes - payload).toBeLessThan(20_000);
    expect(Math.abs(bytes / 2 ** 20 - entry.meta.fileSizeMB)).toBeLessThan(0.001);
  });

  it('preprocess gives [n, 32, 32, 1]; classify and embed leave no tensor behind', async () => {
    const model = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
    try {
      const x = await model.preprocess([grey, grey, grey]);
      expect(x.shape).toEqual([3, 32, 32, 1]);
      x.dispose();
      await model.classify(grey); // warm-up (kernels, caches)
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) {
        const top = await model.classify([grey, grey], { topk: 5 });
        expect(top).toHaveLength(2);
        const e = await model.embed(grey);
        expect(e.shape).toEqual([1, 64]);
        e.dispose();
      }
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      model.dispose();
    }
  });

  it('bad options fail naming the argument; a grey model refuses RGB transforms and vice versa', async () => {
    await expect(pretrained('resnet20', { weights: 'FASHION_MNST' })).rejects.toThrow(
      'weights: expected one of FASHION_MNIST, DEFAULT for resnet20; got "FASHION_MNST"',
    );
    await expect(pretrained('resnet56', { weights: 'FASHION_MNIST' })).rejects.toThrow(
      /arch: expected an architecture with pretrained weights .*; got "resnet56"/,
    );
    await expect(pretrained('resnet18', { weights: entry })).rejects.toThrow(
      'options.weights: expected weights of resnet18; got "resnet20 FASHION_MNIST"',
    );
    await expect(
      pretrained('resnet20', { weights: 'FASHION_MNIST', transforms: imageClassification({ cropSize: 32 }) }),
    ).rejects.toThrow(/options.transforms: expected transforms for 1 input channel .*; got "transforms for 3 channels"/);
    await expect(
      pretrained('resnet20', {
        weights: 'FASHION_MNIST',
        transforms: { ...entry.transforms, mean: [0.5, 0.5, 0.5] } as never,
      }),
    ).rejects.toThrow(/options.transforms.mean: expected one finite number \(grey, on the 0–1 scale\) for channels: 1/);
    await expect(
      pretrained('resnet20', { weights: 'FASHION_MNIST', transforms: { ...entry.transforms, channels: 2 } as never }),
    ).rejects.toThrow(/options.transforms.channels: expected 1 \(grey\) or 3 \(RGB, the default\); got 2/);
    const model = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
    try {
      await expect(model.classify(grey, { topk: 11 })).rejects.toThrow(/options.topk/);
      await expect(model.classify(grey, { top: 3 } as never)).rejects.toThrow(ArgumentError);
    } finally {
      model.dispose();
    }
    // A 3-channel state dict with the grey transforms is refused before anything is allocated.
    const { tensors } = await shippedStateDict(entry);
    const rgb = new Map(tensors);
    rgb.set('conv1.weight', { dtype: 'float32', shape: [16, 3, 3, 3], data: new Float32Array(16 * 27) });
    expect(() => pretrainedFromStateDict('resnet20', rgb, { transforms: entry.transforms })).toThrow(
      /options.transforms: expected transforms for 3 input channels/,
    );
  });

  it('is not in the bundle of an app that never asks for it: a lazy chunk of its own (esbuild)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'resnet-zoo-bundle-'));
    try {
      const entry = join(dir, 'app.js');
      const dist = join(import.meta.dirname, '..', 'dist', 'index.js');
      writeFileSync(entry, `import { pretrained } from ${JSON.stringify(dist)};\nexport const load = () => pretrained('resnet50');\n`);
      const result = await build({
        entryPoints: [entry],
        bundle: true,
        splitting: true,
        format: 'esm',
        platform: 'browser',
        outdir: join(dir, 'out'),
        write: false,
        external: ['@tensorflow/*', '@resnet/*'],
        logLevel: 'error',
      });
      const files = result.outputFiles.map((f) => ({ name: f.path.slice(dir.length + 1), size: f.contents.length }));
      const app = files.find((f) => f.name === join('out', 'app.js'));
      const data = files.filter((f) => f.size > 700_000);
      console.log(`bundle: ${files.map((f) => `${f.name} ${f.size}`).join(', ')}`);
      expect(app?.size).toBeLessThan(200_000);
      expect(data).toHaveLength(1);
      expect(data[0]?.name).toMatch(/resnet20-fashion-mnist-f16-\w+\.js$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
