// Benchmark: the time of `pretrained('resnet50')` when the file is already in the cache (Node),
// beside torchvision's `resnet50(weights=...)` with the file in torch's cache (Debian's torch):
// both build the network, read the 98 MB .pth and load it. Ours also checks the file's SHA-256
// against its name on every call (torch.hub checks only when it downloads). The checkpoint is the
// classify fixture (tools/weights/classify_reference.py), a torchvision resnet50 state_dict of the
// same size and format as torchvision's own. One run of each, medians, load average printed.
//
//   pnpm --filter @resnet/bench bench:pretrained            print the table
//   pnpm --filter @resnet/bench bench:pretrained --write    also record bench/results/pretrained.json
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@resnet/backends';
import { buildUninitialized, loadStateDict } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import { createModel } from '@resnet/zoo';
import { pretrained, sha256File } from '@resnet/zoo/node';
import { machine, summarize, table } from './common.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = 5;
const fixtures = resolve(
  ROOT,
  process.env.RESNET_CLASSIFY_FIXTURES ?? join(process.env.RESNET_FIXTURES ?? 'fixtures', 'classify'),
);
if (!existsSync(join(fixtures, 'manifest.json'))) {
  console.error(`no classify fixtures in ${fixtures}: run \`pnpm fixtures\` first`);
  process.exit(1);
}
const { checkpoint } = JSON.parse(readFileSync(join(fixtures, 'manifest.json'), 'utf8'));
const source = join(fixtures, checkpoint.file);

const median = (xs) => summarize(xs).median;
const timed = async (fn) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

const home = mkdtempSync(join(tmpdir(), 'resnet-bench-pretrained-'));
const cached = join(home, 'checkpoints', checkpoint.file);
mkdirSync(dirname(cached), { recursive: true });
copyFileSync(source, cached);
process.env.RESNET_HOME = home;
const url = `https://download.pytorch.org/models/${checkpoint.file}`;
const loadBefore = loadavg()[0];
const backend = await initBackend();

// Ours: the whole call, then its parts (hash check, reading the .pth, building, loading).
(await pretrained('resnet50', { weights: url, progress: false })).dispose(); // warm-up (WASM compiled, file in the page cache)
const whole = [];
const parts = { hash: [], read: [], build: [], load: [] };
for (let i = 0; i < RUNS; i++) {
  let model;
  whole.push(await timed(async () => (model = await pretrained('resnet50', { weights: url, progress: false }))));
  model.dispose();
  parts.hash.push(await timed(() => sha256File(cached)));
  let tensors;
  parts.read.push(await timed(() => (tensors = readStateDictFile(cached).tensors)));
  let plain;
  parts.build.push(await timed(() => (plain = buildUninitialized(() => createModel('resnet50')))));
  parts.load.push(await timed(() => loadStateDict(plain, tensors)));
  plain.dispose();
}

// The peer: torchvision with the file in torch's cache, as `resnet50(weights=ResNet50_Weights.X)` loads it.
const torch = JSON.parse(
  execFileSync('/usr/bin/python3', [join(ROOT, 'bench/pretrained_torch.py'), cached, String(RUNS)], {
    encoding: 'utf8',
  }),
);
rmSync(home, { recursive: true, force: true });
const loadAfter = loadavg()[0];

const ours = median(whole);
const torchMs = median(torch.runs_ms);
const rows = [
  ["pretrained('resnet50') from the cache", ours],
  ['  SHA-256 of the file (every call)', median(parts.hash)],
  ['  readStateDictFile (.pth → host tensors)', median(parts.read)],
  ['  building resnet50 (zeros: no random initialisation)', median(parts.build)],
  ['  loadStateDict (layouts, strict checks)', median(parts.load)],
];
console.log(
  table(
    [`resnet50, ${(checkpoint.size / 2 ** 20).toFixed(1)} MB .pth, ${backend.name}`, 'median ms'],
    [
      ...rows.map(([name, ms]) => [name, ms.toFixed(0)]),
      [`torchvision resnet50(weights=...) from torch's cache (${torch.threads} threads)`, torchMs.toFixed(0)],
    ],
    ['l', 'r'],
  ),
);
const date = new Date().toISOString().slice(0, 10);
console.log(
  `\nratio (ours / torch): ${(ours / torchMs).toFixed(2)}; load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`,
);
console.log(`${date}, ${machine()}, torch ${torch.torch}`);

if (process.argv.includes('--write')) {
  const result = {
    date,
    machine: machine(),
    torch: torch.torch,
    backend: backend.name,
    fileBytes: checkpoint.size,
    runs: RUNS,
    loadAverage: [loadBefore, loadAfter],
    oursMs: ours,
    oursPartsMs: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, median(v)])),
    torchMs,
  };
  writeFileSync(join(ROOT, 'bench/results/pretrained.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log('recorded bench/results/pretrained.json');
}
