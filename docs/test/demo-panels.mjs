// The live demo's three panels in headless Chromium (docs/test/browser.mjs runs them), each against
// a reference we did not write in the page:
//   1. the shipped Fashion-MNIST ResNet-20 classifies test images on WASM and on WebGL with the
//      top-5 of Node's `pretrained('resnet20', { weights: 'FASHION_MNIST' }).classify` on the same
//      PNG files; a drawing and an upload are classified; a file that is no image is an error in
//      the page; the tensor count does not grow with classifications;
//   2. torchvision's top-5 (the classify fixtures: a resnet50 .pth made by Debian's torch and
//      torchvision's output on real photos) from the .pth downloaded by URL from this test server,
//      verified against the SHA-256 prefix in its name; a file under a name whose hash is not its
//      own, a file that is no checkpoint and a checkpoint of another architecture are errors in the
//      page with what to do;
//   3. a head trained in the page on Fashion-MNIST images of two classes (train split) classifies
//      held-out images (test split) far above chance.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Test images of panel 1 (files of docs/public/fashion-mnist): one per class for WASM, three for WebGL. */
const WASM_IMAGES = Array.from({ length: 10 }, (_, j) => `test-${j}.png`);
const WEBGL_IMAGES = ['test-1.png', 'test-7.png', 'test-13.png'];
/**
 * Node and Chromium run the same XNNPACK float32 WASM kernels; the task's bound for WASM is 1e-4.
 */
const WASM_TOLERANCE = 1e-4;
/**
 * WebGL with float32 textures (SwiftShader here; the page's caption says "32-bit floats", checked
 * below) computes in float32 as WASM does, in another summation order and with the shader's own
 * exp: float32 rounding of ~1e-7 relative in ResNet-20's logits (measured: 2.5e-8 on the
 * probabilities on 2026-12-06), far inside the same bound as WASM.
 */
const WEBGL_TOLERANCE = 1e-4;
const PANEL_TIMEOUT_MS = 120_000;
/** Panel 3: Fashion-MNIST Sandal (5) vs Sneaker (7), 8 training images each, 10 held-out each. */
const TEACH = { classes: [5, 7], train: 8, heldOut: 10, minCorrect: 16 };

/** The classify fixtures' manifest (tools/weights/classify_reference.py), or an error saying how to make it. */
export function classifyFixtures() {
  const dir = resolve(
    root,
    process.env.RESNET_CLASSIFY_FIXTURES ?? join(process.env.RESNET_FIXTURES ?? 'fixtures', 'classify'),
  );
  const script = readFileSync(join(root, 'tools/weights/classify_reference.py'), 'utf8');
  const version = Number(/^CLASSIFY_VERSION = (\d+)/m.exec(script)?.[1]);
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch {
    throw new Error(`no classify fixtures in ${dir}: run \`pnpm fixtures\` (Debian's python3-torch) first`);
  }
  if (manifest.version !== version)
    throw new Error(
      `the classify fixtures in ${dir} are stale (version ${manifest.version}, not ${version}): run \`pnpm fixtures\``,
    );
  return { dir, manifest };
}

/** The URL paths the test server adds for the panels: the checkpoint (under its name and a wrong one) and a photo. */
export function demoRoutes({ dir, manifest }) {
  const { file } = manifest.checkpoint;
  const chelsea = manifest.photos.find((p) => p.name === 'chelsea.png');
  return {
    [`/models/${file}`]: join(dir, file),
    [`/models/${file.replace(/-[0-9a-f]{8}\./, '-00000000.')}`]: join(dir, file),
    '/photos/chelsea.png': chelsea.path,
  };
}

/** Fashion-MNIST PNGs of panel 3 as setInputFiles takes them: training images by class, held-out test images. */
async function teachImages() {
  const { fashionMnistPngs } = await import('../scripts/fashion-mnist.mjs');
  const files = async (split, perClass) =>
    (await fashionMnistPngs(split, perClass))
      .filter((x) => TEACH.classes.includes(x.label))
      .map((x) => ({
        name: `${split}-${x.label}-${x.index}.png`,
        mimeType: 'image/png',
        buffer: Buffer.from(x.png),
        label: x.label,
      }));
  const train = await files('train', TEACH.train);
  return {
    train: TEACH.classes.map((c) => train.filter((x) => x.label === c)),
    heldOut: await files('test', TEACH.heldOut),
  };
}

