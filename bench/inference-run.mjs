// One configuration of the inference benchmark, in a process of its own (WASM and onnxruntime
// thread counts are fixed per process). Called by inference.mjs with a JSON config; prints one
// JSON line: the timings and the first image's output (to check that every runner computes the
// same network).
import { availableParallelism } from 'node:os';

const config = JSON.parse(process.argv[2]);
const { kind, arch, batch, size, runs, warmup, threads, onnx, weights } = config;

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

async function time(fn) {
  const times = [];
  let output;
  for (let i = 0; i < warmup + runs; i++) {
    const t0 = performance.now();
    const out = await fn();
    const t = performance.now() - t0;
    if (i >= warmup) times.push(t);
    output ??= out;
  }
  return { times, output: Array.from(output.slice(0, 1000)) };
}

async function ours() {
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
  const model = createModel(arch);
  loadTorchvisionWeights(model, weights);
  const runner = config.optimize ? optimizeForInference(model) : model;
  const x = tf.tensor(images().nhwc, [batch, size, size, 3]);
  const result = await time(async () => {
    const y = runner.predict(x);
    const data = await y.data();
    y.dispose();
    return data;
  });
  return { ...result, threads: info.threads };
}

async function oursPool() {
  const { createInferencePool } = await import('@resnet/zoo/node');
  const workers = Math.min(threads, batch);
  const pool = await createInferencePool({ arch, weights, workers, optimize: true });
  const { nhwc } = images();
  try {
    const result = await time(
      async () => (await pool.run({ dtype: 'float32', shape: [batch, size, size, 3], data: nhwc.slice() })).data,
    );
    return { ...result, threads: workers };
  } finally {
    await pool.close();
  }
}

async function ortWeb() {
  const ort = await import('onnxruntime-web');
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.simd = true;
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['wasm'],
    graphOptimizationLevel: 'all',
  });
  const input = new ort.Tensor('float32', images().nchw, [batch, 3, size, size]);
  const result = await time(async () => (await session.run({ input })).logits.data);
  await session.release();
  return { ...result, threads };
}

async function ortNode() {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnx, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
  });
  const input = new ort.Tensor('float32', images().nchw, [batch, 3, size, size]);
  const result = await time(async () => (await session.run({ input })).logits.data);
  await session.release();
  return { ...result, threads };
}

const runners = { ours, 'tfjs-cpu': ours, 'ours-pool': oursPool, 'ort-web': ortWeb, 'ort-node': ortNode };
const result = await runners[kind]();
process.stdout.write(`${JSON.stringify({ ...result, cores: availableParallelism() })}\n`);
process.exit(0);
