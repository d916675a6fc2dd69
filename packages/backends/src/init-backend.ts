import * as tf from '@tensorflow/tfjs-core';
import { registerConvolutionKernels } from './kernels/convolution.js';
import { registerElementwiseKernels } from './kernels/elementwise.js';
import { registerFusedBatchNorm } from './kernels/fused-batch-norm.js';
import { registerMissingGradientKernels } from './kernels/index.js';

/** Backends this package can register. `tensorflow` is tfjs-node's native backend. */
export type BackendName = 'tensorflow' | 'wasm' | 'webgl' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'webgl', 'cpu'];

/** The three binaries of tfjs's WASM backend. */
export type WasmBinaryName =
  | 'tfjs-backend-wasm.wasm'
  | 'tfjs-backend-wasm-simd.wasm'
  | 'tfjs-backend-wasm-threaded-simd.wasm';

export const WASM_BINARY_NAMES: readonly WasmBinaryName[] = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
];

export interface InitBackendOptions {
  /**
   * A backend, or backends in order of preference. Default: the best for this runtime
   * (Node: tensorflow → wasm → cpu; browser: webgl → wasm → cpu). One name is a demand: if it
   * cannot start, `initBackend` throws and says why.
   */
  prefer?: BackendName | BackendName[];
  /**
   * WASM threads (XNNPACK's thread pool), fixed when the WASM backend first starts. Browser:
   * used when the page is cross-origin isolated (default: the number of cores). Node: default 1
   * (as tfjs); more starts tfjs's threaded SIMD module, which tfjs itself does not do in Node
   * (tfjs issue 3830). For batches, `createInferencePool` (@resnet/zoo/node) scales better.
   */
  threads?: number;
  /**
   * Where the WASM binaries are: a folder or URL prefix ending in `/`, or a file per binary name.
   * Default in Node: the installed @tensorflow/tfjs-backend-wasm; in a browser: next to the script.
   */
  wasmPaths?: string | Partial<Record<WasmBinaryName, string>>;
  /** Receives warnings (float16 WebGL, no cross-origin isolation...). Default `console.warn`. */
  onWarning?: (message: string) => void;
}

export interface BackendInfo {
  name: BackendName;
  runtime: 'node' | 'browser';
  /** WASM: whether the SIMD binary runs. Other backends: false. */
  simd: boolean;
  /** Threads the backend computes with (WASM: its thread pool; tensorflow: native, reported 0 = all). */
  threads: number;
  /** Bits of the floats the backend computes and stores in (16 on WebGL without float32 textures). */
  floatPrecision: 32 | 16;
  /** Why something is not as fast or precise as it could be (threads unavailable, float16). */
  notes: string[];
}

/** A backend that cannot start, or a bad option. Messages say why and how to fix it. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

/** Threads tfjs's threaded WASM module can start without creating workers later (its pool size). */
const MAX_NODE_THREADS = 8;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

type WasmModule = typeof import('@tensorflow/tfjs-backend-wasm');

let wasmModule: WasmModule | null = null;
/** Set once the WASM backend was initialised: its options are fixed from then on. */
let wasmState: { simd: boolean; threads: number; paths: string[]; notes: string[] } | null = null;
const notesByBackend = new Map<string, string[]>();
/** Node with threads: what must be in place while tfjs starts the threaded WASM module. */
let nodeThreads: { threads: number; workerScript: string } | null = null;

async function importModule(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

function checkOptions(options: unknown): InitBackendOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new BackendError(`initBackend: options must be an object such as { prefer: 'wasm' }; got ${show(options)}`);
  }
  const known = ['prefer', 'threads', 'wasmPaths', 'onWarning'];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new BackendError(`initBackend: unknown option ${JSON.stringify(key)}; expected one of ${known.join(', ')}`);
    }
  }
  const o = options as InitBackendOptions;
  if (o.threads !== undefined && (typeof o.threads !== 'number' || !Number.isInteger(o.threads) || o.threads < 1)) {
    throw new BackendError(
      `initBackend: options.threads must be a positive integer (WASM threads); got ${show(o.threads)}`,
    );
  }
  if (o.onWarning !== undefined && typeof o.onWarning !== 'function') {
    throw new BackendError(`initBackend: options.onWarning must be a function; got ${show(o.onWarning)}`);
  }
  const paths = o.wasmPaths;
  if (paths !== undefined) {
    if (typeof paths === 'string') {
      if (paths === '') throw new BackendError('initBackend: options.wasmPaths is empty; give a folder or URL prefix');
    } else if (paths === null || typeof paths !== 'object' || Array.isArray(paths)) {
      throw new BackendError(
        `initBackend: options.wasmPaths must be a folder/URL prefix or an object { 'tfjs-backend-wasm.wasm': url, ... }; got ${show(paths)}`,
      );
    } else {
      for (const [k, v] of Object.entries(paths)) {
        if (!(WASM_BINARY_NAMES as readonly string[]).includes(k)) {
          throw new BackendError(
            `initBackend: options.wasmPaths has an unknown binary ${JSON.stringify(k)}; expected keys ${WASM_BINARY_NAMES.join(', ')}`,
          );
        }
        if (typeof v !== 'string' || v === '') {
          throw new BackendError(
            `initBackend: options.wasmPaths[${JSON.stringify(k)}] must be a path or URL; got ${show(v)}`,
          );
        }
      }
    }
  }
  return o;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || v === undefined || typeof v !== 'object') return String(v);
  return Array.isArray(v) ? `an array` : 'an object';
}

