import * as tf from '@tensorflow/tfjs-core';
import { type ConvPath, type ConvShape, chooseConvPath } from './conv-paths.js';
import { FilterCache } from './filter-cache.js';
import { wrapInput } from './wrap-input.js';
import type { KernelThreads } from './kernel-threads.js';
import {
  checkSameMemory,
  type KernelExports,
  loadWasmKernels,
  offsetOf,
  startKernelThreads,
  type WasmBackend,
} from './wasm-kernels.js';

/**
 * Our convolution kernels for tfjs's WASM backend (csrc/winograd.c, csrc/gemm.h), registered in
 * place of tfjs's Conv2D, FusedConv2D and Conv2DBackpropInput. Each call picks a path for its
 * shape (conv-paths.ts, decided by measurement): ours, or the kernel it replaced (XNNPACK), which
 * also takes everything ours does not do (NCHW, dilation, other activations).
 */

/**
 * The kernel for relu?(conv(x) + bias + residual); @resnet/core's optimizeForInference looks it up
 * by this name (its FUSED_CONV_RESIDUAL_KERNEL). Inputs x, filter, bias (optional), residual; attrs
 * as FusedConv2D's (strides, pad, dilations, dataFormat NHWC, activation 'linear' or 'relu').
 */
export const CONV2D_RESIDUAL = 'ResNetConv2DResidual';

/** Floats summed per partial sum in the Winograd products (see csrc/winograd.c). */
const WINOGRAD_CHUNK = 32;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
  inputShape?: [number, number, number, number];
}

/** One convolution as our kernels see it: NHWC, explicit padding, output size. */
interface Plan extends ConvShape {
  padTop: number;
  padLeft: number;
  outHeight: number;
  outWidth: number;
}

const registered = new Set<string>();
const caches = new WeakMap<object, FilterCache>();
let forcedPath: ConvPath | 'auto' = 'auto';

/**
 * Forces one path for every convolution that path can do ('tfjs' for all), or 'auto' (the
 * measured choice). For benchmarks and tests; returns the previous setting.
 */
export function setConvolutionPath(path: ConvPath | 'auto'): ConvPath | 'auto' {
  const previous = forcedPath;
  forcedPath = path;
  return previous;
}

function cacheOf(backend: WasmBackend): FilterCache {
  let cache = caches.get(backend);
  if (!cache) {
    cache = new FilterCache(backend);
    caches.set(backend, cache);
  }
  return cache;
}

/** Bytes held by transformed filters on `backendName` (for memory reports and tests). */
export function filterCacheStats(backendName = 'wasm'): { bytes: number; tensors: number } {
  const backend = tf.findBackend(backendName) as unknown as WasmBackend | null;
  const cache = backend ? caches.get(backend) : undefined;
  return cache ? cache.stats() : { bytes: 0, tensors: 0 };
}

function pathFor(plan: ConvShape, threads: number): ConvPath {
  const measured = chooseConvPath(plan, threads);
  if (forcedPath === 'auto') return measured;
  if (forcedPath === 'tfjs') return 'tfjs';
  return chooseConvPath(plan, threads, forcedPath);
}

function winogradM(path: ConvPath): number {
  return path === 'winograd2' ? 2 : 4;
}

/** The module's functions and, on tfjs's threaded build, our threads to split a kernel over. */
interface Runner {
  k: KernelExports;
  threads: KernelThreads | null;
}

/** [start, end) ranges splitting [0, total) into at most `parts` pieces, boundaries multiples of `align`. */
function split(total: number, parts: number, align: number): [number, number][] {
  const units = Math.ceil(total / align);
  const n = Math.max(1, Math.min(parts, units));
  return Array.from({ length: n }, (_, p): [number, number] => [
    Math.min(total, Math.floor((units * p) / n) * align),
    Math.min(total, Math.floor((units * (p + 1)) / n) * align),
  ]);
}

/** Calls `name` once per argument list: on our threads when there are, else one after the other. */
function runParts(r: Runner, name: keyof KernelExports, parts: number[][]): void {
  if (r.threads && parts.length > 1) {
    r.threads.run(name, parts);
    return;
  }
  const fn = r.k[name] as unknown as (...args: number[]) => void;
  for (const args of parts) fn(...args);
}

