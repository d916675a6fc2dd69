import { join } from 'node:path';
import { imageClassification, preprocessToHost, readImage } from '@resnet/images/node';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumLaunchOptions } from '../../../tools/test-support/chromium.mjs';
import { type PageServer, startPageServer } from '../../../tools/test-support/page-server.js';
import { type Reference, difference, generateReference } from './reference.js';

// The main entry in Debian's headless Chromium: PNGs given as an HTMLImageElement and as an
// ImageBitmap (the platform's decoder) against Node (our decoders, identical to PIL for PNG) and
// torchvision; JPEG differences stated. One uint8 level after normalisation is 1/255/std.
const ONE_LEVEL = 1 / 255 / 0.224 + 1e-6;
// chelsea.png carries an ICC profile (ignored by PIL: colorSpaceConversion 'none'), chelsea-rgba.png
// alpha down to 0 over kept colours, coffee-p.png a palette with a transparent entry.
const PNGS = ['chelsea.png', 'chelsea-rgba.png', 'coffee-p.png'];
const JPEGS = ['grace_hopper.jpg', 'rocket.jpg'];
// JPEG: Chromium decodes with libjpeg-turbo (islow IDCT, fancy upsampling) as PIL does; measured
// on 2026-12-06: element and bitmap give torchvision's tensor exactly (0) on both photos, where
// our pure-JS decoder is off by up to 12 levels (grace_hopper) — so in a browser, pass the element.
// tf.browser.fromPixels (a 2D canvas: premultiplied, colour-managed) is shown, not asserted.

let ref: Reference;
let server: PageServer;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  const launchOptions = chromiumLaunchOptions();
  ref = generateReference();
  const paths = new Map(ref.images.map((i) => [`/images/${i.name}`, i.path]));
  server = await startPageServer({
    build,
    entry: join(import.meta.dirname, 'browser', 'page.ts'),
    file: (p) => paths.get(p),
  });
  origin = server.origin;
  browser = await chromium.launch(launchOptions);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  ref?.remove();
});

const floats = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
};

describe('in headless Chromium', () => {
  it('PNG as HTMLImageElement and ImageBitmap equals Node within one level; JPEG within the stated figures', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(origin);
      await page.waitForFunction(() => 'runImages' in globalThis);
      const urls = [...PNGS, ...JPEGS].map((n) => `/images/${n}`);
      const out = (await page.evaluate(
        (u) => (globalThis as never as { runImages: (u: string[]) => Promise<unknown> }).runImages(u),
        urls,
      )) as { results: Record<string, Record<string, string>>; made: number; left: number };
      expect(errors).toEqual([]);
      expect(out.made).toBe(1);
      expect(out.left).toBe(0);
      const v1 = imageClassification({ cropSize: 224 });
      for (const name of [...PNGS, ...JPEGS]) {
        const img = ref.images.find((i) => i.name === name) as { path: string };
        const node = (await preprocessToHost(readImage(img.path), v1)).data;
        const torchvision = ref.npy(`${name}.v1.npy`).data;
        const r = out.results[`/images/${name}`] as Record<string, string>;
        const line: string[] = [];
        for (const how of ['bytes', 'element', 'bitmap', 'fromPixels']) {
          const vsNode = difference(floats(r[how] as string), node);
          const vsTorch = difference(floats(r[how] as string), torchvision);
          line.push(`${how} ${vsNode.max.toFixed(4)}/${vsTorch.max.toFixed(4)} (mean ${vsTorch.mean.toFixed(4)})`);
          if (how === 'bytes') expect([name, vsNode.max]).toEqual([name, 0]);
          if (how === 'fromPixels') continue;
          if (name.endsWith('.png')) expect(vsNode.max, `${name} ${how}`).toBeLessThanOrEqual(ONE_LEVEL);
          else if (how !== 'bytes') expect(vsTorch.max, `${name} ${how}`).toBeLessThanOrEqual(ONE_LEVEL);
        }
        console.log(`${name}: max vs Node / vs torchvision — ${line.join('; ')}`);
      }
    } finally {
      await page.close();
    }
  });
});
