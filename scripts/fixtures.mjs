#!/usr/bin/env node
// Generates the torchvision reference fixtures (tools/fixtures/generate.py) into ./fixtures
// (or $RESNET_FIXTURES) unless they are already there and current.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(root, process.env.RESNET_FIXTURES ?? 'fixtures');
const generator = join(root, 'tools/fixtures/generate.py');
const version = Number(/^VERSION = (\d+)/m.exec(readFileSync(generator, 'utf8'))?.[1]);
const manifest = join(out, 'manifest.json');
if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).version === version) {
  console.log(`fixtures: current (version ${version}) in ${out}`);
  process.exit(0);
}
if (spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { stdio: 'ignore' }).status !== 0) {
  console.error(
    `fixtures: ${PYTHON} cannot import torch and torchvision; run \`node scripts/bootstrap.mjs --test\` (installs python3-torch and python3-torchvision)`,
  );
  process.exit(1);
}
const r = spawnSync(PYTHON, [generator, out], { stdio: 'inherit' });
process.exit(r.status ?? 1);
