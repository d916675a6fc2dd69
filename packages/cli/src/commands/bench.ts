import { availableParallelism } from 'node:os';
import { describeBackend, initBackend } from '@resnet/backends';
import { type InferenceModel, optimizeForInference, type ResNet } from '@resnet/core';
import { createModel, getPreset } from '@resnet/zoo';
import { createInferencePool } from '@resnet/zoo/node';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { type Command, intFlag, UsageError } from '../command.js';

/** One measured configuration (the `--json` record). */
export interface BenchResult {
  arch: string;
  config: 'plain' | 'optimized' | 'pool';
  backend: string;
  batch: number;
  size: number;
  workers: number;
  /** WASM threads of each process or worker. */
  threads: number;
  runs: number;
  medianMs: number;
  p90Ms: number;
  minMs: number;
  imagesPerSecond: number;
}

const USAGE =
  'resnet bench <arch> [--backend NAME] [--batch N] [--size S] [--workers N] [--threads N] [--runs N] [--warmup N] [--plain] [--all] [--json]';

/** Median and 90th percentile (nearest rank) of timings. */
export function summarize(times: readonly number[]): { median: number; p90: number; min: number } {
  const s = [...times].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
  const mid = s.length >> 1;
  const median = s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median, p90: at(0.9), min: s[0] as number };
}

