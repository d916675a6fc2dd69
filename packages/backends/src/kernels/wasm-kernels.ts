import * as tf from '@tensorflow/tfjs-core';
import { KernelThreads } from './kernel-threads.js';
import { KERNELS_WASM_BASE64, KERNELS_WASM_RELAXED_BASE64 } from './kernels-wasm.js';
import { withSharedMemoryImport } from './wasm-binary.js';

/** Functions of our WASM SIMD module (csrc/*.c); pointers are byte offsets in the backend's memory. */
export interface KernelExports {
  bn_stats(x: number, m: number, c: number, mean: number, variance: number, acc: number): void;
  bn_apply(x: number, m: number, c: number, scale: number, shift: number, y: number, relu: number): void;
  bn_grad_sums(
    x: number,
    dy: number,
    y: number,
    m: number,
    c: number,
    mean: number,
    sumDy: number,
    sumDyXc: number,
    acc: number,
  ): void;
  bn_grad_apply(
    x: number,
    dy: number,
    y: number,
    m: number,
    c: number,
    mean: number,
    a: number,
    b: number,
    d: number,
    dx: number,
  ): void;
  relu(x: number, n: number, y: number): void;
  relu_grad(dy: number, x: number, n: number, dx: number): void;
  add(a: number, b: number, n: number, z: number): void;
  to_chwn(x: number, n: number, hw: number, c: number, out: number): void;
  swap01(x: number, a: number, b: number, row: number, out: number): void;
  winograd_filter(m: number, w: number, cin: number, cout: number, flip: number, u: number, work: number): void;
  winograd_block_tiles(m: number, cin: number, cout: number, tiles: number): number;
  winograd_scratch(m: number, cin: number, cout: number, tb: number): number;
  winograd_conv(
    m: number,
    x: number,
    n: number,
    h: number,
    w: number,
    cin: number,
    u: number,
    cout: number,
    pt: number,
    pl: number,
    ho: number,
    wo: number,
    bias: number,
    res: number,
    relu: number,
    y: number,
    tb: number,
    kc: number,
    t0: number,
    t1: number,
    work: number,
  ): void;
  winograd_filter_grad(
    x: number,
    h: number,
    w: number,
    cin: number,
    dy: number,
    ho: number,
    wo: number,
    cout: number,
    pt: number,
    pl: number,
    tb: number,
    t0: number,
    t1: number,
    acc: number,
    work: number,
  ): void;
  winograd_filter_grad_store(
    m: number,
    acc: number,
    parts: number,
    cin: number,
    cout: number,
    dw: number,
    work: number,
  ): void;
  conv_gemm_scratch_bytes(k: number, taps: number): number;
  conv_gemm(
    x: number,
    n: number,
    h: number,
    w: number,
    cin: number,
    kh: number,
    kw: number,
    sh: number,
    sw: number,
    pt: number,
    pl: number,
    filter: number,
    cout: number,
    ho: number,
    wo: number,
    bias: number,
    res: number,
    relu: number,
    y: number,
    p0: number,
    p1: number,
    zero: number,
    scratch: number,
  ): void;
  conv_transposed_packed_floats(
    kh: number,
    kw: number,
    cin: number,
    cout: number,
    s: number,
    pt: number,
    pl: number,
  ): number;
  conv_transposed_pack(
    w: number,
    kh: number,
    kw: number,
    cin: number,
    cout: number,
    s: number,
    pt: number,
    pl: number,
    out: number,
  ): void;
  conv_transposed(
    dy: number,
    n: number,
    ho: number,
    wo: number,
    cout: number,
    packed: number,
    cin: number,
    h: number,
    w: number,
    kh: number,
    kw: number,
    s: number,
    pt: number,
    pl: number,
    dx: number,
    q0: number,
    q1: number,
    zero: number,
    scratch: number,
  ): void;
  conv_filter_grad_band_rows(wo: number): number;
  conv_filter_grad(
    x: number,
    h: number,
    w: number,
    cin: number,
    dy: number,
    ho: number,
    wo: number,
    cout: number,
    kh: number,
    kw: number,
    s: number,
    pt: number,
    pl: number,
    r0: number,
    r1: number,
    g: number,
  ): void;
  conv_filter_grad_store(g: number, parts: number, taps: number, cin: number, cout: number, dw: number): void;
}

