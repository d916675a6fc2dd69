/**
 * Batches of an image folder, decoded and transformed on worker threads ahead of the training
 * loop (torch's DataLoader with `num_workers` and `prefetch_factor`): only the batches in flight
 * are in memory, so folders larger than memory train.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ArgumentError, positiveInt, ResNetError } from '@resnet/core';
import {
  checkImageTransforms,
  checkTrainImageTransforms,
  type ImageTransforms,
  type TrainImageTransforms,
} from '@resnet/images';
import type { Batch } from './data.js';
import { type BatchTransforms, type ImageBatchJob, type ImageBatchResult, loadImageBatch } from './image-batch.js';
import type { ImageSample } from './image-folder.js';
import type { Rng } from './rng.js';
import { workerScript } from './worker-script.js';
import type { EpochSource } from './trainer.js';

export interface ImageLoaderOptions {
  /**
   * Threads that decode and transform images. 0 decodes on the calling thread (between steps).
   * Default: the cores beyond the first, at least 1 and at most 4.
   */
  workers?: number;
  /** Batches decoded ahead of the training loop. Default 2 per worker (at least 2). */
  prefetch?: number;
  /**
   * Leave out images that cannot be read or decoded (each is reported once through `onSkip` and
   * listed in `skipped`) instead of stopping with an error that names the file. Default false.
   */
  skipBadImages?: boolean;
  /** Called the first time an image is skipped. */
  onSkip?: (path: string, message: string) => void;
}

/** Batches of an image folder's samples: `epoch` for training, `batches` for evaluation. */
export interface ImageLoader {
  readonly workers: number;
  /**
   * One training epoch: the samples shuffled by `rng` and each image transformed by torchvision's
   * training transforms with its own seed drawn from `rng` — so the result does not depend on the
   * number of workers — and a last partial batch dropped (unless there is only one). Every number
   * is drawn from `rng` when this is called, so its state afterwards is that of the epoch's end
   * (checkpoints resume exactly).
   */
  epoch(
    samples: readonly ImageSample[],
    options: { batchSize: number; rng: Rng; transforms: TrainImageTransforms },
  ): EpochSource & { iterator: AsyncIterable<Batch> };
  /** The samples in order, with the eval transforms (resize, centre crop, normalise). */
  batches(
    samples: readonly ImageSample[],
    options: { batchSize: number; transforms: ImageTransforms },
  ): EpochSource & { iterator: AsyncIterable<Batch> };
  /** Images skipped so far (path → why), with `skipBadImages`. */
  readonly skipped: ReadonlyMap<string, string>;
  /** Stops the worker threads. */
  close(): Promise<void>;
}

type WorkerReply = { type: 'batch'; result: ImageBatchResult } | { type: 'error'; id: number; message: string };

/** The default number of decoding threads: the cores beyond the first, from 1 to 4. */
export function defaultLoaderWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

function checkSamples(samples: readonly ImageSample[]): void {
  if (!Array.isArray(samples) || samples.length === 0)
    throw new ArgumentError(
      'samples',
      'a non-empty array of { path, label }',
      samples,
      'Use scanImageFolder(dir).samples',
    );
}

