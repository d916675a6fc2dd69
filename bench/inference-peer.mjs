// The peer at its best: searches onnxruntime-web's and onnxruntime-node's configurations on
// ResNet-50 (batch 1, 224×224) — graph optimisation level, execution mode, memory arena and
// pattern, the batch axis fixed at load, thread spinning, the proxy worker, the ONNX opset of the
// export — for one thread and for every core, each variant in a process of its own with the
// repetitions of all variants of a group interleaved. Prints each group's table with the ratio to
// onnxruntime's defaults and records the fastest per runtime and thread count in
// bench/results/inference-peer.json, which `pnpm bench` and bench/memory.mjs then use (and name).
// The load rule of bench/load-guard.mjs applies.
//
//   node bench/inference-peer.mjs [--arch resnet50] [--runs 12] [--quick] [--force]
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, roundRobin } from './child.mjs';
import { loadAverageNow, recordDecision, rowReasons, startCheck } from './load-guard.mjs';
import { describePeer, INPUT_SIZE, network, peerSessionOptions } from './networks.mjs';
import { machine, packageVersion, round, summarize } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    arch: { type: 'string' },
    runs: { type: 'string' },
    quick: { type: 'boolean' },
    force: { type: 'boolean' },
  },
});
const quick = flags.quick === true;
const arch = flags.arch ?? 'resnet50';
const RUNS = Number(flags.runs ?? (quick ? 2 : 12));
const cores = availableParallelism();
const BATCH = 1;

const base = { graphOptimizationLevel: 'all', executionMode: 'sequential' };
/** The variants searched: a name, the peer configuration, and ort-web flags (env.wasm). */
function variants(kind, threads) {
  const v = [
    { name: 'defaults', peer: { options: base, fixBatch: false, opset: 13 } },
    { name: 'batch fixed at load', peer: { options: base, fixBatch: true, opset: 13 } },
    {
      name: 'extended graph optimisations',
      peer: { options: { ...base, graphOptimizationLevel: 'extended' }, fixBatch: false, opset: 13 },
    },
    {
      name: 'layout graph optimisations',
      peer: { options: { ...base, graphOptimizationLevel: 'layout' }, fixBatch: false, opset: 13 },
    },
    {
      name: 'no memory arena or pattern',
      peer: { options: { ...base, enableCpuMemArena: false, enableMemPattern: false }, fixBatch: false, opset: 13 },
    },
    { name: 'ONNX opset 17', peer: { options: base, fixBatch: false, opset: 17 } },
  ];
  if (threads > 1) {
    v.push(
      {
        name: 'parallel execution',
        peer: { options: { ...base, executionMode: 'parallel' }, fixBatch: false, opset: 13 },
      },
      {
        name: 'no thread spinning',
        peer: {
          options: { ...base, extra: { session: { intra_op: { allow_spinning: '0' } } } },
          fixBatch: false,
          opset: 13,
        },
      },
    );
  }
  if (kind === 'ort-web')
    v.push({ name: 'proxy worker', peer: { options: base, fixBatch: false, opset: 13, wasmFlags: { proxy: true } } });
  return v;
}

const start = await startCheck();
const reasons = start.reason ? [start.reason] : [];
const tmp = mkdtempSync(join(tmpdir(), 'resnet-peer-'));
const groups = [];
const best = { 'ort-web': {}, 'ort-node': {} };
try {
  const net = network(tmp, arch);
  for (const kind of ['ort-web', 'ort-node']) {
    for (const threads of [...new Set([1, cores])]) {
      const children = [];
      const failed = [];
      try {
        for (const variant of variants(kind, threads)) {
          const args = {
            kind,
            arch,
            batch: BATCH,
            size: INPUT_SIZE[arch],
            threads,
            onnx: net.onnx(variant.peer.opset),
            options: peerSessionOptions(variant.peer, BATCH),
            wasmFlags: variant.peer.wasmFlags,
            warmup: 2,
          };
          try {
            const child = await BenchChild.start(
              variant.name,
              process.execPath,
              [join(HERE, 'inference-run.mjs'), JSON.stringify(args)],
              { cwd: HERE },
            );
            child.variant = variant;
            children.push(child);
          } catch (e) {
            failed.push({
              name: variant.name,
              error: e.message.split('\n').find((l) => /Error|error/.test(l)) ?? e.message.split('\n')[0],
            });
          }
        }
        const rows = await roundRobin(children, { warmup: 1, runs: RUNS });
        const measured = rows.map((row, i) => {
          reasons.push(...rowReasons(`${kind} ${threads} thread(s) ${children[i].variant.name}`, row.load));
          return {
            name: children[i].variant.name,
            peer: children[i].variant.peer,
            options: describePeer(children[i].variant.peer),
            medianMs: round(summarize(row.times).median),
            minMs: round(summarize(row.times).min),
            load: row.load,
          };
        });
        const defaults = measured.find((m) => m.name === 'defaults');
        for (const m of measured) m.vsDefaults = defaults ? round(m.medianMs / defaults.medianMs, 3) : null;
        const winner = [...measured].sort((a, b) => a.medianMs - b.medianMs)[0];
        if (winner) best[kind][threads] = winner.peer;
        groups.push({ kind, threads, variants: measured, failed, fastest: winner?.name });
        process.stderr.write(`${kind}, ${threads} thread(s):\n`);
        for (const m of measured) {
          process.stderr.write(
            `  ${m.name.padEnd(32)} ${m.medianMs.toFixed(1).padStart(8)} ms  ${m.vsDefaults?.toFixed(3)}× defaults\n`,
          );
        }
        for (const f of failed) process.stderr.write(`  ${f.name.padEnd(32)} cannot run: ${f.error}\n`);
      } finally {
        await Promise.all(children.map((c) => c.close()));
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const record = {
  title: 'onnxruntime at its best: configurations searched',
  date: new Date().toISOString().slice(0, 10),
  machine: machine(),
  arch,
  batch: BATCH,
  runs: RUNS,
  loadAverage: { start: start.loadAverage, end: loadAverageNow() },
  othersCoresBeforeRun: start.othersCores,
  versions: {
    'ort-web': packageVersion('onnxruntime-web'),
    'ort-node': packageVersion('onnxruntime-node'),
  },
  groups,
  best,
};
const decision = recordDecision({
  reasons,
  force: flags.force === true,
  quick,
  what: 'the onnxruntime configuration search',
});
Object.assign(record, decision.fields);
if (decision.write) {
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', 'inference-peer.json'), `${JSON.stringify(record, null, 2)}\n`);
  process.stderr.write('recorded bench/results/inference-peer.json (pnpm bench now uses its fastest configurations)\n');
} else if (!quick) {
  process.exitCode = 2;
}