export const benchCommand: Command = {
  name: 'bench',
  summary: 'time inference of a preset: latency (median, p90) and images per second',
  usage: USAGE,
  help: `Times forward passes of a preset (seeded random weights; speed does not depend on the
values) on a random NHWC batch, after warm-up runs, and prints median and p90 latency and images
per second. By default it times the fastest path: the inference form (optimizeForInference:
BatchNorm folded, fused conv + bias + ReLU kernels) on WASM with a thread per core. For comparisons
with other libraries side by side, run \`pnpm bench\` in the repository.

Options:
${BACKEND_HELP}
  --batch N      images per forward pass (default 1)
  --size S       input height and width (default 224)
  --runs N       timed runs (default 10)
  --warmup N     untimed runs first (default 2)
  --plain        time the model itself (eval mode) instead of its inference form
  --optimize     the inference form (the default; kept for scripts that pass it)
  --workers N    a pool of N worker threads (WASM or CPU), each with its own backend and weights;
                 the batch is split between them
  --threads N    WASM threads in this process (default: one per core)
  --all          plain, optimised, and a pool on every core (or --workers N), side by side
  --json         print the results as JSON on the last line of stdout: one object
                 { arch, config, backend, batch, size, workers, runs, medianMs, p90Ms, minMs,
                 imagesPerSecond }, or with --all an array of them, fastest per image first

Examples:
  resnet bench resnet50
  resnet bench resnet50 --runs 20 --threads 1
  resnet bench resnet50 --plain
  resnet bench resnet50 --batch 8 --workers 2
  resnet bench resnet18 --all --batch 8 --json`,
  options: {
    batch: { type: 'string' },
    size: { type: 'string' },
    runs: { type: 'string' },
    warmup: { type: 'string' },
    workers: { type: 'string' },
    threads: { type: 'string' },
    optimize: { type: 'boolean' },
    plain: { type: 'boolean' },
    all: { type: 'boolean' },
    json: { type: 'boolean' },
    ...backendOption,
  },
  positionals: [1, 1],
  async run(args, io) {
    const arch = args.positionals[0] as string;
    getPreset(arch);
    const batch = intFlag(args, 'batch', 1, 1, 1024);
    const size = intFlag(args, 'size', 224, 1, 4096);
    const runs = intFlag(args, 'runs', 10, 1, 100_000);
    const warmup = intFlag(args, 'warmup', 2, 0, 1000);
    const workersGiven = args.values.workers !== undefined;
    const workers = intFlag(args, 'workers', availableParallelism(), 1, 256);
    const all = args.values.all === true;
    const plain = args.values.plain === true;
    if (all && (args.values.optimize || plain)) {
      throw new UsageError(
        `--all already runs the optimised form beside the plain one; drop --${plain ? 'plain' : 'optimize'}`,
      );
    }
    if (plain && args.values.optimize) throw new UsageError('--plain and --optimize exclude each other; choose one');
    const threadsGiven = args.values.threads !== undefined;
    const threads = intFlag(args, 'threads', availableParallelism(), 1, 64);
    if (threadsGiven && args.values.backend !== undefined && args.values.backend !== 'wasm') {
      throw new UsageError('--threads sets WASM threads; use it with --backend wasm (the default)');
    }
    const backend = threadsGiven
      ? (await initBackend({ prefer: 'wasm', threads })).name
      : await startBackend(args, { threads });
    const threadsUsed = backend === 'wasm' ? describeBackend().threads : backend === 'cpu' ? 1 : 0;
    if ((workersGiven || all) && backend !== 'wasm' && backend !== 'cpu') {
      throw new UsageError(`--workers runs WASM or CPU workers; the ${backend} backend already uses every core`);
    }
    const configs: BenchResult['config'][] = all
      ? ['plain', 'optimized', 'pool']
      : workersGiven
        ? ['pool']
        : [plain ? 'plain' : 'optimized'];
    const results: BenchResult[] = [];
    for (const config of configs) {
      const times =
        config === 'pool'
          ? await timePool(arch, backend as 'wasm' | 'cpu', workers, batch, size, runs, warmup)
          : await timeInProcess(arch, config === 'optimized', batch, size, runs, warmup);
      const { median, p90, min } = summarize(times);
      results.push({
        arch,
        config,
        backend,
        batch,
        size,
        workers: config === 'pool' ? Math.min(workers, batch) : 1,
        threads: config === 'pool' ? 1 : threadsUsed,
        runs,
        medianMs: round(median),
        p90Ms: round(p90),
        minMs: round(min),
        imagesPerSecond: round((1000 * batch) / median),
      });
    }
    const rows = results.map((r) => [
      r.config === 'pool' ? `pool of ${r.workers}` : r.config === 'optimized' ? 'optimised' : 'plain',
      r.medianMs.toFixed(1),
      r.p90Ms.toFixed(1),
      r.imagesPerSecond.toFixed(2),
    ]);
    const header = ['config', 'median ms', 'p90 ms', 'img/s'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
    io.stdout(
      `${arch} at ${batch}×${size}×${size}×3 on ${backend}${threadsUsed > 1 ? ` (${threadsUsed} threads)` : ''}, ${runs} runs after ${warmup} warm-up\n${line(header)}\n${rows.map(line).join('\n')}\n`,
    );
    if (args.values.json) {
      const sorted = [...results].sort((a, b) => b.imagesPerSecond - a.imagesPerSecond);
      io.stdout(`${JSON.stringify(all ? sorted : results[0])}\n`);
    }
  },
};

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

async function timeInProcess(
  arch: string,
  optimize: boolean,
  batch: number,
  size: number,
  runs: number,
  warmup: number,
): Promise<number[]> {
  const model = createModel(arch, { seed: 0 });
  const runner: ResNet | InferenceModel = optimize ? optimizeForInference(model, { disposeSource: true }) : model;
  const x = tf.randomNormal([batch, size, size, model.config.inputChannels], 0, 1, 'float32', 1);
  try {
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      const y = runner.predict(x);
      await y.data();
      const t = performance.now() - t0;
      y.dispose();
      if (i >= warmup) times.push(t);
    }
    return times;
  } finally {
    x.dispose();
    if (runner !== model) runner.dispose();
    model.dispose();
  }
}

async function timePool(
  arch: string,
  backend: 'wasm' | 'cpu',
  workers: number,
  batch: number,
  size: number,
  runs: number,
  warmup: number,
): Promise<number[]> {
  const channels = createModel(arch, { meta: true }).config.inputChannels;
  const pool = await createInferencePool({ arch, workers: Math.min(workers, batch), backend, optimize: true });
  try {
    const data = new Float32Array(batch * size * size * channels);
    for (let i = 0; i < data.length; i++) data[i] = Math.sin(i) * 2;
    const input = { dtype: 'float32' as const, shape: [batch, size, size, channels], data };
    const times: number[] = [];
    for (let i = 0; i < warmup + runs; i++) {
      const t0 = performance.now();
      await pool.run(input);
      const t = performance.now() - t0;
      if (i >= warmup) times.push(t);
    }
    return times;
  } finally {
    await pool.close();
  }
}
