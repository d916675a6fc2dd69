// Inference benchmark: our ResNets (WASM, WASM optimised, WASM threads, worker pool) beside
// onnxruntime-web (WASM) and onnxruntime-node (native) on the same network and weights (ONNX
// exported by Debian's torch during the run), and tfjs's CPU backend on ResNet-18; ResNet-18 and
// ResNet-50 at 224×224, ResNet-20 at 32×32, batch 1 and 8.
//
// Every configuration runs in a process of its own, kept alive, and the repetitions are
// interleaved: each round runs one forward pass of every configuration in turn, so a change in
// the machine's load touches ours and the peers' alike. Around each repetition the CPU time of
// other processes is measured (bench/load-guard.mjs); a run taken under load is printed but not
// recorded unless --force, which marks the record "under load".
//
//   pnpm bench                                  everything, recorded if the machine was idle
//   node bench/inference.mjs --quick            fewer repetitions, never recorded
//   node bench/inference.mjs --only resnet50    one architecture (not recorded)
//   node bench/inference.mjs --force            record even under load (marked so)
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BenchChild, roundRobin } from './child.mjs';
import { renderInferenceDoc } from './inference-doc.mjs';
import { loadAverageNow, finishRecord, rowReasons, startCheck } from './load-guard.mjs';
import { describePeer, network, PYTHON, peerSessionOptions, peerSetup } from './networks.mjs';
import { machine, maxRelDiff, packageVersion, round, summarize, torchVersions } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: { quick: { type: 'boolean' }, force: { type: 'boolean' }, only: { type: 'string' } },
});
const quick = flags.quick === true;
const cores = availableParallelism();

/** The networks: torchvision's ResNet-18 (all 3×3) and ResNet-50 at 224, the CIFAR ResNet-20 at 32. */
const NETWORKS = [
  { arch: 'resnet18', size: 224, batches: [1, 8] },
  { arch: 'resnet50', size: 224, batches: [1, 8] },
  { arch: 'resnet20', size: 32, batches: [1, 8] },
].filter((n) => !flags.only || flags.only.split(',').includes(n.arch));

const PEER = peerSetup();

function configsFor(arch, batch) {
  const c = [
    { id: 'ours-wasm', label: 'ours, WASM', kind: 'ours', threads: 1, optimize: false },
    { id: 'ours-opt', label: 'ours, WASM optimised', kind: 'ours', threads: 1, optimize: true },
    {
      id: 'ours-opt-threads',
      label: `ours, WASM optimised, ${cores} threads`,
      kind: 'ours',
      threads: cores,
      optimize: true,
    },
  ];
  if (batch > 1)
    c.push({ id: 'ours-pool', label: `ours, worker pool (${cores} workers)`, kind: 'ours-pool', threads: cores });
  c.push(
    { id: 'ort-web-1', label: 'onnxruntime-web, WASM 1 thread', kind: 'ort-web', threads: 1, peer: true },
    { id: 'ort-web-all', label: `onnxruntime-web, WASM ${cores} threads`, kind: 'ort-web', threads: cores, peer: true },
    { id: 'ort-node-1', label: 'onnxruntime-node, 1 thread', kind: 'ort-node', threads: 1, peer: true },
    { id: 'ort-node-all', label: `onnxruntime-node, ${cores} threads`, kind: 'ort-node', threads: cores, peer: true },
  );
  // tfjs's pure-JS CPU backend takes seconds per image: ResNet-18 batch 1 only.
  if (arch === 'resnet18' && batch === 1) {
    c.push({ id: 'tfjs-cpu', label: 'tfjs CPU backend', kind: 'tfjs-cpu', threads: 1, optimize: false, peer: true });
  }
  return c;
}

/** Timed repetitions per configuration (after warm-up rounds). */
function runsFor(arch, batch, cfg) {
  if (cfg.kind === 'tfjs-cpu') return quick ? 1 : 3;
  if (quick) return 3;
  if (arch === 'resnet20') return batch === 1 ? 60 : 30;
  return batch === 1 ? 15 : 5;
}