/** Starts the loader's worker threads (none with `workers: 0`). */
export function createImageLoader(options: ImageLoaderOptions = {}): ImageLoader {
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', 'an options object', options);
  const count = options.workers ?? defaultLoaderWorkers();
  if (!Number.isInteger(count) || count < 0 || count > 64)
    throw new ArgumentError('options.workers', 'an integer from 0 (this thread) to 64', count);
  const prefetch = positiveInt('options.prefetch', options.prefetch ?? Math.max(2, 2 * count));
  const skipped = new Map<string, string>();
  const script = count > 0 ? workerScript('image-loader-worker', import.meta.url) : null;
  const workers = Array.from({ length: count }, () => new Worker(script as URL));
  const busy = workers.map(() => 0);
  const pending = new Map<number, { resolve: (r: ImageBatchResult) => void; reject: (e: Error) => void }>();
  let crashed: Error | null = null;
  let closed = false;
  let nextId = 0;
  for (const [i, worker] of workers.entries()) {
    worker.on('message', (m: WorkerReply) => {
      const id = m.type === 'batch' ? m.result.id : m.id;
      const p = pending.get(id);
      pending.delete(id);
      busy[i] = (busy[i] as number) - 1;
      if (!p) return;
      if (m.type === 'error') p.reject(new ResNetError(`image loader thread ${i + 1}: ${m.message}`));
      else p.resolve(m.result);
    });
    worker.on('error', (e: Error) => {
      crashed = new ResNetError(`image loader thread ${i + 1} crashed: ${e.message}`);
      for (const [, p] of pending) p.reject(crashed);
      pending.clear();
    });
  }

  function submit(job: ImageBatchJob): Promise<ImageBatchResult> {
    if (crashed) return Promise.reject(crashed);
    if (workers.length === 0) {
      // On this thread: defer to the consumer's pull, so a failure surfaces where it awaits.
      return Promise.resolve().then(() => loadImageBatch(job));
    }
    const i = busy.indexOf(Math.min(...busy));
    busy[i] = (busy[i] as number) + 1;
    const result = new Promise<ImageBatchResult>((resolve, reject) => pending.set(job.id, { resolve, reject }));
    (workers[i] as Worker).postMessage(job);
    return result;
  }

  function toBatch(result: ImageBatchResult, size: number): Batch | null {
    for (const f of result.failures) {
      if (!options.skipBadImages) {
        throw new ResNetError(
          `${f.message}. Remove or replace the file, or leave unreadable images out (resnet train --skip-bad-images; skipBadImages: true)`,
        );
      }
      if (!skipped.has(f.path)) {
        skipped.set(f.path, f.message);
        options.onSkip?.(f.path, f.message);
      }
    }
    const n = result.labels.length;
    if (n === 0) return null;
    return { images: result.images, labels: result.labels, shape: [n, size, size, 3] };
  }

  /** The jobs' batches in order, with up to `prefetch` jobs in flight. */
  async function* run(jobs: ImageBatchJob[], size: number): AsyncGenerator<Batch> {
    if (closed) throw new ResNetError('this image loader is closed');
    const inFlight: Promise<ImageBatchResult>[] = [];
    let next = 0;
    const fill = () => {
      while (next < jobs.length && inFlight.length < prefetch) {
        const p = submit(jobs[next++] as ImageBatchJob);
        p.catch(() => {}); // handled when awaited; avoids an unhandled rejection while it waits
        inFlight.push(p);
      }
    };
    try {
      fill();
      while (inFlight.length > 0) {
        const result = await (inFlight.shift() as Promise<ImageBatchResult>);
        fill();
        const batch = toBatch(result, size);
        if (batch) yield batch;
      }
    } finally {
      // Stopped early (an error, or the consumer broke off): let the jobs in flight finish.
      await Promise.allSettled(inFlight);
    }
  }

  function jobsOf(
    samples: readonly ImageSample[],
    order: Int32Array,
    seeds: Uint32Array | null,
    batchSize: number,
    count: number,
    transforms: BatchTransforms,
  ): ImageBatchJob[] {
    return Array.from({ length: count }, (_, b) => {
      const indices = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
      return {
        id: nextId++,
        paths: Array.from(indices, (k) => (samples[k] as ImageSample).path),
        labels: Int32Array.from(indices, (k) => (samples[k] as ImageSample).label),
        seeds: seeds ? seeds.slice(b * batchSize, b * batchSize + indices.length) : new Uint32Array(0),
        transforms,
      };
    });
  }

  return {
    workers: count,
    skipped,
    epoch(samples, epochOptions) {
      checkSamples(samples);
      const batchSize = positiveInt('options.batchSize', epochOptions?.batchSize);
      const rng = epochOptions.rng;
      if (!rng || typeof rng.shuffle !== 'function')
        throw new ArgumentError('options.rng', 'a seeded generator (new Rng(seed))', rng);
      const transforms = checkTrainImageTransforms('options.transforms', epochOptions.transforms);
      const order = rng.shuffle(Int32Array.from(samples, (_, i) => i));
      const seeds = Uint32Array.from(order, () => rng.nextUint32());
      const dropLast = samples.length >= batchSize;
      const total = dropLast ? Math.floor(samples.length / batchSize) : 1;
      const jobs = jobsOf(samples, order, seeds, batchSize, total, { kind: 'train', transforms });
      return { total, iterator: run(jobs, transforms.cropSize) };
    },
    batches(samples, evalOptions) {
      checkSamples(samples);
      const batchSize = positiveInt('options.batchSize', evalOptions?.batchSize);
      const transforms = checkImageTransforms('options.transforms', evalOptions.transforms);
      const order = Int32Array.from(samples, (_, i) => i);
      const total = Math.ceil(samples.length / batchSize);
      const jobs = jobsOf(samples, order, null, batchSize, total, { kind: 'eval', transforms });
      return { total, iterator: run(jobs, transforms.cropSize) };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const [, p] of pending) p.reject(new ResNetError('the image loader was closed'));
      pending.clear();
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
