#!/usr/bin/env node
// Transfer learning on real images, offline: ResNet-20 pretrained with `resnet train` on five
// Fashion-MNIST classes written out as an image folder, then fine-tuned on the other five classes
// with 20 images per class and a frozen backbone, against the same budget from scratch.
//   node tools/transfer/transfer.mjs run [--seeds N]   writes the folders, pretrains, runs both arms
//                                                       per seed, records docs/data/transfer.json
//   node tools/transfer/transfer.mjs render             writes the table and the chart into
//                                                       docs/guide/training.md
//   node tools/transfer/transfer.mjs check              fails when the guide is not what render writes
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { replaceBlock } from '../markdown-block.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const work = join(root, '.cache/transfer');
const record = join(root, 'docs/data/transfer.json');
const guide = join(root, 'docs/guide/training.md');
const bin = join(root, 'packages/cli/dist/bin.js');

/** The experiment's size, chosen for a shared 2-core machine (see the guide). */
export const SETUP = {
  pretrainClasses: [0, 1, 2, 3, 4], // T-shirt/top, Trouser, Pullover, Dress, Coat
  targetClasses: [5, 6, 7, 8, 9], // Sandal, Shirt, Sneaker, Bag, Ankle boot
  pretrainPerClass: 600, // 3,000 training images
  pretrainValPerClass: 200, // 1,000 of the test split, to report the pretrained net's accuracy
  shotsPerClass: 20, // the fine-tuning set: 100 images; seed s takes images 20s … 20s+19 of each class
  targetTestPerClass: 1000, // all 5,000 test images of the five target classes
  imageSize: 32,
  cropScale: '0.25,1',
  pretrain: { epochs: 4, batch: 32, lr: 0.05, workers: 2 },
  finetune: { epochs: 30, batch: 20, lr: 0.05 },
};

/** The arms: the two (a frozen backbone against scratch) and full fine-tuning, for reference. */
const ARMS = {
  'fine-tuned': {
    label: 'fine-tuned, frozen backbone',
    args: (checkpoint) => ['--weights', checkpoint, '--freeze', 'backbone'],
    color: '#1f4e79',
  },
  'fine-tuned-all': {
    label: 'fine-tuned, all layers',
    args: (checkpoint) => ['--weights', checkpoint, '--freeze', 'none'],
    color: '#5dade2',
  },
  scratch: { label: 'from scratch', args: () => [], color: '#e6a23c' },
};

/** The command as recorded: paths relative to the work folder. */
const shown = (args) => `resnet ${args.map((a) => (a.startsWith(work) ? relative(work, a) : a)).join(' ')}`;

/**
 * Runs `resnet <args> --json` and returns its result, kept in .cache/transfer/results/<name>.json:
 * a run whose command is already there is not repeated (an interrupted experiment continues).
 */
