#!/usr/bin/env node
// Browser tests of the built site (run `pnpm docs:build` first; turbo does it for `test`), in
// Debian's Chromium driven by playwright-core:
//   1. every page reachable from the home page loads without a console error or page error,
//      its icon (what a browser fetches for the tab: the page's <link rel="icon">, or else
//      /favicon.ico) is an image of the site, and every internal link on it resolves to a page
//      (not the 404 page) and to its #anchor; the server answers no request of the run with a 404;
//   2. the local search finds a page;
//   3. the live demo's panels (demo-panels.mjs): the shipped Fashion-MNIST model on WASM and WebGL
//      against Node, a torchvision checkpoint downloaded from this server against torchvision's
//      top-5, a head trained in the page; then its last panel builds resnet18 and runs it on WASM
//      (?backends=wasm), printing the output shape [1, 1000] and the times, and shows
//      @resnet/summary's HTML summary.
// Exit code 0 when everything passed, 1 otherwise; one line per failure.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../tools/test-support/chromium.mjs';
import { classifyFixtures, demoPanelsTest, demoRoutes } from './demo-panels.mjs';
import { resolvePath, serve } from './server.mjs';

const docs = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(docs, '.vitepress/dist');
const DEMO_TIMEOUT_MS = 240_000;

if (!existsSync(join(dist, 'index.html'))) {
  console.error('docs test: docs/.vitepress/dist is missing; build the site first with `pnpm docs:build`');
  process.exit(1);
}
let launchOptions;
try {
  launchOptions = chromiumLaunchOptions();
} catch (e) {
  console.error(`docs test: ${e.message}`);
  process.exit(1);
}

/** The site's pages as clean URL paths: index.html → /, demo/index.html → /demo/, a.html → /a. */
function htmlPages(dir, prefix = '/') {
  const out = [];
  for (const f of readdirSync(dir).sort()) {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) {
      if (f !== 'assets') out.push(...htmlPages(path, `${prefix}${f}/`));
    } else if (f === 'index.html') out.push(prefix);
    else if (f.endsWith('.html') && !(prefix === '/' && f === '404.html')) out.push(`${prefix}${f.slice(0, -5)}`);
  }
  return out;
}

/** The clean URL path of the page a link path serves (/notebooks → /notebooks/ when it is a folder). */
function canonical(urlPath) {
  const file = resolvePath(dist, urlPath);
  if (!file) return urlPath;
  const rel = file.slice(dist.length).replace(/\\/g, '/');
  if (rel.endsWith('/index.html')) return rel.slice(0, -'index.html'.length);
  return rel.endsWith('.html') ? rel.slice(0, -5) : rel;
}

const failures = [];
const fail = (m) => {
  failures.push(m);
  console.log(`  FAIL ${m}`);
};
const demo = !process.argv.includes('--no-demo');
let fixtures;
try {
  fixtures = demo ? classifyFixtures() : undefined;
} catch (e) {
  console.error(`docs test: ${e.message}`);
  process.exit(1);
}
const t0 = performance.now();
const server = await serve(dist, fixtures ? demoRoutes(fixtures) : {});
const browser = await chromium.launch(launchOptions);

try {
  const context = await browser.newContext();
  // Nothing may leave the machine: every request goes to our server.
  await context.route(
    (url) => !url.href.startsWith(server.url),
    (route) => {
      fail(`request outside the site: ${route.request().url()}`);
      return route.abort();
    },
  );

  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Prefetches cut short by the next navigation are not failures.
    if (r.failure()?.errorText !== 'net::ERR_ABORTED')
      errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  // --demo-only (while working on the demo): skip 1 and 2.
  if (!process.argv.includes('--demo-only')) await pagesAndSearch(page, errors);

  // --- 3. the live demo -----------------------------------------------------------------------
  if (demo) {
    errors.length = 0;
    const started = performance.now();
    try {
      await demoPanelsTest({ page, server, dist, fixtures, fail, log: console.log });
    } catch (e) {
      fail(`demo panels: ${e.message.split('\n')[0]}`);
    }
    for (const e of errors) fail(`demo panels: ${e}`);
    console.log(`demo panels: ${((performance.now() - started) / 1000).toFixed(0)} s`);
    await demoTest(page, errors);
  }
  for (const path of new Set(server.notFound)) fail(`the server answered 404 for ${path}`);
} finally {
  await browser.close();
  await server.close();
}

