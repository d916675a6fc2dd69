import { Worker } from 'node:worker_threads';
import { ArgumentError, type Module, ResNetError } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Batch, ImageDataset } from './data.js';
import { frozenNormPaths } from './freeze.js';
import { countCorrect, type MetricsSummary } from './metrics.js';
import type { Optimizer } from './optim.js';
import type { FromReplica, ReplicaSetup, ToReplica } from './parallel-protocol.js';
import {
  checkBatch,
  computeGradients,
  type EpochOptions,
  epochBatches,
  NonFiniteLossError,
  type StepOptions,
  type StepResult,
  trainBatches,
} from './trainer.js';
import { workerScript } from './worker-script.js';

export interface DataParallelOptions {
  /** Replicas in all, this thread included (2 uses this thread and one worker thread). At least 2. */
  replicas: number;
  /** The preset every replica builds (a name `@resnet/zoo`'s createModel knows). */
  preset: string;
  /** Options of that preset, as given to createModel (for example { numClasses: 10, inputChannels: 1 }). */
  presetOptions?: Record<string, unknown>;
  /** The workers' backend. Default 'wasm'. */
  backend?: 'wasm' | 'cpu';
}

/**
 * Data-parallel training on the cores of one machine: each step splits the batch into one share per
 * replica, this thread and the worker threads compute their shares' gradients at the same time
 * (each worker has its own tfjs backend and a copy of the model, given this thread's parameters
 * before every step), and the gradients are averaged, weighted by share size, into the gradient of
 * the whole batch's mean loss, which the optimiser applies here. As torch's DistributedDataParallel
 * without SyncBatchNorm: BatchNorm normalises each share with its own statistics, and the running
 * statistics are this thread's (the first share's).
 */
