#!/usr/bin/env node
// Installs everything this repository needs on a fresh machine that has only Node 20 and npm:
//   node scripts/bootstrap.mjs            pnpm (the pinned version) and the workspace's packages
//   node scripts/bootstrap.mjs --test     also the Debian packages the tests use (torch and
//                                         torchvision as the numerical oracle, Chromium, Jupyter,
//                                         clang to check our compiled WASM kernels, real photos
//                                         from scikit-image and matplotlib for the image tests)
// Idempotent: what is already installed is left alone. Needs root (or sudo) for apt-get.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installSystemPackages } from './system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const log = (m) => console.log(`bootstrap: ${m}`);

function run(cmd, argv, options = {}) {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', cwd: root, ...options });
  if (r.status !== 0) {
    console.error(`bootstrap: \`${cmd} ${argv.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

const [major] = process.versions.node.split('.').map(Number);
if (major < 20) {
  console.error(`bootstrap: Node ${process.versions.node} is too old; install Node 20 or newer`);
  process.exit(1);
}

// 1. Debian packages for the tests (the oracle, the browser, Jupyter, clang).
if (args.has('--test') && !installSystemPackages(['reference', 'browser', 'notebooks', 'wasm-kernels', 'images'], log))
  process.exit(1);

// 2. pnpm, the exact version of package.json's packageManager (corepack cannot verify it here).
const wanted = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
let current = '';
try {
  current = execFileSync('pnpm', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {}
if (current !== wanted) {
  log(`installing pnpm ${wanted}${current ? ` (found ${current})` : ''}`);
  run('npm', ['install', '--global', '--no-fund', '--no-audit', `pnpm@${wanted}`]);
}

// 3. The workspace's dependencies, exactly as locked.
run('pnpm', ['install', '--frozen-lockfile', '--config.confirmModulesPurge=false'], {
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});
log('done');
