// Per-layer-type profile: where the time of ResNet-50 inference (batch 1, 224×224, the inference
// form and the model itself) and of a ResNet-20 training step (batch 128, 32×32) goes, by layer
// type (stem, 3×3, 1×1 and strided convolutions, BatchNorm, ReLU, residual adds, pooling, head,
// optimizer), on one WASM thread. With a second build or kernel setting it prints both side by
// side ("before" and "after"), their repetitions interleaved (bench/child.mjs), so the change in
// each layer type is measured in one run. Records bench/results/profile.json and
// docs/benchmarks/profile.md under the load rule of bench/load-guard.mjs.
//
//   pnpm bench:profile                                    this checkout's kernels only
//   pnpm bench:profile --before ../main                  "before" = another built checkout (e.g. main)
//   pnpm bench:profile --before-env RESNET_X=0           "before" = this checkout with an environment switch
//   pnpm bench:profile --after-env K=V                    environment of the "after" side
//   options: --jobs resnet50-optimized,resnet50-plain,train --runs N --threads N --quick --force

import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, roundRobin } from './child.mjs';
import { renderProfileDoc } from './profile-doc.mjs';
import { loadAverageNow, finishRecord, rowReasons, startCheck } from './load-guard.mjs';
import { machine, round, summarize } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    before: { type: 'string' },
    'before-env': { type: 'string', multiple: true },
    'after-env': { type: 'string', multiple: true },
    jobs: { type: 'string' },
    runs: { type: 'string' },
    threads: { type: 'string' },
    quick: { type: 'boolean' },
    force: { type: 'boolean' },
  },
});
const quick = flags.quick === true;
const RUNS = Number(flags.runs ?? (quick ? 2 : 7));
const THREADS = Number(flags.threads ?? 1);
const JOBS = {
  'resnet50-optimized': 'ResNet-50 inference, batch 1 at 224×224, inference form (optimizeForInference)',
  'resnet50-plain': 'ResNet-50 inference, batch 1 at 224×224, the model itself (eval mode)',
  train: 'ResNet-20 training step, batch 128 at 32×32 (forward, backward, SGD)',
};
const jobs = (flags.jobs ?? Object.keys(JOBS).join(',')).split(',');
for (const j of jobs) if (!JOBS[j]) throw new Error(`--jobs: unknown job ${j}; known: ${Object.keys(JOBS).join(', ')}`);

/** KEY=VALUE strings to an environment object. */
function envOf(list = []) {
  return Object.fromEntries(
    list.map((kv) => {
      const i = kv.indexOf('=');
      if (i < 1) throw new Error(`expected KEY=VALUE, got ${JSON.stringify(kv)}`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  );
}
const after = { label: 'after', root: ROOT, env: envOf(flags['after-env']) };
const compare = flags.before !== undefined || flags['before-env'] !== undefined;
const before = compare
  ? { label: 'before', root: resolve(flags.before ?? ROOT), env: envOf(flags['before-env']) }
  : null;
const sides = before ? [before, after] : [after];
const describeSide = (s) =>
  `${s.root === ROOT ? 'this checkout' : s.root}${
    Object.keys(s.env).length
      ? ` with ${Object.entries(s.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`
      : ''
  }`;

const started = Date.now();
const start = await startCheck();
const reasons = start.reason ? [start.reason] : [];
const results = [];
for (const job of jobs) {
  const children = [];
  try {
    for (const side of sides) {
      const args = { job, root: side.root, threads: THREADS, warmup: 1 };
      children.push(
        await BenchChild.start(
          `${side.label} ${job}`,
          process.execPath,
          [join(HERE, 'profile-run.mjs'), JSON.stringify(args)],
          {
            cwd: HERE,
            env: { ...process.env, ...side.env },
          },
        ),
      );
    }
    process.stderr.write(`${job}: ${sides.map(describeSide).join(' vs ')}, interleaving ${RUNS} repetitions\n`);
    const replies = children.map(() => []);
    children.forEach((c, i) => {
      const request = c.request.bind(c);
      c.request = async (m) => {
        const r = await request(m);
        replies[i].push(r);
        return r;
      };
    });
    const rows = await roundRobin(children, { warmup: 0, runs: RUNS, gapMs: 50 });
    const perSide = sides.map((side, i) => {
      reasons.push(...rowReasons(`${job} ${side.label}`, rows[i].load));
      const reps = replies[i];
      const categories = Object.keys(reps[0].rows).map((category) => {
        const median = (part) => summarize(reps.map((r) => r.rows[category][part])).median;
        const [forward, backward, step] = [median('forward'), median('backward'), median('step')];
        return {
          category,
          forwardMs: round(forward),
          backwardMs: round(backward),
          totalMs: round(forward + backward + step),
        };
      });
      const other = Object.entries(
        reps.reduce((acc, r) => {
          for (const [k, v] of Object.entries(r.other)) acc[k] = (acc[k] ?? 0) + v / reps.length;
          return acc;
        }, {}),
      )
        .sort((a, b) => b[1] - a[1])
        .slice(0, 8)
        .map(([name, ms]) => ({ name, ms: round(ms) }));
      return {
        side: side.label,
        build: describeSide(side),
        threads: children[i].info.threads,
        registeredKernels: children[i].info.kernels,
        wallMs: round(summarize(rows[i].times).median),
        categories,
        other,
        load: rows[i].load,
      };
    });
    results.push({ job, description: JOBS[job], runs: RUNS, sides: perSide });
    for (const s of perSide) process.stderr.write(`  ${s.side}: ${s.wallMs.toFixed(1)} ms per repetition\n`);
  } finally {
    await Promise.all(children.map((c) => c.close()));
  }
}

const record = {
  title: 'Profile by layer type',
  date: new Date().toISOString().slice(0, 10),
  time: new Date().toISOString().slice(11, 16),
  machine: machine(),
  loadAverage: { start: start.loadAverage, end: loadAverageNow() },
  othersCoresBeforeRun: start.othersCores,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  quick,
  threads: THREADS,
  results,
};
finishRecord({
  record,
  reasons,
  force: flags.force === true,
  quick,
  partial: Boolean(flags.jobs),
  what: 'the profile',
  topic: 'profile',
  render: renderProfileDoc,
});
