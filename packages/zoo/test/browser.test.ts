import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fixturePath } from '../../../tools/test-support/fixtures.js';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../../tools/test-support/chromium.mjs';
import { type PageServer, startPageServer } from '../../../tools/test-support/page-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// resnet18 with torchvision's weights in Debian's headless Chromium, against torchvision's output
// (fixture). Tolerances, relative to the output's largest magnitude, as in Node:
// - WASM: 1e-4 (the same kernels as in Node: ours, in their relaxed-SIMD build with fused
//   multiply-adds, on the page's shared memory with a worker of ours, and XNNPACK's; measured 4e-7);
// - WebGL on SwiftShader: 1e-4 (float32 render targets, checked by initBackend; measured 4e-7).
//   On a GPU that renders only float16, initBackend reports floatPrecision 16 and ~1e-3 is what
//   to expect; this test requires float32.
const TOLERANCE = { wasm: 1e-4, webgl: 1e-4 } as const;

let server: PageServer;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  const launchOptions = chromiumLaunchOptions();
  const wasmDir = dirname(
    createRequire(createRequire(import.meta.url).resolve('@resnet/backends')).resolve('@tensorflow/tfjs-backend-wasm'),
  );
  const fixtures = resolve(dirname(fixturePath('resnet18', 'weights.safetensors')), '..');
  server = await startPageServer({
    build,
    entry: join(import.meta.dirname, 'browser', 'page.ts'),
    // Cross-origin isolated, so that the page may use SharedArrayBuffer (WASM threads).
    isolated: true,
    file: (path) =>
      path.startsWith('/wasm/')
        ? join(wasmDir, path.slice(6))
        : path.startsWith('/fixtures/')
          ? join(fixtures, path.slice(10))
          : undefined,
  });
  origin = server.origin;
  browser = await chromium.launch(launchOptions);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

interface Parity {
  info: { name: string; simd: boolean; threads: number; floatPrecision: number; notes: string[] };
  kernels: { relaxedSimd: boolean; sharedMemory: boolean; threads: number } | null;
  warnings: string[];
  relative: number;
  optimized: number;
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
      `${backend} in Chromium: relative difference ${result.relative.toExponential(2)} (optimised ${result.optimized.toExponential(2)}), ${result.ms.toFixed(0)} ms, ${JSON.stringify(result.info)}, our kernels ${JSON.stringify(result.kernels)}`,
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
    // Chromium has relaxed SIMD (≥ 114); in this isolated page tfjs runs its threaded build, whose
    // memory our kernels share with workers of theirs.
    expect(r.kernels).toMatchObject({ relaxedSimd: true, sharedMemory: true });
    expect(r.kernels?.threads).toBeGreaterThanOrEqual(1);
    expect(r.shape).toEqual([1, 1000]);
    expect(r.relative).toBeLessThan(TOLERANCE.wasm);
    expect(r.optimized).toBeLessThan(TOLERANCE.wasm);
  });

  it(`on WebGL (SwiftShader) within ${TOLERANCE.webgl}`, async () => {
    const r = await parity('webgl');
    expect(r.info).toMatchObject({ name: 'webgl', floatPrecision: 32 });
    expect(r.shape).toEqual([1, 1000]);
    expect(r.relative).toBeLessThan(TOLERANCE.webgl);
    expect(r.optimized).toBeLessThan(TOLERANCE.webgl);
  });
});