declare const __filename: string | undefined;

/**
 * This module's URL in Node, from the ESM build (`import.meta.url`) or the CJS build
 * (`__filename`). No static `node:` import, so the package still bundles for browsers.
 */
async function moduleUrl(): Promise<string> {
  if (typeof __filename === 'string') {
    const { pathToFileURL } = (await importModule('node:url')) as typeof import('node:url');
    return pathToFileURL(__filename).href;
  }
  return import.meta.url;
}

/** Folder of the installed @tensorflow/tfjs-backend-wasm binaries (Node). */
async function installedWasmFolder(): Promise<string> {
  const { createRequire } = (await importModule('node:module')) as typeof import('node:module');
  const path = (await importModule('node:path')) as typeof import('node:path');
  const require = createRequire(await moduleUrl());
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  return `${path.dirname(main)}${path.sep}`;
}

async function wasmSimdSupported(): Promise<boolean> {
  return (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) as boolean;
}

/** Resolves and checks the binary paths, then configures tfjs's WASM backend (before it starts). */
async function configureWasm(options: InitBackendOptions, warn: (m: string) => void): Promise<void> {
  if (typeof WebAssembly === 'undefined') {
    throw new BackendError("backend 'wasm' cannot start: this runtime has no WebAssembly; choose 'cpu'");
  }
  wasmModule ??= (await import('@tensorflow/tfjs-backend-wasm')) as WasmModule;
  registerMissingGradientKernels('wasm');
  if (wasmState) {
    if (options.threads !== undefined && options.threads !== wasmState.threads && !isNode) {
      warn(
        `initBackend: the WASM backend already runs with ${wasmState.threads} thread(s); options.threads applies before it first starts`,
      );
    }
    return;
  }
  const simd = await wasmSimdSupported();
  const notes: string[] = [];
  let threads = 1;
  if (isNode) {
    const wanted = options.threads ?? 1;
    if (wanted > 1 && !simd) {
      notes.push('WASM runs one thread: tfjs ships threads only in its SIMD binary, and this Node has no WASM SIMD');
    } else if (wanted > 1) {
      // tfjs disables threads in Node (tfjs issue 3830) because its worker script is a Blob URL;
      // we start the same threaded module with a worker script file (see pthread-worker.cjs).
      threads = Math.min(wanted, MAX_NODE_THREADS);
      if (threads < wanted) notes.push(`WASM threads capped at ${MAX_NODE_THREADS} (the size of tfjs's thread pool)`);
      const { fileURLToPath } = (await importModule('node:url')) as typeof import('node:url');
      nodeThreads = { threads, workerScript: fileURLToPath(new URL('../pthread-worker.cjs', await moduleUrl())) };
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
      wasmModule.setThreadsCount(threads);
    }
  } else {
    const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
    const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
    const wanted = options.threads ?? cores;
    if (!isolated) {
      if (wanted > 1) {
        notes.push(
          'WASM runs one thread: the page is not cross-origin isolated (SharedArrayBuffer needs the headers ' +
            'Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)',
        );
      }
    } else if (!simd) {
      if (wanted > 1)
        notes.push(
          'WASM runs one thread: tfjs ships threads only in its SIMD binary, and this browser has no WASM SIMD',
        );
    } else {
      threads = wanted;
      wasmModule.setThreadsCount(threads);
    }
  }
  const binary: WasmBinaryName =
    simd && threads > 1
      ? 'tfjs-backend-wasm-threaded-simd.wasm'
      : simd
        ? 'tfjs-backend-wasm-simd.wasm'
        : 'tfjs-backend-wasm.wasm';
  const given = options.wasmPaths;
  let tried: string[];
  if (isNode) {
    const fs = (await importModule('node:fs')) as typeof import('node:fs');
    const { fileURLToPath } = (await importModule('node:url')) as typeof import('node:url');
    const local = (p: string): string | null => {
      if (p.startsWith('file:')) return fileURLToPath(p);
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p)) return null;
      return p;
    };
    let prefix: string | undefined;
    let fileMap: Partial<Record<WasmBinaryName, string>> | undefined;
    if (typeof given === 'string') prefix = given.endsWith('/') || given.endsWith('\\') ? given : `${given}/`;
    else if (given) fileMap = given;
    const installed = await installedWasmFolder();
    const pathOf = (name: WasmBinaryName): string => fileMap?.[name] ?? `${prefix ?? installed}${name}`;
    const target = pathOf(binary);
    tried = [target];
    const file = local(target);
    if (file === null) {
      throw new BackendError(
        `backend 'wasm': options.wasmPaths ${JSON.stringify(target)} is a URL; in Node give a folder or file path (default: the installed @tensorflow/tfjs-backend-wasm)`,
      );
    }
    if (!fs.existsSync(file)) {
      throw new BackendError(
        `backend 'wasm' cannot start: WASM binary not found; tried ${file}. ` +
          (given
            ? 'Point options.wasmPaths at the dist/ folder of @tensorflow/tfjs-backend-wasm'
            : 'Reinstall @tensorflow/tfjs-backend-wasm (pnpm install), or pass options.wasmPaths'),
      );
    }
    if (fileMap) {
      const full = Object.fromEntries(WASM_BINARY_NAMES.map((n) => [n, local(pathOf(n)) ?? pathOf(n)])) as Record<
        WasmBinaryName,
        string
      >;
      wasmModule.setWasmPaths(full);
    } else {
      wasmModule.setWasmPaths(prefix ?? installed);
    }
  } else if (typeof given === 'string') {
    const prefix = given.endsWith('/') ? given : `${given}/`;
    tried = [`${prefix}${binary}`];
    wasmModule.setWasmPaths(prefix);
  } else if (given) {
    const missing = WASM_BINARY_NAMES.filter((n) => given[n] === undefined);
    if (missing.length > 0) {
      throw new BackendError(
        `initBackend: options.wasmPaths lacks ${missing.join(', ')}; give a URL for each of the three binaries, or one folder prefix`,
      );
    }
    tried = [given[binary] as string];
    wasmModule.setWasmPaths(given as Record<WasmBinaryName, string>);
  } else {
    tried = [`${binary} next to the bundled script`];
  }
  wasmState = { simd, threads, paths: tried, notes };
}

