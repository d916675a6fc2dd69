// One side of the per-layer-type profile (bench/profile.mjs), kept alive between repetitions: a
// job (ResNet-50 inference at batch 1, or a ResNet-20 training step) on the WASM backend of one
// build (`root`, default this checkout), with whatever kernels that build registers. Each
// {"cmd":"run"} runs the job once and replies with its wall time and the time of every top-level
// kernel call, grouped by layer type.
//
// Timing: tfjs's engine runs every kernel through `runKernelFunc`; on WASM a kernel has finished
// when that call returns, so the wall time of each outermost call is the kernel's time (kernels
// called from inside a kernel, and custom-gradient wrappers, are counted once, in the outermost
// call). A call is attributed to a layer type by the module it runs in (module hooks, forward pass
// of a model) or else by the kernel and its shapes (the inference form, the backward pass).
import { buildRequire } from './build-modules.mjs';
import { serve } from './child.mjs';

const config = JSON.parse(process.argv[2]);
const require = buildRequire(config.root);
const tf = require('@tensorflow/tfjs-core');
const { initBackend } = require('@resnet/backends');
const core = require('@resnet/core');
const { createModel } = require('@resnet/zoo');

const info = await initBackend({ prefer: 'wasm', threads: config.threads ?? 1, onWarning: () => {} });
tf.env().set('CHECK_COMPUTATION_FOR_ERRORS', false);

/** The layer types of the profile, in display order. */
export const CATEGORIES = [
  'stem conv',
  'conv 3×3',
  'conv 1×1',
  'conv strided',
  'BatchNorm',
  'ReLU',
  'residual add',
  'shortcut (option A)',
  'pool',
  'head and loss',
  'optimizer',
  'other',
];

const CONV_KERNELS = new Set(['Conv2D', 'FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2D']);
const BN_KERNELS = new Set(['FusedBatchNorm', 'ResNetBatchNormTrain', 'ResNetBatchNormTrainGrad']);
const RELU_KERNELS = new Set(['Relu', 'ReluGrad', 'ResNetReluGrad', 'Relu6', 'Step']);
const POOL_KERNELS = new Set(['MaxPool', 'MaxPoolGrad', 'AvgPool', 'AvgPoolGrad']);
const HEAD_KERNELS = new Set(['MatMul', '_FusedMatMul', 'BatchMatMul', 'Softmax', 'LogSoftmax']);
const SHORTCUT_KERNELS = new Set(['Slice', 'StridedSlice', 'Pad', 'PadV2', 'MirrorPad']);
const IMAGE_CHANNELS = 3;

const maxOf = (v) => (Array.isArray(v) ? Math.max(...v) : (v ?? 1));

/** A convolution's type from its filter shape [kh, kw, in, out] and stride. */
function convCategory(filter, stride) {
  if (filter[2] === IMAGE_CHANNELS) return 'stem conv';
  if (stride > 1) return 'conv strided';
  return `conv ${filter[0]}×${filter[1]}`;
}

/** The layer type of a kernel call from its name, shapes and attributes (no module known). */
function byKernel({ name, shapes, attrs }) {
  const rank = Math.max(0, ...shapes.map((s) => s?.length ?? 0));
  if (CONV_KERNELS.has(name)) return convCategory(shapes[1], maxOf(attrs?.strides));
  if (name === 'Conv2DBackpropInput') return convCategory(shapes[1], maxOf(attrs?.strides));
  if (name === 'Conv2DBackpropFilter') return convCategory(attrs?.filterShape ?? [0, 0, 0, 0], maxOf(attrs?.strides));
  if (BN_KERNELS.has(name)) return 'BatchNorm';
  if (RELU_KERNELS.has(name)) return 'ReLU';
  if ((name === 'Add' || name === 'AddN') && rank === 4) return 'residual add';
  if (POOL_KERNELS.has(name) || (name === 'Mean' && rank === 4)) return 'pool';
  if (SHORTCUT_KERNELS.has(name) && rank === 4) return 'shortcut (option A)';
  if (HEAD_KERNELS.has(name) || rank <= 2) return 'head and loss';
  return 'other';
}

