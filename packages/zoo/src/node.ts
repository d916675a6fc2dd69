import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ArgumentError, type HostTensor, knownKeysOf, ResNetError } from '@resnet/core';
import { getPreset } from './index.js';
import type { FromWorker, ToWorker, WorkerSetup } from './pool-protocol.js';

export {
  type NodePretrainedOptions,
  pretrained,
  pretrainedFromStateDict,
} from './classify/pretrained-node.js';
export {
  type ResolveWeightsOptions,
  resnetHome,
  resolveWeightsFile,
  sha256File,
  torchCheckpointsDir,
  type WeightsFile,
  type WeightsFileSource,
  weightsCacheDir,
} from './weights/node-files.js';

export interface InferencePoolOptions {
  /** A preset name of the zoo (`resnet50`). */
  arch: string;
  /**
   * Weights: a torchvision state_dict saved as .safetensors (each worker reads the file), or a
   * state dict (copied to each worker). Default: the preset's initialisation with `seed`.
   */
  weights?: string | Map<string, HostTensor>;
  /** Seed of the initialisation when there are no weights. Default 0. */
  seed?: number;
  /** Worker threads, each with its own WASM backend and copy of the weights. Default: every core. */
  workers?: number;
  /** Run the inference form (BatchNorm folded, fused conv + bias + ReLU). Default true. */
  optimize?: boolean;
  /** Classes of the head when the weights are not the preset's default. */
  numClasses?: number;
  /** Backend of the workers: 'wasm' (default) or 'cpu'. */
  backend?: 'wasm' | 'cpu';
}

export interface InferencePool {
  /** Number of workers. */
  readonly size: number;
  /** The backend the workers run, and whether WASM runs its SIMD binary. */
  readonly backend: { name: string; simd: boolean };
  /**
   * Runs an NHWC float32 batch: the batch is split into one slice per worker, the slices run in
   * parallel and the outputs come back in input order. Calls may overlap; slices queue.
   */
  run(input: HostTensor): Promise<HostTensor>;
  /** Stops the workers; pending runs are rejected. */
  close(): Promise<void>;
}

const POOL_OPTIONS = ['arch', 'weights', 'seed', 'workers', 'optimize', 'numClasses', 'backend'] as const;

