#!/usr/bin/env node
// pnpm bench:train — ResNet-20 training steps (batch 128, 32×32×3, SGD momentum + cross-entropy)
// with @resnet on tfjs WASM (one thread, and data-parallel over the machine's cores with
// createDataParallel) beside Debian's torch running the same net on one thread and on every core.
// Each runs in a process of its own, kept alive, and the steps are interleaved (one step of each
// per round), with the machine's load sampled around every step (bench/load-guard.mjs): a run
// taken under load is printed but not recorded unless --force, which marks it.
// Options: --batch N --steps N --quick --force.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, roundRobin } from './child.mjs';
import { loadAverageNow, recordDecision, rowReasons, startCheck } from './load-guard.mjs';
import { PYTHON } from './networks.mjs';
import { machine, summarize } from './common.mjs';
import { renderTrainingDoc } from './train-doc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    batch: { type: 'string' },
    steps: { type: 'string' },
    quick: { type: 'boolean' },
    force: { type: 'boolean' },
  },
});
const quick = values.quick === true;
const batch = Number(values.batch ?? 128);
const steps = Number(values.steps ?? (quick ? 2 : 5));
const cores = availableParallelism();

const start = await startCheck();
const reasons = start.reason ? [start.reason] : [];
const started = Date.now();
const sides = [
  {
    key: 'ours',
    label: '@resnet, tfjs WASM, 1 thread',
    command: process.execPath,
    args: [join(here, 'train-run.mjs'), JSON.stringify({ batch, replicas: 1 })],
  },
  {
    key: 'parallel',
    label: `@resnet, tfjs WASM, ${cores} replicas`,
    command: process.execPath,
    args: [join(here, 'train-run.mjs'), JSON.stringify({ batch, replicas: cores })],
  },
  { key: 'torch', label: 'torch, 1 thread', command: PYTHON, args: [join(here, 'train_torch.py'), String(batch), '1'] },
  {
    key: 'torchAll',
    label: `torch, ${cores} threads`,
    command: PYTHON,
    args: [join(here, 'train_torch.py'), String(batch), String(cores)],
  },
];
const children = [];
const record = {
  date: new Date().toISOString(),
  machine: machine(),
  node: process.version,
  batch,
  steps,
  method: 'one process per configuration, kept alive; steps interleaved round-robin after a warm-up step each',
};
try {
  for (const s of sides) children.push(await BenchChild.start(s.label, s.command, s.args, { cwd: here }));
  const rows = await roundRobin(children, { warmup: 0, runs: steps, gapMs: 100 });
  const kernels = (await children[0].request({ cmd: 'kernels' })).kernels;
  sides.forEach((s, i) => {
    const stepSeconds = summarize(rows[i].times).median / 1000;
    const info = children[i].info;
    record[s.key] = {
      ...(s.key.startsWith('torch')
        ? { torch: info.torch, threads: info.threads }
        : { backend: 'wasm', threads: info.threads }),
      ...(s.key === 'parallel' ? { replicas: info.replicas } : {}),
      stepSeconds,
      imagesPerSec: batch / stepSeconds,
      ...(s.key === 'ours' ? { kernels } : {}),
      load: rows[i].load,
    };
    reasons.push(...rowReasons(s.label, rows[i].load));
  });
} finally {
  await Promise.all(children.map((c) => c.close()));
}
record.ratio = record.ours.imagesPerSec / record.torch.imagesPerSec;
record.ratioParallel = record.parallel.imagesPerSec / record.torch.imagesPerSec;
record.ratioAllCores = record.parallel.imagesPerSec / record.torchAll.imagesPerSec;
record.loadAverage = { start: start.loadAverage, end: loadAverageNow() };
record.othersCoresBeforeRun = start.othersCores;
record.durationSeconds = Math.round((Date.now() - started) / 1000);

const rows = [
  [`ResNet-20 train step, batch ${batch}`, 'images/s', 'step (s)', 'others (cores)'],
  ...sides.map((s) => [
    s.label,
    record[s.key].imagesPerSec.toFixed(1),
    record[s.key].stepSeconds.toFixed(3),
    record[s.key].load.othersCores.toFixed(2),
  ]),
  ['ratio @resnet 1 thread / torch 1', record.ratio.toFixed(3), '', ''],
  [`ratio @resnet ${cores} replicas / torch 1`, record.ratioParallel.toFixed(3), '', ''],
  [`ratio @resnet ${cores} replicas / torch ${cores}`, record.ratioAllCores.toFixed(3), '', ''],
];
for (const r of rows) console.log(`${r[0].padEnd(40)} ${r[1].padStart(10)} ${r[2].padStart(10)} ${r[3].padStart(15)}`);
console.log(
  'slowest kernels in one @resnet step (ms):',
  record.ours.kernels.map((k) => `${k.name} ${k.ms}`).join(', '),
);
const decision = recordDecision({ reasons, force: values.force === true, quick, what: 'the training benchmark' });
Object.assign(record, decision.fields);
if (decision.write) {
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', 'train.json'), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(join(here, '..', 'docs', 'benchmarks', 'training.md'), renderTrainingDoc(record));
  console.log('recorded bench/results/train.json and docs/benchmarks/training.md');
} else if (!quick) {
  process.exitCode = 2;
}