/** The layer type of a kernel call made inside `module`'s own forward code. */
function byModule(module, kernel) {
  switch (module.typeName) {
    case 'Conv2d':
      return CONV_KERNELS.has(kernel.name)
        ? convCategory([...module.kernelSize, module.inChannels / module.groups], Math.max(...module.stride))
        : 'other';
    case 'BatchNorm2d':
      return 'BatchNorm';
    case 'ReLU':
      return 'ReLU';
    case 'MaxPool2d':
    case 'AdaptiveAvgPool2d':
    case 'AdaptiveMaxPool2d':
      return 'pool';
    case 'Linear':
    case 'Softmax':
      return 'head and loss';
    case 'ZeroPadShortcut':
      return 'shortcut (option A)';
    default:
      return byKernel(kernel);
  }
}

// The profiler: wraps the engine's kernel entry point.
const engine = tf.engine();
const runKernelFunc = engine.runKernelFunc.bind(engine);
const modules = [];
let depth = 0;
let call = null;
let records = null;
engine.runKernelFunc = (params) => {
  if (!records) return runKernelFunc(params);
  depth++;
  if (depth === 1) {
    call = {
      kernel: null,
      module: modules.at(-1) ?? null,
      backward: engine.state.gradientDepth === 0 && config.job === 'train',
      t0: performance.now(),
    };
  }
  if (params.kernelName != null && call.kernel === null) {
    call.kernel = {
      name: params.kernelName,
      shapes: Object.values(params.inputs ?? {}).map((t) => t?.shape ?? null),
      attrs: params.attrs,
    };
  }
  try {
    return runKernelFunc(params);
  } finally {
    depth--;
    if (depth === 0) {
      call.ms = performance.now() - call.t0;
      records.push(call);
      call = null;
    }
  }
};
const hooks = { before: (m) => modules.push(m), after: () => modules.pop() };

/** Runs `fn` with every top-level kernel call recorded; returns the records. */
function profiled(fn, phase) {
  records = [];
  try {
    core.withModuleHooks(hooks, fn);
    return records.map((r) => ({ ...r, phase }));
  } finally {
    records = null;
  }
}

function setupInference() {
  const model = createModel('resnet50', { seed: 0 });
  const runner = config.job === 'resnet50-optimized' ? core.optimizeForInference(model) : model;
  const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1);
  return () => {
    const calls = profiled(() => {
      const y = runner.predict(x);
      y.dataSync();
      y.dispose();
    }, 'forward');
    return calls;
  };
}

function setupTraining() {
  const { Sgd, computeGradients } = require('@resnet/train');
  core.manualSeed(0);
  const model = createModel('resnet20');
  const optimizer = new Sgd(model.namedParameters(), { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
  const batch = config.batch ?? 128;
  const images = new Float32Array(batch * 32 * 32 * 3);
  for (let i = 0; i < images.length; i++) images[i] = Math.sin(i * 12.9898) * 2;
  const labels = new Int32Array(batch).map((_, i) => i % 10);
  const b = { images, labels, shape: [batch, 32, 32, 3] };
  return () => {
    let result;
    const gradCalls = profiled(() => {
      result = computeGradients(model, b);
    }, 'gradients');
    const stepCalls = profiled(() => optimizer.step(result.grads), 'optimizer');
    result.logits.dispose();
    tf.dispose(Object.values(result.grads));
    return [...gradCalls, ...stepCalls];
  };
}

const job = config.job === 'train' ? setupTraining() : setupInference();
for (let i = 0; i < (config.warmup ?? 1); i++) job();

function categorise(calls) {
  const rows = Object.fromEntries(CATEGORIES.map((c) => [c, { forward: 0, backward: 0, step: 0 }]));
  const other = {};
  for (const c of calls) {
    const kernel = c.kernel ?? { name: '(no kernel)', shapes: [], attrs: {} };
    let category;
    if (c.phase === 'optimizer') category = 'optimizer';
    else if (c.module && !c.backward) category = byModule(c.module, kernel);
    else category = byKernel(kernel);
    rows[category][c.phase === 'optimizer' ? 'step' : c.backward ? 'backward' : 'forward'] += c.ms;
    if (category === 'other') other[kernel.name] = (other[kernel.name] ?? 0) + c.ms;
  }
  return { rows, other };
}

process.stdout.write(
  `${JSON.stringify({ ready: true, backend: info.name, threads: info.threads, kernels: tf.getKernelsForBackend('wasm').length })}\n`,
);
serve({
  run() {
    const t0 = performance.now();
    const calls = job();
    const ms = performance.now() - t0;
    return { ms, ...categorise(calls) };
  },
});
