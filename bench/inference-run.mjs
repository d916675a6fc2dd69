// One configuration of the inference benchmarks, in a process of its own (WASM and onnxruntime
// thread counts are fixed per process). Called with a JSON config. Two ways to run:
// - with `runs` (common.mjs's runConfig): `warmup` untimed then `runs` timed forward passes, and
//   one JSON line {times, output, threads}: the timings and the first image's outputs;
// - without (bench/child.mjs, kept alive so bench/inference.mjs can interleave configurations):
//   {"ready"} once the model is loaded and warm, then it answers
//   {"cmd":"run"} → {"ms"}: one forward pass of the batch, output read back, and
//   {"cmd":"output"} → {"output"}: the first image's outputs (every runner must agree).
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { serve } from './child.mjs';

const config = JSON.parse(process.argv[2]);
const { kind, batch, size, threads, onnx, weights, options = {} } = config; // wasmFlags: ort.env.wasm settings

/** The same deterministic images for everyone: NCHW for onnxruntime, NHWC for us. */
function images() {
  const nchw = new Float32Array(batch * 3 * size * size);
  let s = 12345;
  for (let i = 0; i < nchw.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    nchw[i] = (s / 2 ** 32) * 4 - 2;
  }
  const nhwc = new Float32Array(nchw.length);
  for (let n = 0; n < batch; n++)
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          nhwc[((n * size + y) * size + x) * 3 + c] = nchw[((n * 3 + c) * size + y) * size + x];
  return { nchw, nhwc };
}

/** Peak and current resident memory of this process (MB), from /proc/self/status. */
export function residentMemory() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const mb = (key) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { peakMB: mb('VmHWM'), currentMB: mb('VmRSS') };
}

/** Sets up a runner: returns `forward()` (one timed pass, resolving to the output values) and its thread count. */
async function setup() {
  if (kind === 'ours' || kind === 'tfjs-cpu') {
    const { initBackend } = await import('@resnet/backends');
    const { optimizeForInference } = await import('@resnet/core');
    const { loadTorchvisionWeights } = await import('@resnet/core/node');
    const { createModel } = await import('@resnet/zoo');
    const tf = await import('@tensorflow/tfjs-core');
    const backend = kind === 'tfjs-cpu' ? 'cpu' : 'wasm';
    const info = await initBackend({
      prefer: backend,
      threads: backend === 'wasm' ? threads : undefined,
      onWarning: () => {},
    });
    const model = createModel(config.arch);
    loadTorchvisionWeights(model, weights);
    const runner = config.optimize ? optimizeForInference(model, { disposeSource: true }) : model;
    const x = tf.tensor(images().nhwc, [batch, size, size, 3]);
    return {
      threads: info.threads,
      forward: async () => {
        const y = runner.predict(x);
        const data = await y.data();
        y.dispose();
        return data;
      },
    };
  }
  if (kind === 'ours-pool') {
    const { createInferencePool } = await import('@resnet/zoo/node');
    const workers = Math.min(threads, batch);
    const pool = await createInferencePool({ arch: config.arch, weights, workers, optimize: true });
    const { nhwc } = images();
    return {
      threads: workers,
      forward: async () =>
        (await pool.run({ dtype: 'float32', shape: [batch, size, size, 3], data: nhwc.slice() })).data,
    };
  }
  if (kind === 'ort-web' || kind === 'ort-node') {
    const ort = await import(kind === 'ort-web' ? 'onnxruntime-web' : 'onnxruntime-node');
    if (kind === 'ort-web') Object.assign(ort.env.wasm, { numThreads: threads, ...config.wasmFlags });
    const session = await ort.InferenceSession.create(onnx, {
      ...(kind === 'ort-web'
        ? { executionProviders: ['wasm'] }
        : { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 }),
      ...options,
    });
    const input = new ort.Tensor('float32', images().nchw, [batch, 3, size, size]);
    return { threads, forward: async () => (await session.run({ input })).logits.data };
  }
  throw new Error(`unknown kind ${kind}`);
}

const runner = await setup();
if (config.runs !== undefined) {
  const times = [];
  let output;
  for (let i = 0; i < (config.warmup ?? 0) + config.runs; i++) {
    const t0 = performance.now();
    const out = await runner.forward();
    if (i >= (config.warmup ?? 0)) times.push(performance.now() - t0);
    output ??= out;
  }
  process.stdout.write(
    `${JSON.stringify({ times, output: Array.from(output.slice(0, 1000)), threads: runner.threads, cores: availableParallelism() })}\n`,
  );
  process.exit(0);
}
let first = null;
for (let i = 0; i < (config.warmup ?? 1); i++) first ??= await runner.forward();
process.stdout.write(
  `${JSON.stringify({ ready: true, threads: runner.threads, cores: availableParallelism(), ...residentMemory() })}\n`,
);
serve({
  async run() {
    const t0 = performance.now();
    const out = await runner.forward();
    const ms = performance.now() - t0;
    first ??= out;
    return { ms };
  },
  output: async () => ({ output: Array.from((first ?? (await runner.forward())).slice(0, 1000)) }),
  memory: () => residentMemory(),
});
