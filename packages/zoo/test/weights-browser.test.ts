import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { chromiumLaunchOptions } from '../../../tools/test-support/chromium.mjs';
import { bundleTestPage } from '../../../tools/test-support/page-server.js';
import { hashPrefixOf } from '../src/index.js';
import type { Outcome } from './browser/weights-page.js';
import {
  type Checkpoint,
  makeCheckpoint,
  startWeightsServer,
  type WeightsServer,
} from '../../../tools/test-support/weights-server.js';

// fetchWeights in Debian's headless Chromium against the same weights server as the Node tests
// (one origin for the page and the weights, so no CORS): streamed download with progress,
// SubtleCrypto's SHA-256, the Cache API, and the refusals.
let checkpoint: Checkpoint;
let server: WeightsServer;
let browser: Browser;
let context: BrowserContext; // one profile: its Cache API storage outlives a page
let page: Page;

beforeAll(async () => {
  const launchOptions = chromiumLaunchOptions();
  checkpoint = makeCheckpoint();
  const script = await bundleTestPage(build, join(import.meta.dirname, 'browser', 'weights-page.ts'));
  server = await startWeightsServer(checkpoint, {
    '/': (_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end('<!doctype html><script type="module" src="/bundle.js"></script>');
    },
    '/bundle.js': (_req, res) => {
      res.setHeader('Content-Type', 'text/javascript');
      res.end(script);
    },
  });
  browser = await chromium.launch(launchOptions);
  context = await browser.newContext();
  page = await openPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (checkpoint) rmSync(dirname(checkpoint.path), { recursive: true, force: true });
});

async function openPage(): Promise<Page> {
  const p = await context.newPage();
  p.on('pageerror', (e) => {
    throw e;
  });
  await p.goto(server.origin);
  await p.waitForFunction(() => 'runFetch' in globalThis);
  return p;
}

const run = (p: Page, arch: string, weights: string, options: Record<string, unknown> = {}): Promise<Outcome> =>
  p.evaluate(
    ([a, w, o]) =>
      (globalThis as never as { runFetch: (a: string, w: string, o: object) => Promise<Outcome> }).runFetch(a, w, o),
    [arch, weights, options] as const,
  );
const cached = (p: Page): Promise<string[]> =>
  p.evaluate(() => (globalThis as never as { cachedUrls: () => Promise<string[]> }).cachedUrls());

describe('fetchWeights in headless Chromium', () => {
  it('downloads with progress, verifies with SubtleCrypto, and serves a reload from the Cache API', async () => {
    const path = `/models/${checkpoint.file}`;
    const first = await run(page, 'resnet18', path); // relative to the page
    expect(first.error).toBeUndefined();
    expect(first).toMatchObject({ ok: true, sha256: checkpoint.sha256, size: checkpoint.size, fromCache: false });
    expect(first.progress.length).toBeGreaterThan(1);
    expect(first.progress.at(-1)).toEqual({
      url: `${server.origin}${path}`,
      fileName: checkpoint.file,
      received: checkpoint.size,
      total: checkpoint.size,
    });
    expect(server.count(path)).toBe(1);

    const again = await run(page, 'resnet18', `${server.origin}${path}`);
    expect(again).toMatchObject({ ok: true, sha256: checkpoint.sha256, fromCache: true, progress: [] });
    const other = await openPage(); // a new page of the same site, as after a reload
    expect(await run(other, 'resnet18', path)).toMatchObject({ ok: true, sha256: checkpoint.sha256, fromCache: true });
    await other.close();
    expect(server.count(path)).toBe(1);
    expect(await cached(page)).toEqual([`${server.origin}${path}`]);
  });

  it('refuses a file whose bytes do not match the hash in its name, and caches nothing', async () => {
    const r = await run(page, 'resnet18', 'IMAGENET1K_V1', { mirror: `${server.origin}/models/` });
    expect(r.ok).toBe(false);
    expect(r.error).toMatchObject({
      name: 'WeightsDownloadError',
      failure: 'hash-mismatch',
      expected: 'f37072fd',
      actual: checkpoint.sha256,
    });
    expect(r.error?.message).toContain(`${server.origin}/models/resnet18-f37072fd.pth`);
    expect(r.error?.message).toContain(checkpoint.sha256);
    expect(server.count('/models/resnet18-f37072fd.pth')).toBe(1);
    expect(await cached(page)).not.toContain(`${server.origin}/models/resnet18-f37072fd.pth`);
  });

  it.each([
    ['a 404', '/status/404/', 'http-status', {}],
    ['a 500', '/status/500/', 'http-status', {}],
    ['a connection dropped halfway', '/drop/', 'interrupted', {}],
    ['a stalled transfer', '/stall/', 'stalled', { stallTimeoutMs: 500 }],
  ])('refuses %s and caches nothing', async (_what, route, failure, options) => {
    const before = await cached(page);
    const r = await run(page, 'resnet18', `${route}${checkpoint.file}`, options);
    expect(r.ok).toBe(false);
    expect(r.error?.failure, r.error?.message).toBe(failure);
    expect(r.error?.message).toContain(`${server.origin}${route}${checkpoint.file}`);
    expect(r.error?.message).toContain(hashPrefixOf(checkpoint.file) as string);
    expect(await cached(page)).toEqual(before);
  });

  it('follows the redirects the browser follows', async () => {
    const r = await run(page, 'resnet18', `/redirect/2/${checkpoint.file}`, { cache: false });
    expect(r).toMatchObject({ ok: true, sha256: checkpoint.sha256, fromCache: false });
  });
});
