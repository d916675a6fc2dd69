// Debian packages the repository uses, by purpose, and how to tell they are present.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const PYTHON = '/usr/bin/python3';

const GROUPS = {
  // The numerical oracle: Debian's torch and torchvision generate and check fixtures; ONNX's own
  // checker and shape inference (python3-onnx) check the files @resnet/onnx writes.
  reference: {
    packages: ['python3-torch', 'python3-torchvision', 'python3-numpy', 'python3-onnx'],
    present: () =>
      spawnSync(PYTHON, ['-c', 'import torch, torchvision, numpy, onnx'], { stdio: 'ignore' }).status === 0,
  },
  // Browser tests drive Debian's Chromium with playwright-core.
  browser: {
    packages: ['chromium'],
    present: () => existsSync('/usr/bin/chromium'),
  },
  // Our WASM kernels (packages/backends/csrc) are committed compiled; the tests rebuild them with
  // Debian's clang and check that the committed module is what the source builds.
  'wasm-kernels': {
    packages: ['clang', 'lld', 'llvm-14'],
    present: () =>
      existsSync('/usr/bin/clang') && existsSync('/usr/bin/wasm-ld') && existsSync('/usr/lib/llvm-14/bin/llvm-objdump'),
  },
  // Real photos for @resnet/images' tests against PIL and torchvision: scikit-image's data
  // (chelsea.png, coffee.png, astronaut.png, camera.png, rocket.jpg, ...) and matplotlib's sample
  // data (grace_hopper.jpg).
  images: {
    packages: ['python3-skimage', 'python-matplotlib-data'],
    present: () =>
      existsSync('/usr/lib/python3/dist-packages/skimage/data/chelsea.png') &&
      existsSync('/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg'),
  },
  // Notebooks run on Debian's Jupyter with the tslab kernel.
  notebooks: {
    packages: ['jupyter-nbconvert', 'jupyter-client', 'python3-ipython'],
    present: () =>
      existsSync('/usr/bin/jupyter-nbconvert') &&
      spawnSync(PYTHON, ['-c', 'import jupyter_client, IPython, nbconvert'], { stdio: 'ignore' }).status === 0,
  },
};

/** Debian packages of the given groups that are not installed yet. */
export function missingSystemPackages(groups) {
  const missing = [];
  for (const g of groups) {
    const group = GROUPS[g];
    if (!group) throw new Error(`unknown group ${g}`);
    if (!group.present()) missing.push(...group.packages);
  }
  return [...new Set(missing)];
}

/**
 * Installs the missing Debian packages of the given groups with apt-get (through sudo unless
 * root). Returns false when apt-get failed; nothing is installed twice.
 */
export function installSystemPackages(groups, log = (m) => console.log(m)) {
  const missing = missingSystemPackages(groups);
  if (missing.length === 0) return true;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (...argv) => {
    const [cmd, args] = process.getuid?.() === 0 ? ['apt-get', argv] : ['sudo', ['apt-get', ...argv]];
    const r = spawnSync(cmd, args, { stdio: 'inherit', env });
    if (r.status !== 0) log(`\`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
    return r.status === 0;
  };
  log(`installing Debian packages: ${missing.join(' ')}`);
  return apt('update', '-qq') && apt('install', '-y', '-qq', '--no-install-recommends', ...missing);
}