/** Runs a Winograd convolution of `x` into a new output; the filter comes from the cache. */
function runWinograd(
  r: Runner,
  b: WasmBackend,
  m: number,
  x: tf.TensorInfo,
  u: number,
  plan: Plan,
  bias: tf.TensorInfo | null,
  residual: tf.TensorInfo | null,
  relu: boolean,
  kernel: string,
): tf.TensorInfo {
  const { k } = r;
  const { batch, inHeight, inWidth, inChannels, outChannels, outHeight, outWidth } = plan;
  const out = b.makeOutput([batch, outHeight, outWidth, outChannels], 'float32');
  if (batch * outHeight * outWidth * outChannels === 0) return out;
  const tiles = batch * Math.ceil(outHeight / m) * Math.ceil(outWidth / m);
  const ranges = split(tiles, r.threads?.size ?? 1, 4);
  const tb = k.winograd_block_tiles(m, inChannels, outChannels, Math.ceil(tiles / ranges.length));
  const scratch = 4 * k.winograd_scratch(m, inChannels, outChannels, tb);
  const work = b.wasm._malloc(scratch * ranges.length);
  try {
    const common = [
      m,
      offsetOf(b, x, kernel),
      batch,
      inHeight,
      inWidth,
      inChannels,
      u,
      outChannels,
      plan.padTop,
      plan.padLeft,
      outHeight,
      outWidth,
      bias ? offsetOf(b, bias, kernel) : 0,
      residual ? offsetOf(b, residual, kernel) : 0,
      relu ? 1 : 0,
      offsetOf(b, out, kernel),
      tb,
      WINOGRAD_CHUNK,
    ];
    runParts(
      r,
      'winograd_conv',
      ranges.map(([t0, t1], p) => [...common, t0, t1, work + p * scratch]),
    );
  } finally {
    b.wasm._free(work);
  }
  return out;
}

/**
 * Calls `name` (conv_gemm or conv_transposed) over `pixels` split between our threads: each part
 * gets `args` (its common arguments), its range, `zeros` shared zero floats (the padding's taps)
 * and a scratch of its own (conv_gemm_scratch_bytes for `depth` and `taps`).
 */
function runPixelParts(
  r: Runner,
  b: WasmBackend,
  name: 'conv_gemm' | 'conv_transposed',
  pixels: number,
  depth: number,
  taps: number,
  zeros: number,
  args: number[],
): void {
  const ranges = split(pixels, r.threads?.size ?? 1, 4);
  const part = r.k.conv_gemm_scratch_bytes(depth, taps);
  const work = b.wasm._malloc(part * ranges.length + 4 * zeros);
  try {
    const zero = work + part * ranges.length;
    b.wasm.HEAPF32.fill(0, zero / 4, zero / 4 + zeros);
    runParts(
      r,
      name,
      ranges.map(([p0, p1], p) => [...args, p0, p1, zero, work + p * part]),
    );
  } finally {
    b.wasm._free(work);
  }
}

/** Runs a convolution as an implicit matrix product (csrc/conv_gemm.c) into a new output. */
function runGemm(
  r: Runner,
  b: WasmBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  plan: Plan,
  bias: tf.TensorInfo | null,
  residual: tf.TensorInfo | null,
  relu: boolean,
  kernel: string,
): tf.TensorInfo {
  const { batch, inHeight, inWidth, inChannels, outChannels, outHeight, outWidth, kernelHeight, kernelWidth } = plan;
  const out = b.makeOutput([batch, outHeight, outWidth, outChannels], 'float32');
  const pixels = batch * outHeight * outWidth;
  if (pixels * outChannels === 0) return out;
  // The filter is read in place: tfjs's HWIO layout is the product's K × cout matrix, packed a
  // panel at a time. Padding taps read cin zeros.
  runPixelParts(
    r,
    b,
    'conv_gemm',
    pixels,
    kernelHeight * kernelWidth * inChannels,
    kernelHeight * kernelWidth,
    inChannels,
    [
      offsetOf(b, x, kernel),
      batch,
      inHeight,
      inWidth,
      inChannels,
      kernelHeight,
      kernelWidth,
      plan.strideHeight,
      plan.strideWidth,
      plan.padTop,
      plan.padLeft,
      offsetOf(b, filter, kernel),
      outChannels,
      outHeight,
      outWidth,
      bias ? offsetOf(b, bias, kernel) : 0,
      residual ? offsetOf(b, residual, kernel) : 0,
      relu ? 1 : 0,
      offsetOf(b, out, kernel),
    ],
  );
  return out;
}

/**
 * The input gradient of a strided convolution (csrc/conv_gemm.c: one small stride-1 product per
 * output phase), pixels split over our threads.
 */