/** Node's answer for the gallery's PNG files: file → top-5 of `pretrained(...).classify(path)` on WASM. */
async function nodeFashion(dist, files) {
  const { initBackend } = await import('@resnet/backends');
  const { pretrained } = await import('@resnet/zoo/node');
  await initBackend({ prefer: 'wasm' });
  const model = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
  const out = {};
  for (const f of files) out[f] = await model.classify(join(dist, 'fashion-mnist', f));
  model.dispose();
  return out;
}

/** Does `action` in a panel, then waits until the operation it started has finished (the panel's data-runs grows). */
async function act(page, panel, action) {
  const runs = () => page.locator(`[data-test="${panel}"]`).getAttribute('data-runs').then(Number);
  const before = await runs();
  await action();
  await page.waitForFunction(
    ([p, n]) => Number(document.querySelector(`[data-test="${p}"]`)?.getAttribute('data-runs')) > n,
    [panel, before],
    { timeout: PANEL_TIMEOUT_MS, polling: 100 },
  );
}

/** The text of an element, or '' when there is none (without waiting for one to appear). */
const text = async (locator) => ((await locator.count()) ? ((await locator.first().textContent()) ?? '').trim() : '');

/** The rows of a top-k table: [{ index, probability }]. */
const topk = (locator) =>
  locator.locator('[data-test="topk"] tr').evaluateAll((rows) =>
    rows.map((r) => ({
      index: Number(r.getAttribute('data-index')),
      probability: Number(r.getAttribute('data-probability')),
    })),
  );

const tensors = async (page) =>
  Number((await page.locator('[data-test="tensors"]').textContent()).match(/: (\d+)/)?.[1]);

function compareTop5(got, want) {
  const same = got.length === want.length && got.every((p, k) => p.index === want[k].index);
  const worst = Math.max(...got.map((p, k) => Math.abs(p.probability - (want[k]?.probability ?? Number.NaN))));
  return { same, worst };
}

