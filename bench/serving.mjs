// Serving benchmark: onnxruntime-node running our ONNX export (@resnet/onnx) beside our own WASM
// path (optimizeForInference, WASM threads, the worker pool) on the same network and weights
// (torchvision's, from the fixtures) and the same images. Prints median, p90, images per second and
// onnxruntime-node's speed-up over ours at the same core count; writes results/serving.json and
// docs/benchmarks/serving.md (whose table the "Serving at scale" guide includes).
//
//   pnpm bench:serving                  # a few minutes, on an idle machine
//   node bench/serving.mjs --quick      # fewer runs, nothing recorded (a smoke test)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine, maxRelDiff, measure, round } from './common.mjs';
import { renderServingDoc } from './serving-doc.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const FIXTURES = resolve(ROOT, process.env.RESNET_FIXTURES ?? 'fixtures');
const quick = process.argv.includes('--quick');
const cores = availableParallelism();
const ARCHS = ['resnet18', 'resnet50'];
const BATCHES = [1, 8];

function configsFor(batch) {
  const c = [
    { id: 'ours-1', label: 'ours, WASM optimised, 1 thread', kind: 'ours', threads: 1, optimize: true },
    { id: 'ours-all', label: `ours, WASM optimised, ${cores} threads`, kind: 'ours', threads: cores, optimize: true },
  ];
  if (batch > 1)
    c.push({ id: 'ours-pool', label: `ours, worker pool (${cores} workers)`, kind: 'ours-pool', threads: cores });
  c.push(
    { id: 'ort-1', label: 'onnxruntime-node, 1 thread', kind: 'ort-node', threads: 1, peer: true, file: 'plain' },
    {
      id: 'ort-all',
      label: `onnxruntime-node, ${cores} threads`,
      kind: 'ort-node',
      threads: cores,
      peer: true,
      file: 'plain',
    },
    {
      id: 'ort-all-folded',
      label: `onnxruntime-node, ${cores} threads, --optimize export`,
      kind: 'ort-node',
      threads: cores,
      peer: true,
      file: 'optimized',
    },
  );
  return c;
}

const { initBackend } = await import('@resnet/backends');
const { loadTorchvisionWeights } = await import('@resnet/core/node');
const { writeOnnx } = await import('@resnet/onnx/node');
const { createModel } = await import('@resnet/zoo');
await initBackend({ prefer: 'wasm', onWarning: () => {} });

const started = Date.now();
const load = { start: loadavg()[0] };
const tmp = mkdtempSync(join(tmpdir(), 'resnet-serving-'));
const results = [];
try {
  for (const arch of ARCHS) {
    const weights = join(FIXTURES, arch, 'weights.safetensors');
    const model = createModel(arch);
    loadTorchvisionWeights(model, weights);
    const files = {};
    for (const [name, optimize] of [
      ['plain', false],
      ['optimized', true],
    ]) {
      files[name] = join(tmp, `${arch}-${name}.onnx`);
      writeOnnx(files[name], model, { optimize, weights: `${arch}/weights.safetensors (fixtures)` });
    }
    model.dispose();
    for (const batch of BATCHES) {
      const runs = quick ? 2 : arch === 'resnet50' ? (batch === 1 ? 8 : 3) : batch === 1 ? 8 : 4;
      const rows = [];
      for (const cfg of configsFor(batch)) {
        const args = { arch, batch, size: 224, runs, warmup: batch > 1 ? 1 : 2, onnx: files[cfg.file], weights };
        rows.push(measure(cfg, args));
      }
      const reference = rows.find((r) => r.id === 'ours-1').output;
      for (const r of rows) {
        r.diffVsOurs = Number(maxRelDiff(r.output, reference).toExponential(2));
        delete r.output;
      }
      results.push(...rows);
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const record = {
  date: new Date().toISOString().slice(0, 10),
  machine: machine(),
  loadAverage: { start: round(load.start), end: round(loadavg()[0]) },
  durationSeconds: Math.round((Date.now() - started) / 1000),
  quick,
  results,
};
const doc = renderServingDoc(record);
if (!quick) {
  mkdirSync(join(HERE, 'results'), { recursive: true });
  writeFileSync(join(HERE, 'results', 'serving.json'), `${JSON.stringify(record, null, 2)}\n`);
  writeFileSync(join(ROOT, 'docs', 'benchmarks', 'serving.md'), doc);
}
process.stdout.write(doc);
