// Memory benchmark: the peak resident memory (VmHWM) of a process that loads a network's weights,
// optimises it and runs one forward pass of one 224×224 image — ours (WASM) beside
// onnxruntime-web (WASM) and onnxruntime-node on the same weights — for ResNet-18, -50 and -152,
// with the memory after each phase (where the peak comes from). Each configuration runs in a fresh
// process, RUNS times, the runs of all configurations interleaved; the median peak is reported.
// The machine's load is sampled as for the speed benchmarks (bench/load-guard.mjs) and the same
// rule refuses a record taken under load (--force records it marked so).
//
//   pnpm bench:memory                         everything, recorded if the machine was idle
//   node bench/memory.mjs --quick             one run per configuration, ResNet-50 only, not recorded
//   node bench/memory.mjs --before ../main    also run our default path with another built checkout
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderMemoryDoc } from './memory-doc.mjs';
import { loadAverageNow, finishRecord, RowLoad, rowReasons, sample, startCheck } from './load-guard.mjs';
import { describePeer, INPUT_SIZE, network, PYTHON, peerSessionOptions, peerSetup } from './networks.mjs';
import { machine, packageVersion, round, summarize, torchVersions } from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const { values: flags } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean' },
    force: { type: 'boolean' },
    only: { type: 'string' },
    before: { type: 'string' },
    runs: { type: 'string' },
  },
});
const quick = flags.quick === true;
const RUNS = Number(flags.runs ?? (quick ? 1 : 3));
const ARCHS = (flags.only ?? (quick ? 'resnet50' : 'resnet18,resnet50,resnet152')).split(',');
const BATCH = 1;
const PEER = peerSetup();

const CONFIGS = [
  {
    id: 'ours',
    label: 'ours: optimizeForInference(model, { disposeSource: true })',
    kind: 'ours',
    optimize: true,
    disposeSource: true,
  },
  { id: 'ours-kept', label: 'ours: optimizeForInference(model), model kept', kind: 'ours', optimize: true },
  { id: 'ours-plain', label: 'ours: the model itself (model.predict)', kind: 'ours', optimize: false },
  ...(flags.before
    ? [
        {
          id: 'before',
          label: `before: ${flags.before}, optimizeForInference (source disposed if that build can)`,
          kind: 'ours',
          optimize: true,
          disposeSource: true,
          root: resolve(flags.before),
        },
      ]
    : []),
  { id: 'ort-web', label: 'onnxruntime-web, WASM 1 thread', kind: 'ort-web', peer: true },
  { id: 'ort-node', label: 'onnxruntime-node, 1 thread', kind: 'ort-node', peer: true },
];

function runChild(args) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(HERE, 'memory-run.mjs'), JSON.stringify(args)], { cwd: HERE });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`${args.label} (${args.arch}) failed:\n${err}`));
      else resolvePromise({ pid: child.pid, ...JSON.parse(out.trim().split('\n').at(-1)) });
    });
  });
}

const started = Date.now();
const start = await startCheck();
const reasons = start.reason ? [start.reason] : [];
const tmp = mkdtempSync(join(tmpdir(), 'resnet-memory-'));
const results = [];
try {
  for (const arch of ARCHS) {
    const size = INPUT_SIZE[arch];
    const net = network(tmp, arch);
    const runs = new Map(CONFIGS.map((c) => [c.id, { peaks: [], phases: null, load: new RowLoad() }]));
    for (let r = 0; r < RUNS; r++) {
      for (const cfg of CONFIGS) {
        const peer = cfg.peer ? PEER.config(cfg.kind, 1) : null;
        const args = {
          ...cfg,
          arch,
          size,
          batch: BATCH,
          weights: net.weights,
          onnx: peer ? net.onnx(peer.opset) : undefined,
          options: peer ? peerSessionOptions(peer, BATCH) : undefined,
          wasmFlags: peer?.wasmFlags,
        };
        const a = sample();
        const out = await runChild(args);
        const b = sample(); // the child has been waited for: its CPU time is in our cutime/cstime
        const row = runs.get(cfg.id);
        row.peaks.push(out.peakMB);
        row.phases ??= out.phases;
        row.load.add(a, b);
        process.stderr.write(`${arch} ${cfg.label.padEnd(70)} peak ${out.peakMB.toFixed(0).padStart(6)} MB\n`);
      }
    }
    const weightsMB = statSync(net.weights).size / 2 ** 20;
    for (const cfg of CONFIGS) {
      const row = runs.get(cfg.id);
      const load = row.load.summary();
      reasons.push(...rowReasons(`${arch} ${cfg.label}`, load));
      results.push({
        arch,
        batch: BATCH,
        size,
        id: cfg.id,
        label: cfg.label,
        peer: Boolean(cfg.peer),
        options: cfg.peer ? describePeer(PEER.config(cfg.kind, 1)) : undefined,
        weightsMB: round(weightsMB, 1),
        peakMB: round(summarize(row.peaks).median, 1),
        peaksMB: row.peaks,
        phases: row.phases,
        load,
      });
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const record = {
  title: 'Peak memory',
  date: new Date().toISOString().slice(0, 10),
  time: new Date().toISOString().slice(11, 16),
  machine: machine(),
  loadAverage: { start: start.loadAverage, end: loadAverageNow() },
  othersCoresBeforeRun: start.othersCores,
  durationSeconds: Math.round((Date.now() - started) / 1000),
  quick,
  runs: RUNS,
  job: `load the weights, optimise, one forward pass of ${BATCH}×224×224×3 (ResNet-20: 32×32), in a fresh process`,
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
  partial: Boolean(flags.only) || Boolean(flags.before),
  what: 'the memory benchmark',
  topic: 'memory',
  render: renderMemoryDoc,
});