/** Each panel in turn; a panel that throws is a failure that does not stop the others. */
export async function demoPanelsTest(context) {
  await context.page.goto(`${context.server.url}/demo/`, { waitUntil: 'networkidle' });
  for (const [n, panel] of [fashionPanel, checkpointPanel, teachPanel].entries()) {
    const t0 = performance.now();
    try {
      await panel(context);
    } catch (e) {
      context.fail(`demo panel ${n + 1}: ${e.message.split('\n')[0]}`);
    }
    context.log(`demo panel ${n + 1}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

async function fashionPanel({ page, dist, fail, log }) {
  const node = await nodeFashion(dist, [...new Set([...WASM_IMAGES, ...WEBGL_IMAGES])]);
  const fm = page.locator('[data-test="fashion"]');
  const classifyTest = async (file) => {
    await act(page, 'fashion', () => fm.locator(`button[data-file="${file}"]`).click());
    const error = await text(fm.locator('[data-test="fm-error"]'));
    if (error) fail(`demo panel 1: ${file}: ${error}`);
    const latest = fm.locator('[data-test="fm-result"]').first();
    return {
      caption: await latest.locator('caption').textContent(),
      rows: await topk(latest),
      ms: Number(await latest.getAttribute('data-forward-ms')),
      backend: await latest.getAttribute('data-backend'),
    };
  };
  for (const [backend, files, tolerance] of [
    ['wasm', WASM_IMAGES, WASM_TOLERANCE],
    ['webgl', WEBGL_IMAGES, WEBGL_TOLERANCE],
  ]) {
    await fm.locator(`[data-test="fm-${backend}"]`).check();
    let worst = 0;
    const times = [];
    let count0;
    for (const [i, f] of files.entries()) {
      const r = await classifyTest(f);
      if (i === 0) count0 = await tensors(page);
      times.push(r.ms);
      if (r.backend !== backend) fail(`demo panel 1: ${f} ran on ${r.backend}, not ${backend}`);
      if (!r.caption.includes('32-bit floats')) fail(`demo panel 1: ${f}: not float32: ${r.caption}`);
      const want = node[f];
      const { same, worst: w } = compareTop5(r.rows, want);
      if (!same)
        fail(
          `demo panel 1: ${f} on ${backend}: top-5 ${r.rows.map((p) => p.index)}, Node's ${want.map((p) => p.index)}`,
        );
      worst = Math.max(worst, w);
    }
    const count1 = await tensors(page);
    log(
      `demo panel 1: ${files.length} Fashion-MNIST test images on ${backend}: Node's top-5, largest probability difference ${worst.toExponential(2)} (bound ${tolerance}); forward passes ${times.map((t) => t.toFixed(0)).join(', ')} ms; tensors ${count0} → ${count1}`,
    );
    if (!(worst <= tolerance))
      fail(`demo panel 1: ${backend} probabilities differ from Node's by ${worst} > ${tolerance}`);
    if (count1 !== count0)
      fail(
        `demo panel 1: ${backend}: tensors grew from ${count0} to ${count1} over ${files.length - 1} classifications`,
      );
  }
  // A drawing (a stroke on the canvas) and an upload are classified; a text file is an error.
  await fm.locator('[data-test="fm-wasm"]').check();
  const canvas = await fm.locator('[data-test="fm-canvas"]').boundingBox();
  await page.mouse.move(canvas.x + canvas.width * 0.3, canvas.y + canvas.height * 0.2);
  await page.mouse.down();
  await page.mouse.move(canvas.x + canvas.width * 0.3, canvas.y + canvas.height * 0.8, { steps: 8 });
  await page.mouse.move(canvas.x + canvas.width * 0.7, canvas.y + canvas.height * 0.8, { steps: 8 });
  await page.mouse.up();
  await act(page, 'fashion', () => fm.locator('[data-test="fm-classify-drawing"]').click());
  const drawn = await topk(fm.locator('[data-test="fm-result"][data-source="your drawing"]').first());
  if (drawn.length !== 5 || Math.abs(drawn.reduce((s, p) => s + p.probability, 0) - 1) > 0.5)
    fail(`demo panel 1: the drawing gave ${JSON.stringify(drawn)}`);
  await act(page, 'fashion', () =>
    fm.locator('[data-test="fm-upload"]').setInputFiles(join(dist, 'fashion-mnist', 'test-7.png')),
  );
  const uploaded = await topk(fm.locator('[data-test="fm-result"][data-source="test-7.png"]').first());
  if (uploaded[0]?.index !== node['test-7.png'][0].index)
    fail(`demo panel 1: the upload gave ${JSON.stringify(uploaded)}`);
  await act(page, 'fashion', () =>
    fm
      .locator('[data-test="fm-upload"]')
      .setInputFiles({ name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('not an image') }),
  );
  const fmError = await text(fm.locator('[data-test="fm-error"]'));
  log(`demo panel 1: a drawing → ${drawn[0]?.index}, an upload, and a bad file: "${fmError.split('\n')[0]}"`);
  if (!fmError.includes('PNG or JPEG')) fail(`demo panel 1: a file that is no image shows "${fmError}"`);
}