function workerScript(): URL {
  // Built: dist/pool-worker.js next to this file. From source (tests): the package's dist.
  const here = new URL('./pool-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  const built = new URL('../dist/pool-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new ResNetError(`the pool worker script is missing (${fileURLToPath(here)}); build @resnet/zoo (pnpm build)`);
}

interface Job {
  id: number;
  shape: number[];
  data: Float32Array;
  resolve: (out: { shape: number[]; data: Float32Array }) => void;
  reject: (e: Error) => void;
}

/**
 * A pool of worker threads for batch inference in Node, where tfjs's WASM backend computes on
 * one thread (tfjs issue 3830): each worker has its own WASM backend and its own copy of the
 * weights, so a batch runs on every core. Resolves once every worker has loaded its model;
 * if one fails, every worker is stopped and the error says why.
 */
export async function createInferencePool(options: InferencePoolOptions): Promise<InferencePool> {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentError(
      'options',
      "an options object such as { arch: 'resnet50', weights: 'r50.safetensors' }",
      options,
    );
  }
  knownKeysOf('options', options as unknown as Record<string, unknown>, POOL_OPTIONS);
  getPreset(options.arch);
  const count = options.workers ?? availableParallelism();
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new ArgumentError('options.workers', 'an integer from 1 to 256', options.workers);
  }
  const backend = options.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new ArgumentError('options.backend', "'wasm' or 'cpu'", backend);
  const optimize = options.optimize ?? true;
  if (typeof optimize !== 'boolean') throw new ArgumentError('options.optimize', 'true or false', optimize);
  if (options.numClasses !== undefined && (!Number.isInteger(options.numClasses) || options.numClasses < 1)) {
    throw new ArgumentError('options.numClasses', 'a positive integer', options.numClasses);
  }
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new ArgumentError('options.seed', 'an integer', options.seed);
  let weights: WorkerSetup['weights'];
  if (options.weights === undefined) weights = { kind: 'seed', seed };
  else if (typeof options.weights === 'string') {
    if (!existsSync(options.weights)) {
      throw new ArgumentError('options.weights', 'an existing .safetensors file', options.weights, 'Check the path');
    }
    weights = { kind: 'file', path: options.weights };
  } else if (options.weights instanceof Map) weights = { kind: 'state', tensors: [...options.weights.entries()] };
  else {
    throw new ArgumentError(
      'options.weights',
      'a .safetensors path or a Map of tensors (a state dict)',
      options.weights,
    );
  }
  const setup: WorkerSetup = { arch: options.arch, numClasses: options.numClasses, weights, optimize, backend };
  const script = workerScript();

  const workers: Worker[] = [];
  const ready: Promise<{ backend: string; simd: boolean }>[] = [];
  for (let i = 0; i < count; i++) {
    const worker = new Worker(script, { workerData: setup });
    workers.push(worker);
    ready.push(
      new Promise((resolve, reject) => {
        const onMessage = (m: FromWorker): void => {
          if (m.type === 'ready') resolve({ backend: m.backend, simd: m.simd });
          else if (m.type === 'failed')
            reject(new ResNetError(`inference pool worker ${i} could not start: ${m.message}`));
          else return;
          worker.off('message', onMessage);
          worker.off('error', onError);
        };
        const onError = (e: Error): void => reject(new ResNetError(`inference pool worker ${i} crashed: ${e.message}`));
        worker.on('message', onMessage);
        worker.once('error', onError);
      }),
    );
  }
  let info: { backend: string; simd: boolean };
  try {
    [info] = (await Promise.all(ready)) as [{ backend: string; simd: boolean }];
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }

  // Scheduling: one slice per idle worker, the rest queued in order.
  const queue: Job[] = [];
  const busy = new Map<Worker, Job>();
  let nextId = 0;
  let closed = false;
  const dispatch = (): void => {
    for (const w of workers) {
      if (queue.length === 0) return;
      if (busy.has(w)) continue;
      const job = queue.shift() as Job;
      busy.set(w, job);
      w.postMessage({ type: 'run', id: job.id, shape: job.shape, data: job.data } satisfies ToWorker, [
        job.data.buffer as ArrayBuffer,
      ]);
    }
  };
  const failAll = (error: Error): void => {
    closed = true;
    for (const job of [...busy.values(), ...queue]) job.reject(error);
    busy.clear();
    queue.length = 0;
  };
  workers.forEach((w, i) => {
    w.on('message', (m: FromWorker) => {
      const job = busy.get(w);
      if (!job || (m.type !== 'result' && m.type !== 'error') || m.id !== job.id) return;
      busy.delete(w);
      if (m.type === 'result') job.resolve({ shape: m.shape, data: m.data });
      else job.reject(new ResNetError(m.message));
      dispatch();
    });
    w.on('error', (e) => {
      failAll(new ResNetError(`inference pool worker ${i} crashed: ${e.message}; create a new pool`));
      for (const other of workers) void other.terminate();
    });
  });

  const runSlice = (shape: number[], data: Float32Array): Promise<{ shape: number[]; data: Float32Array }> =>
    new Promise((resolve, reject) => {
      queue.push({ id: nextId++, shape, data, resolve, reject });
      dispatch();
    });

  return {
    size: count,
    backend: { name: info.backend, simd: info.simd },
    async run(input: HostTensor): Promise<HostTensor> {
      if (closed) throw new ResNetError('this inference pool was closed; create a new one with createInferencePool');
      checkBatch(input);
      const [n, h, w, c] = input.shape as [number, number, number, number];
      const per = h * w * c;
      const slices = Math.min(count, n);
      const base = Math.floor(n / slices);
      const extra = n % slices;
      const parts: Promise<{ shape: number[]; data: Float32Array }>[] = [];
      let start = 0;
      for (let s = 0; s < slices; s++) {
        const size = base + (s < extra ? 1 : 0);
        const data = (input.data as Float32Array).slice(start * per, (start + size) * per);
        parts.push(runSlice([size, h, w, c], data));
        start += size;
      }
      const outs = await Promise.all(parts);
      const first = outs[0] as { shape: number[]; data: Float32Array };
      const total = outs.reduce((t, o) => t + o.data.length, 0);
      const data = new Float32Array(total);
      let offset = 0;
      for (const o of outs) {
        data.set(o.data, offset);
        offset += o.data.length;
      }
      return { dtype: 'float32', shape: [n, ...first.shape.slice(1)], data };
    },
    async close(): Promise<void> {
      if (!closed) failAll(new ResNetError('the inference pool was closed before this run finished'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

function checkBatch(input: HostTensor): void {
  if (input === null || typeof input !== 'object' || !(input.data instanceof Float32Array)) {
    throw new ArgumentError(
      'input',
      "a float32 host tensor { dtype: 'float32', shape: [n, h, w, c], data: Float32Array }",
      input,
    );
  }
  const shape = input.shape;
  if (!Array.isArray(shape) || shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new ArgumentError(
      'input.shape',
      'an NHWC shape [batch, height, width, channels] of positive integers',
      shape,
    );
  }
  const size = shape.reduce((p, d) => p * d, 1);
  if (input.data.length !== size) {
    throw new ArgumentError(
      'input.data',
      `${size} values for shape [${shape.join(', ')}]`,
      `${input.data.length} values`,
    );
  }
}
