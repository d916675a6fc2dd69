import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { initBackend } from '@resnet/backends';
import { loadTorchvisionWeights } from '@resnet/core/node';
import { createModel } from '@resnet/zoo';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../../../tools/test-support/chromium.mjs';
import { fixturePath } from '../../../tools/test-support/fixtures.js';
import { type PageServer, startPageServer } from '../../../tools/test-support/page-server.js';
import { exportOnnx } from '../src/index.js';

// In Debian's headless Chromium: the page builds resnet18 with torchvision's weights (fixture),
// exports it with @resnet/onnx's main entry (bundled for the browser) and runs the bytes in
// onnxruntime-web (WASM). Its logits equal torchvision's within 1e-4 of their largest magnitude,
// and the bytes are those the export writes in Node.
const TOLERANCE = 1e-4;

let server: PageServer;
let browser: Browser;

beforeAll(async () => {
  const launchOptions = chromiumLaunchOptions();
  const require = createRequire(import.meta.url);
  const tfjsWasm = dirname(createRequire(require.resolve('@resnet/backends')).resolve('@tensorflow/tfjs-backend-wasm'));
  // onnxruntime-web exports no package.json; its Node entry sits in dist/ beside the browser files.
  const ortWeb = dirname(require.resolve('onnxruntime-web'));
  const fixtures = resolve(dirname(fixturePath('resnet18', 'weights.safetensors')), '..');
  const folders: Record<string, string> = { '/wasm/': tfjsWasm, '/ort/': ortWeb, '/fixtures/': fixtures };
  server = await startPageServer({
    build,
    entry: join(import.meta.dirname, 'browser', 'page.ts'),
    file: (pathname) => {
      const prefix = Object.keys(folders).find((p) => pathname.startsWith(p));
      return prefix ? join(folders[prefix] as string, pathname.slice(prefix.length)) : undefined;
    },
  });
  browser = await chromium.launch(launchOptions);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

describe('an ONNX export made in the browser runs in onnxruntime-web', () => {
  it(`resnet18 with torchvision's weights: torchvision's logits within ${TOLERANCE}, the same bytes as in Node`, async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    let result: { bytes: number; sha256: string; shape: number[]; relative: number; ms: number };
    try {
      await page.goto(server.origin);
      await page.waitForFunction(() => 'runExport' in globalThis);
      result = await page.evaluate(() =>
        (globalThis as never as { runExport: () => Promise<typeof result> }).runExport(),
      );
    } finally {
      await page.close();
    }
    expect(errors).toEqual([]);
    console.log(
      `onnxruntime-web in Chromium: ${result.bytes} bytes exported in the page, relative difference ${result.relative.toExponential(2)}, ${result.ms.toFixed(0)} ms`,
    );
    expect(result.shape).toEqual([1, 1000]);
    expect(result.relative).toBeLessThan(TOLERANCE);

    await initBackend({ prefer: 'wasm' });
    const model = createModel('resnet18');
    loadTorchvisionWeights(model, fixturePath('resnet18', 'weights.safetensors'));
    const node = exportOnnx(model, { weights: 'fixture' });
    model.dispose();
    expect(result.bytes).toBe(node.length);
    expect(result.sha256).toBe(createHash('sha256').update(node).digest('hex'));
  });
});