async function checkpointPanel({ page, server, fixtures, fail, log }) {
  const ck = page.locator('[data-test="checkpoint"]');
  const { manifest } = fixtures;
  const file = manifest.checkpoint.file;
  const ckError = () => text(ck.locator('[data-test="ck-error"]'));
  await ck.locator('[data-test="ck-arch"]').selectOption('resnet50');
  await ck.locator('[data-test="ck-url"]').fill(`${server.url}/models/${file}`);
  const t0 = performance.now();
  await act(page, 'checkpoint', () => ck.locator('[data-test="ck-load-url"]').click());
  const loadMs = performance.now() - t0;
  const model = await text(ck.locator('[data-test="ck-model"]'));
  if (!model.includes(file) || !model.includes('verified'))
    fail(`demo panel 2: after loading ${file}: "${model}" ${await ckError()}`);
  await act(page, 'checkpoint', () =>
    ck.locator('[data-test="ck-photo"]').setInputFiles(manifest.photos.find((p) => p.name === 'chelsea.png').path),
  );
  const got = await topk(ck.locator('[data-test="ck-result"]'));
  const want = manifest.photos.find((p) => p.name === 'chelsea.png').top5;
  const { same, worst } = compareTop5(got, want);
  log(
    `demo panel 2: ${file} downloaded, verified and loaded in ${(loadMs / 1000).toFixed(1)} s; chelsea.png: ${same ? "torchvision's top-5" : `top-5 ${got.map((p) => p.index)} (torchvision: ${want.map((p) => p.index)})`}, largest probability difference ${worst.toExponential(2)}`,
  );
  if (!same || !(worst <= 1e-4)) fail(`demo panel 2: chelsea.png is not torchvision's top-5 within 1e-4`);
  // The photo by URL gives the same, and leaves no tensor behind.
  const before = await tensors(page);
  await ck.locator('[data-test="ck-photo-url"]').fill(`${server.url}/photos/chelsea.png`);
  await act(page, 'checkpoint', () => ck.locator('[data-test="ck-photo-go"]').click());
  const byUrl = await topk(ck.locator('[data-test="ck-result"][data-source$="chelsea.png"]'));
  if (JSON.stringify(byUrl) !== JSON.stringify(got))
    fail(`demo panel 2: the photo by URL gave ${JSON.stringify(byUrl)}`);
  const after = await tensors(page);
  if (after !== before) fail(`demo panel 2: tensors grew from ${before} to ${after} with one classification`);
  // Errors, each shown with what to do; the loaded model stays.
  const errorCases = [
    [
      'a file under a name whose hash is not its own',
      async () => {
        await ck
          .locator('[data-test="ck-url"]')
          .fill(`${server.url}/models/${file.replace(/-[0-9a-f]{8}\./, '-00000000.')}`);
        await ck.locator('[data-test="ck-load-url"]').click();
      },
      'does not match the SHA-256 prefix',
    ],
    [
      'a file that is no checkpoint',
      async () => {
        await ck.locator('[data-test="ck-file"]').setInputFiles({
          name: 'weights.pth',
          mimeType: 'application/octet-stream',
          buffer: Buffer.from('not a checkpoint at all'),
        });
      },
      'is not a PyTorch checkpoint',
    ],
    [
      'resnet50 weights for resnet18',
      async () => {
        await ck.locator('[data-test="ck-arch"]').selectOption('resnet18');
        await ck.locator('[data-test="ck-url"]').fill(`${server.url}/models/${file}`);
        await ck.locator('[data-test="ck-load-url"]').click();
      },
      'do not fit the architecture',
    ],
  ];
  for (const [what, action, expected] of errorCases) {
    await act(page, 'checkpoint', action);
    const e = await ckError();
    log(`demo panel 2: ${what}: "${e.split('\n')[0]}"`);
    if (!e.includes(expected)) fail(`demo panel 2: ${what} shows "${e}", expected "${expected}"`);
  }
  if ((await ck.getAttribute('data-loaded')) !== 'true') fail('demo panel 2: a failed load dropped the loaded model');
}

async function teachPanel({ page, fail, log }) {
  const tm = page.locator('[data-test="teach"]');
  const images = await teachImages();
  const names = ['Sandal', 'Sneaker'];
  await tm.locator('[data-test="tm-fashion"]').check();
  for (const [k, name] of names.entries()) {
    await tm.locator(`[data-test="tm-name-${k}"]`).fill(name);
    await tm.locator(`[data-test="tm-files-${k}"]`).setInputFiles(images.train[k]);
  }
  await act(page, 'teach', () => tm.locator('[data-test="tm-train"]').click());
  const report = await text(tm.locator('[data-test="tm-report"]'));
  const tmError = await text(tm.locator('[data-test="tm-error"]'));
  if (!report) {
    fail(`demo panel 3: no head trained: ${tmError}`);
    return;
  }
  const before = await tensors(page);
  let correct = 0;
  for (let round = 0; round < 2; round++) {
    await act(page, 'teach', () => tm.locator('[data-test="tm-test"]').setInputFiles(images.heldOut));
  }
  const rows = await tm
    .locator('[data-test="tm-predictions"] tbody tr')
    .evaluateAll((rs) => rs.map((r) => ({ name: r.getAttribute('data-name'), best: r.getAttribute('data-best') })));
  for (const r of rows) {
    const label = Number(/^test-(\d+)-/.exec(r.name)?.[1]);
    if (r.best === names[TEACH.classes.indexOf(label)]) correct++;
  }
  const after = await tensors(page);
  log(
    `demo panel 3: ${report} Held-out Fashion-MNIST test images: ${correct} of ${rows.length} right (chance: half; at least ${TEACH.minCorrect} required); tensors ${before} → ${after} over two rounds`,
  );
  if (rows.length !== images.heldOut.length)
    fail(`demo panel 3: ${rows.length} predictions for ${images.heldOut.length} images`);
  if (correct < TEACH.minCorrect)
    fail(`demo panel 3: ${correct} of ${rows.length} held-out images right, fewer than ${TEACH.minCorrect}`);
  if (after !== before) fail(`demo panel 3: tensors grew from ${before} to ${after} while classifying`);
}