const started = Date.now();
const start = await startCheck();
const reasons = start.reason ? [start.reason] : [];
const tmp = mkdtempSync(join(tmpdir(), 'resnet-bench-'));
const results = [];
try {
  for (const { arch, size, batches } of NETWORKS) {
    const { weights, onnx } = network(tmp, arch);
    for (const batch of batches) {
      const configs = configsFor(arch, batch);
      const children = [];
      try {
        for (const cfg of configs) {
          const peer = cfg.kind === 'ort-web' || cfg.kind === 'ort-node' ? PEER.config(cfg.kind, cfg.threads) : null;
          const args = {
            ...cfg,
            arch,
            batch,
            size,
            weights,
            onnx: peer ? onnx(peer.opset) : undefined,
            options: peer ? peerSessionOptions(peer, batch) : undefined,
            wasmFlags: peer?.wasmFlags,
            warmup: cfg.kind === 'tfjs-cpu' || batch > 1 ? 1 : 2,
          };
          const child = await BenchChild.start(
            cfg.label,
            process.execPath,
            [join(HERE, 'inference-run.mjs'), JSON.stringify(args)],
            { cwd: HERE },
          );
          child.config = cfg;
          children.push(child);
        }
        process.stderr.write(`${arch} b${batch}: ${children.length} configurations ready, interleaving repetitions\n`);
        const rows = await roundRobin(children, { warmup: 1, runs: (c) => runsFor(arch, batch, c.config) });
        const outputs = [];
        for (const child of children) outputs.push((await child.request({ cmd: 'output' })).output);
        const reference = outputs[configs.findIndex((c) => c.id === 'ort-node-1')];
        rows.forEach((row, i) => {
          const cfg = configs[i];
          const { median, p90, min } = summarize(row.times);
          const peer = cfg.kind === 'ort-web' || cfg.kind === 'ort-node' ? PEER.config(cfg.kind, cfg.threads) : null;
          const result = {
            arch,
            batch,
            size,
            id: cfg.id,
            label: cfg.label,
            peer: Boolean(cfg.peer),
            threads: children[i].info.threads,
            options: peer
              ? describePeer(peer)
              : cfg.kind === 'ours'
                ? cfg.optimize
                  ? 'optimizeForInference'
                  : 'model.predict'
                : undefined,
            runs: row.times.length,
            medianMs: round(median),
            p90Ms: round(p90),
            minMs: round(min),
            imagesPerSecond: round((1000 * batch) / median),
            diffVsOnnxruntime: reference ? Number(maxRelDiff(outputs[i], reference).toExponential(2)) : null,
            load: row.load,
          };
          results.push(result);
          reasons.push(...rowReasons(`${arch} b${batch} ${cfg.label}`, row.load));
          process.stderr.write(
            `${arch} b${batch} ${cfg.label.padEnd(42)} ${result.medianMs.toFixed(1).padStart(9)} ms  (others ${row.load.othersCores.toFixed(2)} cores)\n`,
          );
        });
      } finally {
        await Promise.all(children.map((c) => c.close()));
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const record = {
  date: new Date().toISOString().slice(0, 10),
  time: new Date().toISOString().slice(11, 16),
  machine: machine(),
  loadAverage: { start: start.loadAverage, end: loadAverageNow() },
  othersCoresBeforeRun: start.othersCores,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  quick,
  method:
    'one process per configuration, kept alive; repetitions interleaved round-robin (one forward pass of each configuration per round, after a warm-up round)',
  peerSetup: PEER.source,
  versions: {
    tfjs: packageVersion('@tensorflow/tfjs-core'),
    'onnxruntime-web': packageVersion('onnxruntime-web'),
    'onnxruntime-node': packageVersion('onnxruntime-node'),
    'torch, torchvision (ONNX export)': torchVersions(PYTHON),
  },
  results,
};
finishRecord({
  record,
  reasons,
  force: flags.force === true,
  quick,
  partial: Boolean(flags.only),
  what: 'the inference benchmark',
  topic: 'inference',
  render: renderInferenceDoc,
});