function resnet(name, args, before = () => {}) {
  const file = join(work, 'results', `${name}.json`);
  if (existsSync(file)) {
    const kept = JSON.parse(readFileSync(file, 'utf8'));
    if (kept.command === shown(args)) return kept.result;
  }
  before();
  console.log(shown(args));
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`resnet ${args[0]} failed (exit ${r.status})`);
  const result = JSON.parse(r.stdout.trim().split('\n').pop());
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ command: shown(args), result })}\n`);
  return result;
}

async function writeFolders(seeds) {
  const marker = join(work, 'folders.json');
  const wanted = JSON.stringify({ setup: SETUP, seeds });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return;
  const { writeFashionMnistFolder } = await import(join(root, 'packages/train/dist/node.js'));
  rmSync(work, { recursive: true, force: true });
  const pretrain = { classes: SETUP.pretrainClasses };
  writeFashionMnistFolder(join(work, 'pretrain/train'), { ...pretrain, perClass: SETUP.pretrainPerClass });
  writeFashionMnistFolder(join(work, 'pretrain/val'), {
    ...pretrain,
    split: 'test',
    perClass: SETUP.pretrainValPerClass,
  });
  const target = { classes: SETUP.targetClasses };
  writeFashionMnistFolder(join(work, 'target/test'), { ...target, split: 'test', perClass: SETUP.targetTestPerClass });
  for (const seed of seeds) {
    const start = seed * SETUP.shotsPerClass;
    writeFashionMnistFolder(join(work, `target/train-${seed}`), { ...target, perClass: SETUP.shotsPerClass, start });
  }
  writeFileSync(marker, wanted);
}

function stats(values) {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { n, mean, std, min: Math.min(...values), max: Math.max(...values) };
}

async function run(seeds) {
  await writeFolders(seeds);
  const common = ['--arch', 'resnet20', '--image-size', String(SETUP.imageSize), '--crop-scale', SETUP.cropScale];
  const p = SETUP.pretrain;
  const pretrainArgs = [
    'train',
    ...common,
    '--data',
    join(work, 'pretrain/train'),
    '--val-data',
    join(work, 'pretrain/val'),
    '--epochs',
    String(p.epochs),
    '--batch',
    String(p.batch),
    '--lr',
    String(p.lr),
    '--workers',
    String(p.workers),
    '--backend',
    'wasm',
    '--checkpoint',
    join(work, 'pretrained'),
    '--json',
  ];
  const pretrained = join(work, 'pretrained');
  const pretrain = {
    command: shown(pretrainArgs),
    // A checkpoint left by an interrupted pretraining is replaced.
    result: resnet('pretrain', pretrainArgs, () => rmSync(pretrained, { recursive: true, force: true })),
  };
  const checkpoint = join(pretrained, 'checkpoint.safetensors');
  const runs = [];
  const f = SETUP.finetune;
  for (const seed of seeds) {
    for (const [arm, { args: extra }] of Object.entries(ARMS)) {
      const args = [
        'train',
        ...common,
        '--data',
        join(work, `target/train-${seed}`),
        '--val-data',
        join(work, 'target/test'),
        '--epochs',
        String(f.epochs),
        '--batch',
        String(f.batch),
        '--lr',
        String(f.lr),
        '--seed',
        String(seed),
        ...extra(checkpoint),
        '--backend',
        'wasm',
        '--json',
      ];
      const result = resnet(`${arm}-${seed}`, args);
      runs.push({ arm, seed, command: shown(args), result });
      console.log(`${arm}, seed ${seed}: ${(100 * result.valAccuracy).toFixed(2)}%`);
    }
  }
  const summary = Object.fromEntries(
    Object.keys(ARMS).map((arm) => [arm, stats(runs.filter((r) => r.arm === arm).map((r) => r.result.valAccuracy))]),
  );
  mkdirSync(dirname(record), { recursive: true });
  writeFileSync(
    record,
    `${JSON.stringify({ date: new Date().toISOString(), setup: SETUP, pretrain, runs, summary }, null, 2)}\n`,
  );
  console.log(`recorded ${relative(root, record)}: ${JSON.stringify(summary)}`);
}

const pct = (v, digits = 1) => `${(100 * v).toFixed(digits)}%`;

/** Accuracy per seed (dots) and the mean ± one standard deviation (bar and whiskers), per arm. */
function chart(data) {
  const arms = Object.keys(ARMS);
  const w = 60 + 160 * arms.length;
  const h = 240;
  const pad = { left: 44, right: 16, top: 28, bottom: 36 };
  const values = data.runs.map((r) => r.result.valAccuracy);
  const lo = Math.max(0, Math.floor(Math.min(...values) * 10 - 1) / 10);
  const hi = Math.min(1, Math.ceil(Math.max(...values) * 10) / 10);
  const y = (v) => pad.top + (1 - (v - lo) / (hi - lo)) * (h - pad.top - pad.bottom);
  const x = (i) => pad.left + ((i + 0.5) / arms.length) * (w - pad.left - pad.right);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="sans-serif" font-size="10">`;
  svg += `<text x="${w / 2}" y="14" text-anchor="middle" font-size="12">accuracy on the 5,000 test images of the five new classes</text>`;
  svg += `<line x1="${pad.left}" y1="${h - pad.bottom}" x2="${w - pad.right}" y2="${h - pad.bottom}" stroke="#888"/>`;
  svg += `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${h - pad.bottom}" stroke="#888"/>`;
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    svg += `<text x="${pad.left - 4}" y="${(y(v) + 3).toFixed(1)}" text-anchor="end">${pct(v, 0)}</text>`;
    svg += `<line x1="${pad.left}" y1="${y(v).toFixed(1)}" x2="${w - pad.right}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`;
  }
  arms.forEach((arm, i) => {
    const s = data.summary[arm];
    const cx = x(i);
    svg += `<rect x="${(cx - 28).toFixed(1)}" y="${y(s.mean).toFixed(1)}" width="56" height="${(h - pad.bottom - y(s.mean)).toFixed(1)}" fill="${ARMS[arm].color}" fill-opacity="0.25"/>`;
    svg += `<line x1="${cx}" y1="${y(s.mean - s.std).toFixed(1)}" x2="${cx}" y2="${y(s.mean + s.std).toFixed(1)}" stroke="${ARMS[arm].color}" stroke-width="2"/>`;
    const runs = data.runs.filter((r) => r.arm === arm);
    runs.forEach((r, k) => {
      const dx = (k - (runs.length - 1) / 2) * 10;
      svg += `<circle cx="${(cx + dx).toFixed(1)}" cy="${y(r.result.valAccuracy).toFixed(1)}" r="3.5" fill="${ARMS[arm].color}"><title>seed ${r.seed}: ${pct(r.result.valAccuracy, 2)}</title></circle>`;
    });
    svg += `<text x="${cx}" y="${h - pad.bottom + 14}" text-anchor="middle">${ARMS[arm].label}</text>`;
    svg += `<text x="${cx}" y="${h - pad.bottom + 26}" text-anchor="middle">${pct(s.mean)} ± ${pct(s.std)}</text>`;
  });
  return `${svg}</svg>`;
}

