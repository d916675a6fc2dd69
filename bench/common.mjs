// Helpers the benchmarks share: one configuration per child process run to completion
// (inference-run.mjs; bench/child.mjs keeps them alive to interleave), medians, versions, the
// machine's description and markdown tables.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Runs one configuration in a process of its own (bench/inference-run.mjs); returns its JSON line. */
export function runConfig(args) {
  const r = spawnSync(process.execPath, [join(HERE, 'inference-run.mjs'), JSON.stringify(args)], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0)
    throw new Error(`${args.arch} batch ${args.batch} ${args.label ?? args.kind} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/** Median, 90th percentile (nearest rank) and minimum of a list of times. */
export function summarize(times) {
  const s = [...times].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  const p90 = s[Math.min(s.length - 1, Math.ceil(0.9 * s.length) - 1)];
  return { median, p90, min: s[0] };
}

/** Largest |a − b| relative to the largest |b|. */
export function maxRelDiff(a, b) {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

export function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpu}, ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}, ${process.platform}-${process.arch}`;
}

/** `v` rounded to `digits` decimals (default 2). */
export function round(v, digits = 2) {
  return Math.round(v * 10 ** digits) / 10 ** digits;
}

/** The installed version of a package, as seen from bench/. */
export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(HERE, 'node_modules', name, 'package.json'), 'utf8')).version;
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

/** A markdown table; `align` is 'l' or 'r' per column. */
export function table(header, rows, align) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(align.map((a) => (a === 'r' ? '---:' : ':---'))), ...rows.map(line)].join('\n');
}

/**
 * Runs configuration `cfg` (id, label, kind, threads, peer?) on `args` (arch, batch, size, runs...)
 * and returns its result row, with the first image's output in `output`; logs the median.
 */
export function measure(cfg, args) {
  const out = runConfig({ ...cfg, ...args });
  const { median, p90 } = summarize(out.times);
  const row = {
    arch: args.arch,
    batch: args.batch,
    id: cfg.id,
    label: cfg.label,
    peer: Boolean(cfg.peer),
    threads: out.threads,
    runs: out.times.length,
    medianMs: round(median),
    p90Ms: round(p90),
    imagesPerSecond: round((1000 * args.batch) / median),
    output: out.output,
  };
  process.stderr.write(
    `${args.arch} b${args.batch} ${cfg.label.padEnd(48)} ${row.medianMs.toFixed(1).padStart(8)} ms\n`,
  );
  return row;
}

/** A number for a table, `d` decimals, or — when absent. */
export const fmt = (v, d = 1) => (v === null || v === undefined ? '—' : v.toFixed(d));

/** The first cells of a result row in a table: configuration (ours in bold), threads, median, p90, img/s. */
export function timingCells(r) {
  return [
    r.peer ? r.label : `**${r.label}**`,
    String(r.threads),
    fmt(r.medianMs),
    fmt(r.p90Ms),
    fmt(r.imagesPerSecond, 2),
  ];
}
