// Small helpers shared by the benchmark scripts: medians, output agreement, versions.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Median, 90th percentile (nearest rank) and minimum of timings. */
export function summarize(times) {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const p90 = s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)];
  return { median, p90, min: s[0] };
}

/** Largest difference of `a` from `b`, relative to `b`'s largest magnitude. */
export function maxRelDiff(a, b) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

export const round = (v, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** The installed version of a package, as seen from `dir` (bench/). */
export function packageVersion(dir, name) {
  try {
    return JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return 'unknown';
  }
}

/** "torch torchvision" versions of Debian's python. */
export function torchVersions(python) {
  return spawnSync(python, ['-c', 'import torch, torchvision; print(torch.__version__, torchvision.__version__)'], {
    encoding: 'utf8',
  }).stdout.trim();
}
