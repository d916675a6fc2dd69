import * as tf from '@tensorflow/tfjs-core';
import './gradients.js';
import { registerMissingGradientKernels } from './kernels/index.js';

export { registerMissingGradientKernels, registerMissingGradients } from './kernels/index.js';

/** Backends this package can register. `tensorflow` is tfjs-node's native backend. */
export type BackendName = 'tensorflow' | 'wasm' | 'webgl' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['tensorflow', 'wasm', 'webgl', 'cpu'];

export interface InitBackendOptions {
  /** A backend, or backends in order of preference. Default: the best for this runtime. */
  prefer?: BackendName | BackendName[];
}

export interface BackendInfo {
  name: BackendName;
  runtime: 'node' | 'browser';
}

let quietCpuBanner = false;

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

async function importModule(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

async function register(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    try {
      await importModule('@tensorflow/tfjs-node');
    } catch (e) {
      throw new Error(
        `backend 'tensorflow' needs @tensorflow/tfjs-node, which is not installed or failed to load (${(e as Error).message.split('\n')[0]}). ` +
          "Install it with `pnpm add @tensorflow/tfjs-node`, or choose 'wasm'",
      );
    }
  } else if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    registerMissingGradientKernels('wasm');
  } else if (name === 'cpu') {
    await import('@tensorflow/tfjs-backend-cpu');
    quietCpuBanner = true;
  } else {
    if (isNode) throw new Error("backend 'webgl' runs only in a browser; in Node choose 'wasm' or 'cpu'");
    await importModule('@tensorflow/tfjs-backend-webgl');
  }
}

/** Registers and selects a backend; returns which one runs. */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const prefer = options.prefer ?? (isNode ? ['tensorflow', 'wasm', 'cpu'] : ['webgl', 'wasm', 'cpu']);
  const list = Array.isArray(prefer) ? prefer : [prefer];
  if (list.length === 0) throw new Error('initBackend: options.prefer is empty; name at least one backend');
  for (const name of list) {
    if (!BACKEND_NAMES.includes(name)) {
      throw new Error(
        `initBackend: unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}`,
      );
    }
  }
  const explicit = options.prefer !== undefined && list.length === 1;
  const failures: string[] = [];
  for (const name of list) {
    try {
      await register(name);
      if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed to initialise`);
      await tf.ready();
      if (name === 'cpu' && quietCpuBanner) {
        // The CPU backend advises installing tfjs-node on first use; the caller chose CPU on purpose.
        (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
      }
      return describeBackend();
    } catch (e) {
      if (explicit) throw e;
      failures.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`initBackend: no backend could start (${failures.join('; ')})`);
}

/** The running backend. */
export function describeBackend(): BackendInfo {
  return { name: tf.getBackend() as BackendName, runtime: isNode ? 'node' : 'browser' };
}