/** The guide's text with its transfer block rendered from the record. */
export function renderGuide(text, data) {
  const s = data.setup;
  const seeds = [...new Set(data.runs.map((r) => r.seed))];
  const rows = Object.keys(ARMS).map((arm) => {
    const sum = data.summary[arm];
    const perSeed = seeds.map((seed) =>
      pct(data.runs.find((r) => r.arm === arm && r.seed === seed).result.valAccuracy, 2),
    );
    const trainable = data.runs.find((r) => r.arm === arm).result.trainableParameters;
    return `| ${ARMS[arm].label} | **${pct(sum.mean, 2)} ± ${pct(sum.std, 2)}** | ${pct(sum.min, 2)} – ${pct(sum.max, 2)} | ${perSeed.join(', ')} | ${trainable.toLocaleString('en-US')} |`;
  });
  const pre = data.pretrain.result;
  const first = data.runs[0].result;
  const commands = Object.entries(ARMS).map(([arm, { label }]) => {
    const r = data.runs.find((x) => x.arm === arm && x.seed === seeds[0]);
    return `- ${label}: \`${r.command}\``;
  });
  const block = [
    '<!-- transfer:start (generated by `node tools/transfer/transfer.mjs render` from docs/data/transfer.json; do not edit) -->',
    '',
    `Recorded ${data.date.slice(0, 10)}. Pretraining: \`${data.pretrain.command}\` — ${pre.trainImages.toLocaleString('en-US')} images of ${pre.classes.join(', ')}; **${pct(pre.valAccuracy, 2)}** on ${pre.valImages.toLocaleString('en-US')} of their test images.`,
    '',
    `Then ${s.shotsPerClass} images per class of ${first.classes.join(', ')} (seed s takes images ${s.shotsPerClass}s to ${s.shotsPerClass}s + ${s.shotsPerClass - 1} of each class), the same epochs, batches, learning rate and augmentation in every arm, and the accuracy on all ${first.valImages.toLocaleString('en-US')} test images of those classes. Seed ${seeds[0]}'s commands:`,
    '',
    ...commands,
    '',
    '| arm | accuracy, mean ± std | min – max | per seed | parameters trained |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    chart(data),
    '',
    '<!-- transfer:end -->',
  ].join('\n');
  const updated = replaceBlock(text, 'transfer', block);
  if (updated === null) throw new Error(`${relative(root, guide)} has no transfer markers`);
  return updated;
}

function readRecord() {
  if (!existsSync(record))
    throw new Error(`no ${relative(root, record)}: run \`node tools/transfer/transfer.mjs run\` first`);
  return JSON.parse(readFileSync(record, 'utf8'));
}

function render() {
  const data = readRecord();
  writeFileSync(guide, renderGuide(readFileSync(guide, 'utf8'), data));
  console.log(`rendered ${data.runs.length} runs into ${relative(root, guide)}`);
}

function check() {
  const text = readFileSync(guide, 'utf8');
  if (renderGuide(text, readRecord()) !== text) {
    console.error(
      `${relative(root, guide)}: the transfer block is stale; run \`node tools/transfer/transfer.mjs render\``,
    );
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [mode, ...rest] = process.argv.slice(2);
  const seedsArg = rest.indexOf('--seeds');
  const seedCount = seedsArg >= 0 ? Number(rest[seedsArg + 1]) : 3;
  if (mode === 'run' && Number.isInteger(seedCount) && seedCount >= 1)
    await run(Array.from({ length: seedCount }, (_, i) => i));
  else if (mode === 'render') render();
  else if (mode === 'check') check();
  else {
    console.error('usage: node tools/transfer/transfer.mjs run [--seeds N] | render | check');
    process.exit(2);
  }
}
