#!/usr/bin/env node
// Generates the reference fixtures with Debian's torch into ./fixtures (or $RESNET_FIXTURES), each
// generator only when its output is missing or older than its VERSION:
//   tools/fixtures/generate.py → <fixtures>/            torchvision models, layers, outputs
//   tools/fixtures/pth.py      → <fixtures>/pth/        .pth files written by torch.save
//                                                        (or $RESNET_PTH_FIXTURES)
//   tools/weights/classify_reference.py → <fixtures>/classify/   a resnet50 .pth and torchvision's
//                                                        top-5 on real photos (or $RESNET_CLASSIFY_FIXTURES)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.env.RESNET_FIXTURES ?? 'fixtures');
const generators = [
  { script: 'tools/fixtures/generate.py', constant: 'VERSION', out },
  {
    script: 'tools/fixtures/pth.py',
    constant: 'PTH_VERSION',
    out: resolve(root, process.env.RESNET_PTH_FIXTURES ?? join(out, 'pth')),
  },
  {
    script: 'tools/weights/classify_reference.py',
    constant: 'CLASSIFY_VERSION',
    out: resolve(root, process.env.RESNET_CLASSIFY_FIXTURES ?? join(out, 'classify')),
  },
];

let checkedTorch = false;
for (const g of generators) {
  const generator = join(root, g.script);
  const pattern = new RegExp(`^${g.constant} = (\\d+)`, 'm');
  const version = Number(pattern.exec(readFileSync(generator, 'utf8'))?.[1]);
  const manifest = join(g.out, 'manifest.json');
  if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version) {
    console.log(`fixtures: current (${g.script} version ${version}) in ${g.out}`);
    continue;
  }
  if (!checkedTorch && spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status !== 0) {
    console.error(
      `fixtures: ${PYTHON} cannot import torch and torchvision; run \`node scripts/bootstrap.mjs --test\` (installs python3-torch and python3-torchvision)`,
    );
    process.exit(1);
  }
  checkedTorch = true;
  const r = spawnSync(PYTHON, [generator, g.out], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