/** What our kernels use of tfjs's WASM backend. */
export interface WasmBackend {
  wasm: {
    /** The module's memory: an export of the single-threaded builds, the import of the threaded one. */
    asm?: { memory?: unknown };
    wasmMemory?: unknown;
    _malloc(bytes: number): number;
    _free(ptr: number): void;
    HEAPF32: Float32Array;
  };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined; has(id: tf.DataId): boolean };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

interface Loaded {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  exports: KernelExports;
  relaxedSimd: boolean;
  shared: boolean;
  threads: KernelThreads | null;
}

const modules = new Map<string, Loaded>();

/** The module bytes of a base64-encoded, zlib-compressed constant of kernels-wasm.ts. */
async function decode(base64: string): Promise<Uint8Array<ArrayBuffer>> {
  const text = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd) */
const RELAXED_PROBE = Uint8Array.of(
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  8,
  1,
  96,
  3,
  123,
  123,
  123,
  1,
  123,
  3,
  2,
  1,
  0,
  10,
  13,
  1,
  11,
  0,
  32,
  0,
  32,
  1,
  32,
  2,
  253,
  133,
  2,
  11,
);

/** Whether this engine validates relaxed SIMD's fused multiply-add (Chromium ≥ 114, Node ≥ 22). */
export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

/**
 * Instantiates our module on the memory of the WASM backend `backendName`, once: the relaxed-SIMD
 * build where the engine has it, else SIMD128; declared shared on tfjs's threaded build (whose
 * memory is a SharedArrayBuffer). Returns null when the backend has no WASM memory.
 */
export async function loadWasmKernels(backendName: string): Promise<KernelExports | null> {
  const known = modules.get(backendName);
  if (known) return known.exports;
  const backend = tf.findBackend(backendName) as unknown as WasmBackend | null;
  const memory = backend ? memoryOf(backend) : null;
  if (!memory) return null;
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const relaxedSimd = relaxedSimdSupported();
  const bytes = await decode(relaxedSimd ? KERNELS_WASM_RELAXED_BASE64 : KERNELS_WASM_BASE64);
  const module = await WebAssembly.compile(shared ? withSharedMemoryImport(bytes) : bytes);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const exports = instance.exports as unknown as KernelExports;
  modules.set(backendName, { memory, module, exports, relaxedSimd, shared, threads: null });
  return exports;
}

/**
 * Our threads for `backendName` (see kernel-threads.ts): `threads` in all, started once, on
 * tfjs's threaded build only (null otherwise, or before loadWasmKernels).
 */
export async function startKernelThreads(backendName: string, threads: number): Promise<KernelThreads | null> {
  const loaded = modules.get(backendName);
  if (!loaded?.shared || threads < 2) return null;
  loaded.threads ??= await KernelThreads.start(
    loaded.module,
    loaded.memory,
    loaded.exports as unknown as Record<string, unknown>,
    threads,
  );
  return loaded.threads;
}

/** What runs our kernels on `backendName`: null before they are loaded. */
export function wasmKernelInfo(
  backendName = 'wasm',
): { relaxedSimd: boolean; sharedMemory: boolean; threads: number } | null {
  const loaded = modules.get(backendName);
  if (!loaded) return null;
  return { relaxedSimd: loaded.relaxedSimd, sharedMemory: loaded.shared, threads: loaded.threads?.size ?? 1 };
}

/** The byte offset of a tensor's data in the backend's memory. */
export function offsetOf(backend: WasmBackend, t: tf.TensorInfo, kernel: string): number {
  const entry = backend.dataIdMap.get(t.dataId);
  if (!entry) throw new Error(`${kernel}: a tensor's data is not on this backend`);
  return entry.memoryOffset;
}

function memoryOf(backend: WasmBackend): WebAssembly.Memory | null {
  const memory = backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** Throws unless `backend` is the one whose memory `exports` was instantiated on. */
export function checkSameMemory(backendName: string, backend: WasmBackend, kernel: string): void {
  if (modules.get(backendName)?.memory !== memoryOf(backend)) {
    throw new Error(`${kernel}: registered for another WASM backend instance`);
  }
}
