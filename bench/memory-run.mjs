// One configuration of the memory benchmark in a fresh process: load the weights, optimise, one
// forward pass of a batch of 224×224 images, then report the process's peak resident memory
// (VmHWM) and the memory after each phase. Prints one JSON line. Called by bench/memory.mjs.
import { readFileSync } from 'node:fs';
import { buildRequire } from './build-modules.mjs';

const config = JSON.parse(process.argv[2]);
const { kind, arch, size, batch } = config;
const phases = [];

function status() {
  const text = readFileSync('/proc/self/status', 'utf8');
  const mb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(text)?.[1] ?? 0) / 1024;
  return { rssMB: mb('VmRSS'), peakMB: mb('VmHWM') };
}

/** Records the memory after a phase; `extra` adds what the phase knows (WASM heap, tensor bytes). */
function phase(name, extra = {}) {
  const m = process.memoryUsage();
  phases.push({
    phase: name,
    ...status(),
    jsHeapMB: m.heapUsed / 2 ** 20,
    arrayBuffersMB: m.arrayBuffers / 2 ** 20,
    ...extra,
  });
}

const input = new Float32Array(batch * size * size * 3).map((_, i) => Math.sin(i) * 2);

async function ours() {
  const require = buildRequire(config.root);
  const tf = require('@tensorflow/tfjs-core');
  const { initBackend } = require('@resnet/backends');
  const { optimizeForInference } = require('@resnet/core');
  const { loadTorchvisionWeights } = require('@resnet/core/node');
  const { createModel } = require('@resnet/zoo');
  await initBackend({ prefer: 'wasm', onWarning: () => {} });
  const heap = () => ({
    wasmHeapMB: (tf.backend().wasm?.HEAPU8?.buffer.byteLength ?? 0) / 2 ** 20,
    tensorMB: tf.memory().numBytes / 2 ** 20,
  });
  phase('Node, tfjs and the WASM backend started', heap());
  const model = createModel(arch);
  phase('model built (seeded initial weights)', heap());
  loadTorchvisionWeights(model, config.weights);
  phase('torchvision weights loaded', heap());
  let runner = model;
  if (config.optimize) {
    runner = config.disposeSource ? optimizeForInference(model, { disposeSource: true }) : optimizeForInference(model);
    // A build without the option ignores it: say what happened, not what was asked.
    phase(`optimised (source ${model.disposed ? 'disposed' : 'kept'})`, heap());
  }
  const x = tf.tensor(input, [batch, size, size, 3]);
  const y = runner.predict(x);
  await y.data();
  tf.dispose([x, y]);
  phase('one forward pass', heap());
}

async function ort() {
  const ort = await import(kind === 'ort-web' ? 'onnxruntime-web' : 'onnxruntime-node');
  if (kind === 'ort-web') Object.assign(ort.env.wasm, { numThreads: 1, ...config.wasmFlags });
  phase(`Node and ${kind === 'ort-web' ? 'onnxruntime-web' : 'onnxruntime-node'} loaded`);
  const session = await ort.InferenceSession.create(config.onnx, {
    ...(kind === 'ort-web' ? { executionProviders: ['wasm'] } : { executionProviders: ['cpu'], intraOpNumThreads: 1 }),
    ...config.options,
  });
  phase('session created from the ONNX file');
  const nchw = new Float32Array(input.length);
  await session.run({ input: new ort.Tensor('float32', nchw, [batch, 3, size, size]) });
  phase('one forward pass');
}

phase('Node started');
await (kind === 'ours' ? ours() : ort());
const round = (v) => Math.round(v * 10) / 10;
process.stdout.write(
  `${JSON.stringify({
    peakMB: round(status().peakMB),
    phases: phases.map((p) =>
      Object.fromEntries(Object.entries(p).map(([k, v]) => [k, typeof v === 'number' ? round(v) : v])),
    ),
  })}\n`,
);
process.exit(0);