async function register(name: BackendName, options: InitBackendOptions, warn: (m: string) => void): Promise<void> {
  if (name === 'tensorflow') {
    if (!isNode)
      throw new BackendError(
        "backend 'tensorflow' (tfjs-node) runs only in Node; in a browser choose 'webgl' or 'wasm'",
      );
    try {
      await importModule('@tensorflow/tfjs-node');
    } catch (e) {
      throw new BackendError(
        `backend 'tensorflow' needs @tensorflow/tfjs-node, which is not installed or failed to load (${firstLine(e)}). ` +
          "Install it with `pnpm add @tensorflow/tfjs-node`, or choose 'wasm'",
      );
    }
  } else if (name === 'wasm') {
    await configureWasm(options, warn);
  } else if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
  } else {
    if (isNode) throw new BackendError("backend 'webgl' runs only in a browser; in Node choose 'wasm' or 'cpu'");
    await import('@tensorflow/tfjs-backend-webgl');
    const version = tf.env().getNumber('WEBGL_VERSION');
    if (version === 0) {
      throw new BackendError(
        "backend 'webgl' cannot start: this browser gives no WebGL context (WebGL disabled, or no GPU and no software renderer); choose 'wasm'",
      );
    }
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
}

/**
 * Registers and selects the best backend this runtime offers (or the one asked for) and returns
 * what runs: name, SIMD, threads, float precision and notes on anything slower than it could be.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const o = checkOptions(options);
  const warn = o.onWarning ?? ((m: string) => console.warn(m));
  const prefer = o.prefer ?? (isNode ? ['tensorflow', 'wasm', 'cpu'] : ['webgl', 'wasm', 'cpu']);
  const list = Array.isArray(prefer) ? prefer : [prefer];
  if (list.length === 0) throw new BackendError('initBackend: options.prefer is empty; name at least one backend');
  for (const name of list) {
    if (!BACKEND_NAMES.includes(name)) {
      throw new BackendError(
        `initBackend: unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}`,
      );
    }
  }
  const explicit = o.prefer !== undefined && list.length === 1;
  const failures: string[] = [];
  for (const name of list) {
    try {
      await register(name, o, warn);
      const started = await quietly(() =>
        name === 'wasm' && nodeThreads ? startNodeThreads(nodeThreads) : tf.setBackend(name),
      );
      if (!started) {
        const tried = name === 'wasm' && wasmState ? `; WASM binary tried: ${wasmState.paths.join(', ')}` : '';
        if (name === 'wasm') {
          wasmState = null;
          nodeThreads = null;
        }
        throw new BackendError(
          `backend '${name}' failed to initialise${tried}${name === 'wasm' ? '. Check options.wasmPaths (the binary must be served next to the script or at that URL)' : ''}`,
        );
      }
      await tf.ready();
      if (name === 'wasm') {
        await registerFusedBatchNorm('wasm');
        await registerElementwiseKernels('wasm');
        await registerConvolutionKernels('wasm', wasmState?.threads ?? 1);
      }
      if (name === 'cpu') {
        // The CPU backend advises installing tfjs-node on first use; the caller chose CPU on purpose.
        (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      }
      const notes = name === 'wasm' && wasmState ? [...wasmState.notes] : [];
      if (name === 'wasm') nodeThreads = null;
      if (name === 'wasm' && o.threads !== undefined && wasmState && o.threads !== wasmState.threads) {
        notes.push(
          `the WASM backend was started with ${wasmState.threads} thread(s) before; options.threads ${o.threads} applies only to its first start in a process`,
        );
      }
      if (name === 'webgl' && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) {
        notes.push(
          'WebGL computes in float16 here (no float32 render targets): outputs differ from float32 by ~1e-3 relative',
        );
      }
      notesByBackend.set(name, notes);
      for (const n of notes) warn(`initBackend: ${n}`);
      return describeBackend();
    } catch (e) {
      if (explicit) throw e;
      failures.push(`${name}: ${firstLine(e)}`);
    }
  }
  throw new BackendError(`initBackend: no backend could start (${failures.join('; ')})`);
}

/**
 * Starts tfjs's threaded WASM module in Node. Two things stand in its way, both only during
 * start-up: Emscripten asks for its worker script with a Blob URL (Node loads workers from files),
 * and tfjs sizes its thread pool as half the logical cores (assuming hyper-threads), capped by
 * them. The worker script is served from a file, and the core count reported is twice the
 * threads asked for, so the pool gets exactly `threads`.
 */
