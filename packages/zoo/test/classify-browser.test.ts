import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { readStateDictFile } from '@resnet/core/node';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../../../tools/test-support/chromium.mjs';
import {
  type ClassifyManifest,
  classifyFixturePath,
  classifyManifest,
} from '../../../tools/test-support/classify-fixtures.js';
import { bundleTestPage } from '../../../tools/test-support/page-server.js';
import { startWeightsServer, type WeightsServer } from '../../../tools/test-support/weights-server.js';
import { getWeights, type Prediction } from '../src/index.js';
import { pretrained, pretrainedFromStateDict } from '../src/node.js';
import type { ClassifyOutcome, ShippedOutcome } from './browser/classify-page.js';

// pretrained('resnet50') in Debian's headless Chromium on WASM: the .pth made by Debian's torch
// (tools/weights/classify_reference.py) fetched from the test server, verified with SubtleCrypto,
// parsed in the page, then a PNG and a JPEG photo classified from an image element (Chromium's
// libjpeg-turbo, as PIL) and from the file's bytes (our pure-JS decoders, as in Node). Expected:
// the bytes give Node's result, and both give torchvision's top-5 (for JPEG, the element does,
// as Chromium decodes it as PIL does; the bytes give Node's jpeg-js result).
const PHOTOS = ['chelsea.png', 'rocket.jpg'];
/** Node and Chromium run the same XNNPACK float32 kernels: measured differences are ~1e-7. */
const SAME_AS_NODE = 1e-5;
const SAME_AS_TORCH = 1e-4;

let manifest: ClassifyManifest;
let server: WeightsServer;
let browser: Browser;
let node: Record<string, Prediction[]>;
let nodeShipped: Prediction[];

beforeAll(async () => {
  const launchOptions = chromiumLaunchOptions();
  manifest = classifyManifest();
  const checkpoint = classifyFixturePath(manifest.checkpoint.file);
  const wasmDir = dirname(
    createRequire(createRequire(import.meta.url).resolve('@resnet/backends')).resolve('@tensorflow/tfjs-backend-wasm'),
  );
  const script = await bundleTestPage(build, join(import.meta.dirname, 'browser', 'classify-page.ts'));
  const send = (type: string, body: string | Buffer) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.setHeader('Content-Type', type);
    res.end(body);
  };
  const routes: Record<string, ReturnType<typeof send>> = {
    '/': send('text/html', '<!doctype html><script type="module" src="/bundle.js"></script>'),
    '/bundle.js': send('text/javascript', script),
  };
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm')))
    routes[`/wasm/${f}`] = send('application/wasm', readFileSync(join(wasmDir, f)));
  for (const name of PHOTOS) {
    const p = manifest.photos.find((x) => x.name === name)?.path as string;
    routes[`/images/${name}`] = send(name.endsWith('.png') ? 'image/png' : 'image/jpeg', readFileSync(p));
  }
  server = await startWeightsServer(
    { ...manifest.checkpoint, path: checkpoint, bytes: readFileSync(checkpoint) },
    routes,
  );

  // Node's result on the same files.
  await initBackend({ prefer: 'wasm' });
  const model = pretrainedFromStateDict('resnet50', readStateDictFile(checkpoint).tensors);
  node = {};
  for (const name of PHOTOS)
    node[name] = await model.classify(manifest.photos.find((x) => x.name === name)?.path as string);
  model.dispose();
  // The same grey bar as the page draws, in Node.
  const shipped = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
  const bar = new Uint8Array(28 * 28);
  for (let y = 2; y < 26; y++) bar.fill(200, y * 28 + 9, y * 28 + 19);
  nodeShipped = await shipped.classify({ width: 28, height: 28, channels: 1, data: bar }, { topk: 5 });
  shipped.dispose();
  browser = await chromium.launch(launchOptions);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

function largestDifference(a: Prediction[], b: { index: number; probability: number }[]): number {
  expect(a.map((p) => p.index)).toEqual(b.map((p) => p.index));
  return Math.max(...a.map((p, i) => Math.abs(p.probability - (b[i] as { probability: number }).probability)));
}

describe('pretrained in headless Chromium', () => {
  it('classifies photos with a .pth from the server as Node does, and as torchvision does', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(server.origin);
      await page.waitForFunction(() => 'runClassify' in globalThis);
      const outcome = await page.evaluate(
        ([w, images]) =>
          (globalThis as never as { runClassify: (w: string, i: string[]) => Promise<ClassifyOutcome> }).runClassify(
            w,
            images,
          ),
        [`/models/${manifest.checkpoint.file}`, PHOTOS.map((n) => `/images/${n}`)] as const,
      );
      expect(errors).toEqual([]);
      expect(outcome).toMatchObject({
        backend: 'wasm',
        fileName: manifest.checkpoint.file,
        sha256: manifest.checkpoint.sha256,
        resizeSize: 232,
      });
      expect(outcome.progress).toBeGreaterThan(1);
      expect(outcome.tensorsAfter).toBe(outcome.tensorsBefore);
      for (const name of PHOTOS) {
        const { element, bytes } = outcome.results[`/images/${name}`] as { element: Prediction[]; bytes: Prediction[] };
        const torch = manifest.photos.find((x) => x.name === name)?.top5 as Prediction[];
        const asNode = largestDifference(bytes, node[name] as Prediction[]);
        const elementAsTorch = largestDifference(element, torch);
        console.log(
          `${name}: bytes vs Node ${asNode.toExponential(2)}, element vs torchvision ${elementAsTorch.toExponential(2)}`,
        );
        expect(asNode, name).toBeLessThan(SAME_AS_NODE);
        expect(elementAsTorch, name).toBeLessThan(SAME_AS_TORCH);
        if (name.endsWith('.png')) expect(largestDifference(bytes, torch), name).toBeLessThan(SAME_AS_TORCH);
      }
    } finally {
      await page.close();
    }
  });

  it("pretrained('resnet20', { weights: 'FASHION_MNIST' }) comes from the bundle, no fetch, and answers as Node does", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(server.origin);
      await page.waitForFunction(() => 'runShipped' in globalThis);
      const outcome = await page.evaluate(() =>
        (globalThis as never as { runShipped: () => Promise<ShippedOutcome> }).runShipped(),
      );
      expect(errors).toEqual([]);
      expect(outcome).toMatchObject({
        backend: 'wasm',
        url: null,
        sha256: getWeights('resnet20', 'FASHION_MNIST').provenance?.float16.sha256,
        shape: [1, 32, 32, 1],
        fetched: [],
      });
      expect(outcome.tensorsAfter).toBe(outcome.tensorsBefore);
      const d = largestDifference(outcome.top, nodeShipped);
      console.log(`FASHION_MNIST in Chromium vs Node: ${d.toExponential(2)} (top-1 ${outcome.top[0]?.label})`);
      expect(d).toBeLessThan(SAME_AS_NODE);
    } finally {
      await page.close();
    }
  });
});