/** 1. every page, every internal link; 2. the local search. */
async function pagesAndSearch(page, errors) {
  // --- 1. every page, every internal link -----------------------------------------------------
  // Every page of the build is loaded (not only those reachable), and each must be linked from
  // some page: the sidebar is built from the files, so an unlinked page means it lost one.
  const allPages = htmlPages(dist);
  const linked = new Set(['/']);
  const seen = new Set(['/', ...allPages]);
  const queue = ['/', ...allPages.filter((p) => p !== '/')];
  let links = 0;
  const anchors = [];
  const icons = new Map();
  while (queue.length) {
    const path = queue.shift();
    errors.length = 0;
    const response = await page.goto(server.url + path, { waitUntil: 'networkidle' });
    if (!response?.ok()) fail(`${path}: HTTP ${response?.status()}`);
    if ((await page.locator('.NotFound').count()) > 0) fail(`${path}: renders the 404 page`);
    for (const e of errors) fail(`${path}: ${e}`);
    // Headless Chromium never fetches a tab icon, so the test fetches the one a browser would.
    const declared = await page.$$eval('link[rel~="icon"]', (ls) => ls.map((l) => l.href));
    const icon = declared[0] ?? `${server.url}/favicon.ico`;
    if (!icons.has(icon)) icons.set(icon, { problem: await iconProblem(icon), pages: [] });
    icons.get(icon).pages.push(path);
    const hrefs = await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href')));
    const ids = new Set(await page.$$eval('[id]', (els) => els.map((e) => e.id)));
    for (const href of hrefs) {
      if (!href || /^[a-z]+:/i.test(href) || href.startsWith('//')) continue;
      const url = new URL(href, server.url + path);
      links += 1;
      const target = url.pathname;
      if (!resolvePath(dist, target)) {
        fail(`${path}: link ${href} → ${target} does not exist`);
        continue;
      }
      if (url.hash && target === new URL(server.url + path).pathname) {
        const id = decodeURIComponent(url.hash.slice(1));
        if (!ids.has(id)) fail(`${path}: link ${href} → no element with id ${id}`);
      } else if (url.hash) {
        anchors.push({ from: path, href, target, id: decodeURIComponent(url.hash.slice(1)) });
      }
      const key = canonical(target);
      linked.add(key);
      if (!seen.has(key)) {
        seen.add(key);
        queue.push(key);
      }
    }
  }
  const idsByPage = new Map();
  for (const a of anchors) {
    if (!idsByPage.has(a.target)) {
      await page.goto(server.url + a.target, { waitUntil: 'load' });
      idsByPage.set(a.target, new Set(await page.$$eval('[id]', (els) => els.map((e) => e.id))));
    }
    if (!idsByPage.get(a.target).has(a.id))
      fail(`${a.from}: link ${a.href} → no element with id ${a.id} on ${a.target}`);
  }
  for (const [icon, { problem, pages }] of icons) {
    if (problem) fail(`the icon ${icon.replace(server.url, '')} of ${pages.length} pages (${pages[0]}, …) ${problem}`);
  }
  console.log(
    `pages: ${seen.size} loaded, ${links} internal links checked (${anchors.length} to anchors on other pages), icon ${[...icons.keys()].map((i) => i.replace(server.url, '')).join(', ')}`,
  );
  for (const p of allPages) if (!linked.has(p)) fail(`${p}: no page links to it`);
  if (allPages.length < 15) fail(`only ${allPages.length} pages were built`);

  // --- 2. local search ------------------------------------------------------------------------
  await page.goto(`${server.url}/`, { waitUntil: 'networkidle' });
  await page.locator('.VPNavBarSearch button').first().click();
  const input = page.locator('.VPLocalSearchBox input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill('BottleneckBlock');
  const results = page.locator('.VPLocalSearchBox .results li');
  try {
    await results.first().waitFor({ timeout: 10_000 });
    const n = await results.count();
    const first = await results.first().locator('a').getAttribute('href');
    console.log(`search: "BottleneckBlock" → ${n} results, first ${first}`);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname !== '/', { timeout: 10_000 });
    if (!resolvePath(dist, new URL(page.url()).pathname)) fail(`search result leads to a missing page: ${page.url()}`);
  } catch (e) {
    fail(`search: no results for "BottleneckBlock" (${e.message.split('\n')[0]})`);
  }
}