async function startNodeThreads(setup: { threads: number; workerScript: string }): Promise<boolean> {
  const os = (await importModule('node:os')) as typeof import('node:os') & { default?: typeof import('node:os') };
  const osModule = (os.default ?? os) as { cpus: typeof import('node:os').cpus };
  const cpus = osModule.cpus;
  const createObjectURL = URL.createObjectURL;
  const fs = (await importModule('node:fs')) as typeof import('node:fs');
  if (!fs.existsSync(setup.workerScript)) {
    throw new BackendError(
      `backend 'wasm' with threads: worker script not found; tried ${setup.workerScript}. Reinstall @resnet/backends`,
    );
  }
  osModule.cpus = () => {
    const all = cpus();
    return Array.from(
      { length: 2 * setup.threads },
      (_, i) => all[i % Math.max(1, all.length)] as ReturnType<typeof cpus>[number],
    );
  };
  URL.createObjectURL = (blob: Blob) =>
    blob instanceof Blob && blob.type === 'application/javascript' ? setup.workerScript : createObjectURL(blob);
  try {
    const started = await tf.setBackend('wasm');
    if (started) {
      // XNNPACK's threads live as long as the process: let Node exit when the program is done.
      const module = (
        tf.backend() as unknown as {
          wasm?: { PThread?: { runningWorkers?: { unref(): void }[]; unusedWorkers?: { unref(): void }[] } };
        }
      ).wasm;
      for (const w of [...(module?.PThread?.runningWorkers ?? []), ...(module?.PThread?.unusedWorkers ?? [])])
        w.unref();
    }
    return started;
  } finally {
    osModule.cpus = cpus;
    URL.createObjectURL = createObjectURL;
  }
}

/** Runs `fn` with tfjs's console warnings about failed backends silenced (we report them). */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = original;
  }
}

/** The running backend: name, runtime, SIMD, threads, float precision, notes. */
export function describeBackend(): BackendInfo {
  const name = tf.getBackend() as BackendName;
  const runtime = isNode ? 'node' : 'browser';
  const notes = [...(notesByBackend.get(name) ?? [])];
  if (name === 'wasm') {
    const threads = wasmModule ? wasmModule.getThreadsCount() : (wasmState?.threads ?? 1);
    return { name, runtime, simd: wasmState?.simd ?? false, threads: Math.max(1, threads), floatPrecision: 32, notes };
  }
  if (name === 'webgl') {
    const f32 = tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED');
    return { name, runtime, simd: false, threads: 1, floatPrecision: f32 ? 32 : 16, notes };
  }
  return { name, runtime, simd: false, threads: name === 'tensorflow' ? 0 : 1, floatPrecision: 32, notes };
}