export interface DataParallelTrainer {
  readonly replicas: number;
  /** One step on `batch` (at least one image per replica). */
  step(model: Module, optimizer: Optimizer, batch: Batch, options?: StepOptions): Promise<StepResult>;
  /** `trainEpoch` with every step data-parallel. */
  trainEpoch(
    model: Module,
    optimizer: Optimizer,
    dataset: ImageDataset,
    options: EpochOptions,
  ): Promise<MetricsSummary>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

/** Split `n` rows into `parts` shares as equal as possible (the first ones one larger). */
function shares(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/**
 * Starts `options.replicas − 1` worker threads, each with its own backend and a replica of
 * `options.preset`. Needs `@resnet/backends` and `@resnet/zoo` installed (the workers import them).
 */
export async function createDataParallel(options: DataParallelOptions): Promise<DataParallelTrainer> {
  if (options === null || typeof options !== 'object')
    throw new ArgumentError('options', 'an object { replicas, preset, presetOptions?, backend? }', options);
  const { replicas, preset } = options;
  if (!Number.isInteger(replicas) || replicas < 2 || replicas > 64) {
    throw new ArgumentError(
      'options.replicas',
      'an integer from 2 to 64 (this thread plus the worker threads)',
      replicas,
      'use trainEpoch for one thread',
    );
  }
  if (typeof preset !== 'string' || preset === '')
    throw new ArgumentError('options.preset', "a preset name such as 'resnet20'", preset);
  const backend = options.backend ?? 'wasm';
  if (backend !== 'wasm' && backend !== 'cpu') throw new ArgumentError('options.backend', "'wasm' or 'cpu'", backend);
  const setup: ReplicaSetup = { backend, preset, presetOptions: { ...(options.presetOptions ?? {}) } };
  const script = workerScript('parallel-worker', import.meta.url);
  const workers = Array.from({ length: replicas - 1 }, () => new Worker(script, { workerData: setup }));
  const pending = new Map<number, { resolve: (m: FromReplica) => void; reject: (e: Error) => void }>();
  let closed = false;
  try {
    await Promise.all(
      workers.map(
        (worker, i) =>
          new Promise<void>((resolve, reject) => {
            const onMessage = (m: FromReplica): void => {
              if (m.type === 'ready') resolve();
              else if (m.type === 'failed')
                reject(new ResNetError(`data-parallel worker ${i + 1} could not start: ${m.message}`));
              else return;
              worker.off('message', onMessage);
              worker.off('error', onError);
            };
            const onError = (e: Error): void =>
              reject(new ResNetError(`data-parallel worker ${i + 1} crashed: ${e.message}`));
            worker.on('message', onMessage);
            worker.once('error', onError);
          }),
      ),
    );
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  for (const [i, worker] of workers.entries()) {
    worker.on('message', (m: FromReplica) => {
      if (m.type !== 'grads' && m.type !== 'error' && m.type !== 'synced') return;
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (!p) return;
      if (m.type === 'error') p.reject(new ResNetError(`data-parallel worker ${i + 1}: ${m.message}`));
      else p.resolve(m);
    });
    worker.on('error', (e: Error) => {
      for (const [, p] of pending) p.reject(new ResNetError(`data-parallel worker ${i + 1} crashed: ${e.message}`));
      pending.clear();
    });
  }
  let nextId = 0;
  /** The frozen parts the workers hold ('' = nothing frozen), and for which model. */
  let workersFrozen = '';
  let workersModel: Module | null = null;

  /**
   * Before a step: when the model's frozen parameters or eval-mode BatchNorm layers differ from
   * what the workers hold, sends every tensor's value (the frozen ones are not sent with each
   * step) and the freeze, once.
   */
  async function syncFrozen(model: Module): Promise<void> {
    const frozen = model
      .namedParameterSlots()
      .filter(([, s]) => !s.trainable)
      .map(([n]) => n);
    const evalModules = frozenNormPaths(model);
    const signature = frozen.length + evalModules.length === 0 ? '' : JSON.stringify([frozen, evalModules]);
    if (signature === workersFrozen && (signature === '' || workersModel === model)) return;
    const tensors = model
      .namedSlots()
      .map(([n, s]) => [n, s.variable.dataSync() as Float32Array | Int32Array] as [string, Float32Array | Int32Array]);
    await Promise.all(
      workers.map((worker) => {
        const message: ToReplica = {
          type: 'sync',
          id: nextId++,
          tensors: tensors.map(([n, d]) => [n, d.slice()]),
          frozen,
          evalModules,
        };
        const reply = new Promise<FromReplica>((resolve, reject) => pending.set(message.id, { resolve, reject }));
        worker.postMessage(message);
        return reply;
      }),
    );
    workersFrozen = signature;
    workersModel = model;
  }

  async function step(model: Module, optimizer: Optimizer, batch: Batch, opts: StepOptions = {}): Promise<StepResult> {
    if (closed) throw new ResNetError('this data-parallel trainer is closed');
    if (
      model === null ||
      typeof model !== 'object' ||
      typeof (model as Partial<Module>).namedParameters !== 'function'
    ) {
      throw new ArgumentError('model', `a model built from the preset '${preset}'`, model);
    }
    if (
      optimizer === null ||
      typeof optimizer !== 'object' ||
      typeof (optimizer as Partial<Optimizer>).step !== 'function'
    ) {
      throw new ArgumentError('optimizer', 'an optimiser of @resnet/train (new Sgd(...) or new Adam(...))', optimizer);
    }
    checkBatch(batch);
    await syncFrozen(model);
    const [n, h, w, c] = batch.shape;
    if (n < replicas) {
      throw new ArgumentError(
        'batch',
        `at least ${replicas} images (one per replica)`,
        `${n} images`,
        'use a larger batch or fewer replicas',
      );
    }
    const sizes = shares(n, replicas);
    const per = h * w * c;
    const params = model
      .namedParameters()
      .filter(([, v]) => v.trainable)
      .map(([name, v]) => [name, v.dataSync() as Float32Array] as [string, Float32Array]);
    // Shares 1… go to the workers first, so that they run while this thread computes share 0.
    let start = sizes[0] as number;
    const replies = workers.map((worker, i) => {
      const size = sizes[i + 1] as number;
      const message: ToReplica = {
        type: 'step',
        id: nextId++,
        images: batch.images.slice(start * per, (start + size) * per),
        labels: batch.labels.slice(start, start + size),
        shape: [size, h, w, c],
        labelSmoothing: opts.labelSmoothing ?? 0,
        params: params.map(([name, d]) => [name, d.slice()]),
      };
      start += size;
      const reply = new Promise<FromReplica>((resolve, reject) => pending.set(message.id, { resolve, reject }));
      worker.postMessage(message);
      return reply;
    });
    const first = sizes[0] as number;
    let own: ReturnType<typeof computeGradients> | undefined;
    let ownError: unknown;
    try {
      own = computeGradients(
        model,
        {
          images: batch.images.subarray(0, first * per),
          labels: batch.labels.subarray(0, first),
          shape: [first, h, w, c],
        },
        { labelSmoothing: opts.labelSmoothing ?? 0, step: optimizer.stepCount, lr: optimizer.lr },
      );
    } catch (e) {
      ownError = e;
    }
    const settled = await Promise.allSettled(replies);
    try {
      if (ownError) throw ownError;
      const failed = settled.find((s) => s.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      const others = settled.map((s) => (s as PromiseFulfilledResult<FromReplica>).value) as Extract<
        FromReplica,
        { type: 'grads' }
      >[];
      const mine = own as ReturnType<typeof computeGradients>;
      let loss = (mine.loss * first) / n;
      others.forEach((o, i) => {
        loss += (o.loss * (sizes[i + 1] as number)) / n;
      });
      if (!Number.isFinite(loss)) throw new NonFiniteLossError(loss, optimizer.stepCount, optimizer.lr);
      const [ownTop1, ownTop5] = countCorrect(mine.logits, batch.labels.subarray(0, first), [1, 5]) as [number, number];
      const averaged = tf.tidy(() => {
        const out: Record<string, tf.Tensor> = {};
        for (const [name, g] of Object.entries(mine.grads)) {
          let sum = tf.mul(g, first / n);
          others.forEach((o, i) => {
            const data = o.grads.find(([k]) => k === name)?.[1];
            if (!data) throw new ResNetError(`data-parallel worker ${i + 1} sent no gradient for ${name}`);
            sum = tf.add(sum, tf.mul(tf.tensor(data, g.shape, 'float32'), (sizes[i + 1] as number) / n));
          });
          out[name] = sum;
        }
        return out;
      });
      try {
        optimizer.step(averaged);
      } finally {
        tf.dispose(Object.values(averaged));
      }
      return {
        loss,
        top1: ownTop1 + others.reduce((s, o) => s + o.top1, 0),
        top5: ownTop5 + others.reduce((s, o) => s + o.top5, 0),
        size: n,
      };
    } finally {
      if (own) {
        own.logits.dispose();
        tf.dispose(Object.values(own.grads));
      }
    }
  }

  return {
    replicas,
    step,
    async trainEpoch(model, optimizer, dataset, epochOptions) {
      return trainBatches(model, optimizer, epochBatches(dataset, epochOptions), { ...epochOptions, step });
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const [, p] of pending) p.reject(new ResNetError('the data-parallel trainer was closed'));
      pending.clear();
      for (const worker of workers) worker.postMessage({ type: 'close' } satisfies ToReplica);
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