/** Why the icon at `url` would not show in a browser's tab, or '' when it would. */
async function iconProblem(url) {
  const r = await fetch(url);
  const type = r.headers.get('content-type') ?? '';
  await r.arrayBuffer();
  if (!r.ok) return `answers HTTP ${r.status}`;
  return type.startsWith('image/') ? '' : `is ${type}, not an image`;
}

async function demoTest(page, errors) {
  errors.length = 0;
  // WASM only: panel 1 checks WebGL (SwiftShader) against Node; resnet18's WebGL passes here took 23 s.
  await page.goto(`${server.url}/demo/?arch=resnet18&backends=wasm&autorun`, { waitUntil: 'domcontentloaded' });
  const demo = page.locator('.resnet-demo');
  try {
    await page.waitForFunction(
      () => ['done', 'failed'].includes(document.querySelector('.resnet-demo')?.getAttribute('data-phase') ?? ''),
      undefined,
      { timeout: DEMO_TIMEOUT_MS, polling: 500 },
    );
  } catch {
    fail(`demo: did not finish within ${DEMO_TIMEOUT_MS / 1000} s`);
  }
  for (const backend of ['wasm']) {
    const row = demo.locator(`tr[data-backend="${backend}"]`);
    const status = await row.getAttribute('data-status').catch(() => null);
    const shape = (
      await row
        .locator('[data-test="shape"]')
        .textContent()
        .catch(() => '')
    )?.trim();
    const ms = (
      await row
        .locator('[data-test="ms"]')
        .textContent()
        .catch(() => '')
    )?.trim();
    const warm = (
      await row
        .locator('[data-test="warm-ms"]')
        .textContent()
        .catch(() => '')
    )?.trim();
    console.log(
      `demo: resnet18 on ${backend}: ${status}, output ${shape}, first pass ${ms} ms, second pass ${warm} ms`,
    );
    if (status !== 'done') fail(`demo: ${backend} ${status}: ${await row.textContent().catch(() => '')}`);
    if (shape !== '[1, 1000]') fail(`demo: ${backend} printed output shape ${shape}, expected [1, 1000]`);
    if (!/^\d+$/.test(ms ?? '')) fail(`demo: ${backend} printed no time`);
  }
  const summaryText =
    (await demo
      .locator('[data-test="summary"]')
      .textContent()
      .catch(() => '')) ?? '';
  const source = (
    await demo
      .locator('[data-test="summary-source"]')
      .textContent()
      .catch(() => '')
  )?.trim();
  const tables = await demo.locator('[data-test="summary"] .resnet-summary table').count();
  console.log(`demo: summary of ${summaryText.length} characters in ${tables} tables, ${source}`);
  // torchvision's resnet18 has 11,689,512 parameters (reference/torchvision_params.json).
  if (!summaryText.includes('11,689,512')) fail("demo: the summary does not show resnet18's 11,689,512 parameters");
  if (!source?.includes("@resnet/summary, formatSummary(s, 'html')"))
    fail(`demo: the summary is not @resnet/summary's HTML format (${source})`);
  // formatSummary(s, 'html'): the layer table, the totals and the stages.
  if (tables !== 3) fail(`demo: the summary has ${tables} tables of @resnet/summary's HTML format, expected 3`);
  for (const e of errors) fail(`demo: ${e}`);
}

console.log(`docs browser test: ${failures.length} failure(s) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(failures.length ? 1 : 0);