function runTransposed(r: Runner, b: WasmBackend, dy: tf.TensorInfo, filter: tf.TensorInfo, plan: Plan): tf.TensorInfo {
  const kernel = 'Conv2DBackpropInput';
  const { k } = r;
  // The plan is the forward convolution's: x [batch, inHeight, inWidth, inChannels] → dy.
  const {
    batch,
    inHeight: h,
    inWidth: w,
    inChannels: cin,
    outChannels: cout,
    kernelHeight: kh,
    kernelWidth: kw,
  } = plan;
  const s = plan.strideHeight;
  const dx = b.makeOutput([batch, h, w, cin], 'float32');
  const pixels = batch * h * w;
  if (pixels * cin === 0) return dx;
  const floats = k.conv_transposed_packed_floats(kh, kw, cin, cout, s, plan.padTop, plan.padLeft);
  const packed = cacheOf(b).get(filter, `transposed-${s}-${plan.padTop}-${plan.padLeft}`, 4 * floats, (p) =>
    k.conv_transposed_pack(offsetOf(b, filter, kernel), kh, kw, cin, cout, s, plan.padTop, plan.padLeft, p),
  );
  runPixelParts(r, b, 'conv_transposed', pixels, kh * kw * cout, kh * kw, cout, [
    offsetOf(b, dy, kernel),
    batch,
    plan.outHeight,
    plan.outWidth,
    cout,
    packed,
    cin,
    h,
    w,
    kh,
    kw,
    s,
    plan.padTop,
    plan.padLeft,
    offsetOf(b, dx, kernel),
  ]);
  return dx;
}

/**
 * The weight gradient by our kernels (csrc/): 3×3 stride 1 by Winograd F(3×3, 4×4) over the tiles
 * of dy (`winograd`), others by the blocked reduction over rows of dy; tiles or rows split over our
 * threads, each part summing into its own accumulator, added up by the store.
 */
function runFilterGradient(
  r: Runner,
  b: WasmBackend,
  x: tf.TensorInfo,
  dy: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  filterShape: number[],
  winograd: boolean,
): tf.TensorInfo {
  const kernel = 'Conv2DBackpropFilter';
  const { k } = r;
  const { inChannels: cin, outChannels: cout, outHeight: ho, outWidth: wo } = info;
  const dw = b.makeOutput([...filterShape], 'float32');
  const taps = info.filterHeight * info.filterWidth;
  // Accumulator: per filter tap (or per position of the 6×6 transformed tile), cin × cout padded.
  const acc = (winograd ? 36 : taps) * Math.ceil(cin / 4) * 4 * Math.ceil(cout / 8) * 8;
  const units = winograd ? info.batchSize * Math.ceil(ho / 4) * Math.ceil(wo / 4) : info.batchSize * ho;
  const ranges = split(units, r.threads?.size ?? 1, winograd ? 4 : 1);
  const parts = ranges.length;
  const tb = winograd ? Math.min(64, k.winograd_block_tiles(4, cin, cout, Math.ceil(units / parts))) : 0;
  // Work: the accumulators one after the other, then each part's scratch, then 36 doubles (Winograd's store).
  const scratch = winograd ? 4 * k.winograd_scratch(4, cin, cout, tb) : 0;
  const work = b.wasm._malloc(4 * acc * parts + scratch * parts + (winograd ? 8 * 36 : 0));
  try {
    b.wasm.HEAPF32.fill(0, work / 4, work / 4 + acc * parts);
    const scratchOf = (p: number) => work + 4 * acc * parts + p * scratch;
    const common = [offsetOf(b, x, kernel), info.inHeight, info.inWidth, cin, offsetOf(b, dy, kernel), ho, wo, cout];
    const pad = [info.padInfo.top, info.padInfo.left];
    if (winograd) {
      const args = ranges.map(([t0, t1], p) => [...common, ...pad, tb, t0, t1, work + 4 * acc * p, scratchOf(p)]);
      runParts(r, 'winograd_filter_grad', args);
      k.winograd_filter_grad_store(4, work, parts, cin, cout, offsetOf(b, dw, kernel), scratchOf(parts));
    } else {
      const shape = [info.filterHeight, info.filterWidth, info.strideHeight, ...pad];
      runParts(
        r,
        'conv_filter_grad',
        ranges.map(([r0, r1], p) => [...common, ...shape, r0, r1, work + 4 * acc * p]),
      );
      k.conv_filter_grad_store(work, parts, taps, cin, cout, offsetOf(b, dw, kernel));
    }
  } finally {
    b.wasm._free(work);
  }
  return dw;
}

