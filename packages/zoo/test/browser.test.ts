import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, extname, join, resolve } from 'node:path';
import { fixturePath } from '../../../tools/test-support/fixtures.js';
import { type Browser, chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../tools/test-support/chromium.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePage } from './support/bundle.js';

// resnet18 with torchvision's weights in Debian's headless Chromium, against torchvision's output
// (fixture). Tolerances, relative to the output's largest magnitude, as in Node:
// - WASM: 1e-4 (the same XNNPACK float32 kernels as in Node; measured 4e-7);
// - WebGL on SwiftShader: 1e-4 (float32 render targets, checked by initBackend; measured 4e-7).
//   On a GPU that renders only float16, initBackend reports floatPrecision 16 and ~1e-3 is what
//   to expect; this test requires float32.
const TOLERANCE = { wasm: 1e-4, webgl: 1e-4 } as const;

let server: Server;
let browser: Browser;
let origin: string;
let bundle: string;

const TYPES: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
};

beforeAll(async () => {
  const launchOptions = chromiumLaunchOptions();
  bundle = await bundlePage('page.ts');
  const wasmDir = dirname(
    createRequire(createRequire(import.meta.url).resolve('@resnet/backends')).resolve('@tensorflow/tfjs-backend-wasm'),
  );
  const fixtures = resolve(dirname(fixturePath('resnet18', 'weights.safetensors')), '..');
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    // Cross-origin isolated, so that the page may use SharedArrayBuffer (WASM threads).
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (url.pathname === '/') {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!doctype html><script type="module" src="/bundle.js"></script>');
      return;
    }
    if (url.pathname === '/bundle.js') {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(bundle);
      return;
    }
    const file = url.pathname.startsWith('/wasm/')
      ? join(wasmDir, url.pathname.slice(6))
      : url.pathname.startsWith('/fixtures/')
        ? join(fixtures, url.pathname.slice(10))
        : '';
    if (!file || !existsSync(file) || !statSync(file).isFile() || file.includes('..')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch(launchOptions);
});

afterAll(async () => {
  await browser?.close();
  await new Promise((done) => server?.close(done));
});

interface Parity {
  info: { name: string; simd: boolean; threads: number; floatPrecision: number; notes: string[] };
  warnings: string[];
  relative: number;
  shape: number[];
  ms: number;
  tensors: number;
  isolated: boolean;
}

async function parity(backend: 'wasm' | 'webgl'): Promise<Parity> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(origin);
    await page.waitForFunction(() => 'runParity' in globalThis);
    const result = (await page.evaluate(
      (b) => (globalThis as never as { runParity: (b: string) => Promise<Parity> }).runParity(b),
      backend,
    )) as Parity;
    expect(errors).toEqual([]);
    console.log(
      `${backend} in Chromium: relative difference ${result.relative.toExponential(2)}, ${result.ms.toFixed(0)} ms, ${JSON.stringify(result.info)}`,
    );
    return result;
  } finally {
    await page.close();
  }
}

describe('resnet18 with torchvision weights in headless Chromium', () => {
  it(`on WASM (SIMD, in a cross-origin isolated page) within ${TOLERANCE.wasm}`, async () => {
    const r = await parity('wasm');
    expect(r.isolated).toBe(true);
    expect(r.info).toMatchObject({ name: 'wasm', simd: true, floatPrecision: 32 });
    expect(r.info.threads).toBeGreaterThanOrEqual(1);
    expect(r.shape).toEqual([1, 1000]);
    expect(r.relative).toBeLessThan(TOLERANCE.wasm);
  });

  it(`on WebGL (SwiftShader) within ${TOLERANCE.webgl}`, async () => {
    const r = await parity('webgl');
    expect(r.info).toMatchObject({ name: 'webgl', floatPrecision: 32 });
    expect(r.shape).toEqual([1, 1000]);
    expect(r.relative).toBeLessThan(TOLERANCE.webgl);
  });
});