/** The Winograd form of a 3×3 filter (flipped and transposed for the input gradient), cached. */
function winogradFilter(
  k: KernelExports,
  b: WasmBackend,
  filter: tf.TensorInfo,
  m: number,
  cin: number,
  cout: number,
  flip: boolean,
  kernel: string,
): number {
  const alpha = m + 2;
  const bytes = 4 * alpha * alpha * (Math.ceil(cin / 4) * 4) * (Math.ceil(cout / 8) * 8);
  return cacheOf(b).get(filter, `winograd${m}${flip ? '-flipped' : ''}`, bytes, (u) => {
    const work = b.wasm._malloc(8 * (9 + 3 * alpha + alpha * alpha));
    try {
      k.winograd_filter(m, offsetOf(b, filter, kernel), cin, cout, flip ? 1 : 0, u, work);
    } finally {
      b.wasm._free(work);
    }
  });
}

/** Whether the engine is recording operations for a gradient (the forward pass of a training step). */
function recording(): boolean {
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth > 0;
}

/** The plan of a forward convolution, or null when ours cannot run it (the original kernel does). */
function forwardPlan(x: tf.TensorInfo, filter: tf.TensorInfo, attrs: ConvAttrs): Plan | null {
  if (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
  return {
    recorded: recording(),
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outChannels: info.outChannels,
    kernelHeight: info.filterHeight,
    kernelWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  };
}

/** Registers our convolution kernels for the WASM backend `backendName`; false when our module cannot load there. */
export async function registerConvolutionKernels(backendName = 'wasm', threads = 1): Promise<boolean> {
  if (registered.has(backendName)) return true;
  const k = await loadWasmKernels(backendName);
  if (!k) return false;
  const runner: Runner = { k, threads: await startKernelThreads(backendName, threads) };
  const pool = runner.threads?.size ?? 1;

  const replace = (kernelName: string, ours: (original: tf.KernelFunc) => tf.KernelFunc): void => {
    const original = tf.getKernel(kernelName, backendName);
    if (!original) return;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc: ours(original.kernelFunc) });
  };

  const forward =
    (kernelName: string) =>
    (original: tf.KernelFunc): tf.KernelFunc =>
    (args) => {
      const { x, filter, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const attrs = args.attrs as unknown as ConvAttrs;
      const activation = attrs.activation ?? 'linear';
      if (!x || !filter || preluActivationWeights || (activation !== 'linear' && activation !== 'relu'))
        return original(args);
      if (bias && (bias.shape.length !== 1 || bias.dtype !== 'float32')) return original(args);
      const plan = forwardPlan(x, filter, attrs);
      if (!plan || (bias && bias.shape[0] !== plan.outChannels)) return original(args);
      const path = pathFor(plan, pool);
      if (path === 'tfjs') return original(args);
      const b = args.backend as unknown as WasmBackend;
      checkSameMemory(backendName, b, kernelName);
      if (path === 'gemm')
        return runGemm(runner, b, x, filter, plan, bias ?? null, null, activation === 'relu', kernelName);
      const m = winogradM(path);
      const u = winogradFilter(k, b, filter, m, plan.inChannels, plan.outChannels, false, kernelName);
      return runWinograd(runner, b, m, x, u, plan, bias ?? null, null, activation === 'relu', kernelName);
    };

  replace('Conv2D', forward('Conv2D'));
  replace('FusedConv2D', forward('FusedConv2D'));

  // relu?(conv(x) + bias + residual) in one pass (a residual block's last convolution, as
  // @resnet/core's optimizeForInference asks for it): ours adds the residual in the kernel's
  // epilogue; elsewhere tfjs's fused convolution, then Add (and Relu).
  tf.registerKernel({
    kernelName: CONV2D_RESIDUAL,
    backendName,
    kernelFunc: (args) => {
      const { x, filter, bias, residual } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const attrs = args.attrs as unknown as ConvAttrs;
      if (!x || !filter || !residual) throw new Error(`${CONV2D_RESIDUAL}: inputs x, filter and residual are required`);
      const relu = attrs.activation === 'relu';
      const plan =
        !bias || (bias.shape.length === 1 && bias.dtype === 'float32') ? forwardPlan(x, filter, attrs) : null;
      const fits =
        plan !== null &&
        residual.dtype === 'float32' &&
        residual.shape.join() === [plan.batch, plan.outHeight, plan.outWidth, plan.outChannels].join();
      const path = fits ? pathFor(plan, pool) : 'tfjs';
      if (plan && path !== 'tfjs') {
        const b = args.backend as unknown as WasmBackend;
        checkSameMemory(backendName, b, CONV2D_RESIDUAL);
        if (path === 'gemm') return runGemm(runner, b, x, filter, plan, bias ?? null, residual, relu, CONV2D_RESIDUAL);
        const m = winogradM(path);
        const u = winogradFilter(k, b, filter, m, plan.inChannels, plan.outChannels, false, CONV2D_RESIDUAL);
        return runWinograd(runner, b, m, x, u, plan, bias ?? null, residual, relu, CONV2D_RESIDUAL);
      }
      const [xt, ft, rt] = [x, filter, residual].map((t) => wrapInput<tf.Rank.R4>(t)) as tf.Tensor4D[];
      const bt = bias ? wrapInput<tf.Rank.R1>(bias) : undefined;
      try {
        return tf.tidy(() => {
          const y = tf.add(
            tf.fused.conv2d({
              x: xt as tf.Tensor4D,
              filter: ft as tf.Tensor4D,
              strides: attrs.strides,
              pad: attrs.pad as 'valid',
              dilations: attrs.dilations,
              bias: bt,
            }),
            rt as tf.Tensor4D,
          );
          return relu ? tf.relu(y) : y;
        });
      } finally {
        tf.dispose([xt, ft, rt, ...(bt ? [bt] : [])] as tf.Tensor[]);
      }
    },
  });

  // The input gradient: of a 3×3 stride-1 convolution by Winograd (it is one: dy with the flipped
  // filter, in and out channels swapped, padded by 2 − the forward padding, giving x's size);
  // of others by one matrix product per output phase (runTransposed).
  replace('Conv2DBackpropInput', (original) => (args) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs;
    const inputShape = attrs.inputShape;
    if (!inputShape || attrs.dataFormat !== 'NHWC' || dy.dtype !== 'float32' || filter.dtype !== 'float32')
      return original(args);
    const info = tf.backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const plan: Plan = {
      batch: info.batchSize,
      inHeight: info.outHeight,
      inWidth: info.outWidth,
      inChannels: info.outChannels,
      outChannels: info.inChannels,
      kernelHeight: info.filterHeight,
      kernelWidth: info.filterWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      padTop: info.filterHeight - 1 - info.padInfo.top,
      padLeft: info.filterWidth - 1 - info.padInfo.left,
      outHeight: info.inHeight,
      outWidth: info.inWidth,
    };
    const path = pathFor(plan, pool);
    if (path === 'tfjs') return original(args);
    const b = args.backend as unknown as WasmBackend;
    checkSameMemory(backendName, b, 'Conv2DBackpropInput');
    if (path === 'gemm') {
      // The forward convolution's own plan: x → dy.
      const forward: Plan = {
        ...plan,
        inHeight: info.inHeight,
        inWidth: info.inWidth,
        inChannels: info.inChannels,
        outChannels: info.outChannels,
        padTop: info.padInfo.top,
        padLeft: info.padInfo.left,
        outHeight: info.outHeight,
        outWidth: info.outWidth,
      };
      return runTransposed(runner, b, dy, filter, forward);
    }
    const m = winogradM(path);
    const u = winogradFilter(k, b, filter, m, plan.inChannels, plan.outChannels, true, 'Conv2DBackpropInput');
    return runWinograd(runner, b, m, dy, u, plan, null, null, false, 'Conv2DBackpropInput');
  });

  // The weight gradient: our blocked kernel (csrc/conv_filter_grad.c) where the rules say.
  replace('Conv2DBackpropFilter', (original) => (args) => {
    const { x, dy } = args.inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const attrs = args.attrs as unknown as ConvAttrs & { filterShape: [number, number, number, number] };
    if (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return original(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
    );
    const shape: ConvShape = {
      batch: info.batchSize,
      inHeight: info.inHeight,
      inWidth: info.inWidth,
      inChannels: info.inChannels,
      outChannels: info.outChannels,
      kernelHeight: info.filterHeight,
      kernelWidth: info.filterWidth,
      strideHeight: info.strideHeight,
      strideWidth: info.strideWidth,
      gradient: 'filter',
    };
    const path = pathFor(shape, pool);
    if (path === 'tfjs') return original(args);
    const b = args.backend as unknown as WasmBackend;
    checkSameMemory(backendName, b, 'Conv2DBackpropFilter');
    return runFilterGradient(runner, b, x, dy, info, attrs.filterShape, path !== 'gemm');
  });

  registered.add(backendName);
  return true;
}
