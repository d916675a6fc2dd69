import { ArgumentError, InferenceModel, type Module, ResNetError } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Augmentation, type Batch, batchCount, batches, type ImageDataset } from './data.js';
import { checkLabels, crossEntropy } from './loss.js';
import { countCorrect, Metrics, type MetricsSummary } from './metrics.js';
import { setTrainMode } from './freeze.js';
import type { Optimizer } from './optim.js';
import type { Rng } from './rng.js';
import type { LrSchedule } from './schedule.js';

/** The loss became NaN or infinite: training stopped before applying the update. */
export class NonFiniteLossError extends ResNetError {
  override readonly name = 'NonFiniteLossError';
  constructor(
    readonly loss: number,
    readonly step: number,
    readonly lr: number,
  ) {
    super(
      `the loss became ${loss} at step ${step} (learning rate ${lr}); training stopped and this step's update was not applied. ` +
        'Lower the learning rate (or add warm-up), and check the inputs for NaN or huge values',
    );
  }
}

export interface StepOptions {
  labelSmoothing?: number;
}

export interface StepResult {
  loss: number;
  top1: number;
  top5: number;
  size: number;
}

// #region notebook:train-step
const gradNames = new WeakMap<Module, Map<string, string>>();

/** The model's trainable variables and a map from variable name to parameter name. */
function trainables(model: Module): { vars: tf.Variable[]; names: Map<string, string> } {
  const params = model.namedParameters().filter(([, v]) => v.trainable);
  let names = gradNames.get(model);
  if (!names || names.size !== params.length) {
    names = new Map(params.map(([n, v]) => [v.name, n]));
    gradNames.set(model, names);
  }
  return { vars: params.map(([, v]) => v), names };
}

/**
 * The loss and the gradients of every trainable parameter for one batch, in train mode (BatchNorm
 * uses batch statistics and updates its running statistics, except the layers `freezeModel` keeps
 * in eval mode). Returns gradients keyed by parameter
 * name; the caller disposes them. Throws `NonFiniteLossError` (nothing kept) when the loss is not finite.
 */
export function computeGradients(
  model: Module,
  batch: Batch,
  options: StepOptions & { step?: number; lr?: number } = {},
): { loss: number; logits: tf.Tensor2D; grads: Record<string, tf.Tensor> } {
  checkBatch(batch);
  setTrainMode(model);
  const { vars, names } = trainables(model);
  const x = tf.tensor4d(batch.images, batch.shape);
  let logits: tf.Tensor2D | undefined;
  try {
    const { value, grads } = tf.variableGrads(() => {
      const out = model.call(x) as unknown as tf.Tensor2D;
      logits = tf.keep(out);
      return crossEntropy(out, batch.labels, { labelSmoothing: options.labelSmoothing ?? 0 });
    }, vars);
    const loss = (value.dataSync()[0] as number) ?? Number.NaN;
    value.dispose();
    if (!Number.isFinite(loss)) {
      tf.dispose(Object.values(grads));
      logits?.dispose();
      throw new NonFiniteLossError(loss, options.step ?? 0, options.lr ?? Number.NaN);
    }
    const named: Record<string, tf.Tensor> = {};
    for (const [varName, g] of Object.entries(grads)) named[names.get(varName) ?? varName] = g;
    return { loss, logits: logits as tf.Tensor2D, grads: named };
  } finally {
    x.dispose();
  }
}

/** One optimisation step on a batch: forward, backward, update. */
export function trainStep(model: Module, optimizer: Optimizer, batch: Batch, options: StepOptions = {}): StepResult {
  const { loss, logits, grads } = computeGradients(model, batch, {
    ...options,
    step: optimizer.stepCount,
    lr: optimizer.lr,
  });
  try {
    optimizer.step(grads);
    const [top1, top5] = countCorrect(logits, batch.labels, [1, 5]) as [number, number];
    return { loss, top1, top5, size: batch.shape[0] };
  } finally {
    logits.dispose();
    tf.dispose(Object.values(grads));
  }
}

export function checkBatch(batch: Batch): void {
  if (batch === null || typeof batch !== 'object')
    throw new ArgumentError('batch', 'a batch { images, labels, shape }', batch);
  const { images, labels, shape } = batch;
  if (!Array.isArray(shape) || shape.length !== 4)
    throw new ArgumentError('batch.shape', '[batch, height, width, channels]', shape);
  if (!(images instanceof Float32Array) || images.length !== shape[0] * shape[1] * shape[2] * shape[3]) {
    throw new ArgumentError('batch.images', `a Float32Array of ${shape.join('×')} values`, images);
  }
  if (!(labels instanceof Int32Array) || labels.length !== shape[0]) {
    throw new ArgumentError(
      'batch.labels',
      `an Int32Array of ${shape[0]} class indices (one per image)`,
      labels,
      'the batch sizes of images and labels must match',
    );
  }
}
// #endregion

export interface EpochOptions extends StepOptions {
  batchSize: number;
  /** Shuffling and augmentation generator. */
  rng: Rng;
  augment?: Augmentation;
  /** Learning rate by optimiser step (iteration), applied before each step. */
  schedule?: LrSchedule;
  /** Called after every batch with the running metrics. */
  onBatch?: (info: { batch: number; batches: number; metrics: MetricsSummary; lr: number }) => void;
}

// #region notebook:train-epoch
/** Trains one epoch over `dataset`; returns the epoch's running loss and accuracy. */
export function trainEpoch(
  model: Module,
  optimizer: Optimizer,
  dataset: ImageDataset,
  options: EpochOptions,
): MetricsSummary {
  const metrics = new Metrics();
  const { total, iterator } = epochBatches(dataset, options);
  let i = 0;
  for (const batch of iterator) {
    if (options.schedule) optimizer.lr = options.schedule(optimizer.stepCount);
    const r = trainStep(model, optimizer, batch, options);
    metrics.add(r.loss, r.size, r.top1, r.top5);
    i++;
    options.onBatch?.({ batch: i, batches: total, metrics: metrics.summary(), lr: optimizer.lr });
  }
  return metrics.summary();
}
// #endregion

/** Batches of one epoch from any source and how many there are (for progress). */
export interface EpochSource {
  total: number;
  iterator: Iterable<Batch> | AsyncIterable<Batch>;
}

/** A training step, synchronous (`trainStep`) or not (a data-parallel trainer's `step`). */
export type StepFunction = (
  model: Module,
  optimizer: Optimizer,
  batch: Batch,
  options: StepOptions,
) => StepResult | Promise<StepResult>;

/**
 * `trainEpoch` over batches from any source — an image folder's loader (`ImageLoader.epoch`) that
 * decodes on worker threads, or `epochBatches` — with any step function (default `trainStep`;
 * a data-parallel trainer's `step`). Sets the learning rate from the schedule before each step.
 */
export async function trainBatches(
  model: Module,
  optimizer: Optimizer,
  source: EpochSource,
  options: Omit<EpochOptions, 'batchSize' | 'rng' | 'augment'> & { step?: StepFunction },
): Promise<MetricsSummary> {
  if (source === null || typeof source !== 'object' || !source.iterator)
    throw new ArgumentError(
      'source',
      '{ total, iterator } of batches',
      source,
      'Use epochBatches or ImageLoader.epoch',
    );
  const step = options.step ?? trainStep;
  const metrics = new Metrics();
  let i = 0;
  for await (const batch of source.iterator) {
    if (options.schedule) optimizer.lr = options.schedule(optimizer.stepCount);
    const r = await step(model, optimizer, batch, options);
    metrics.add(r.loss, r.size, r.top1, r.top5);
    options.onBatch?.({ batch: ++i, batches: source.total, metrics: metrics.summary(), lr: optimizer.lr });
  }
  return metrics.summary();
}

/** One epoch's shuffled, augmented batches (a last partial batch dropped) and their count. */
export function epochBatches(
  dataset: ImageDataset,
  options: Pick<EpochOptions, 'batchSize' | 'rng' | 'augment'>,
): EpochSource & { iterator: Iterable<Batch> } {
  const dropLast = dataset.length >= options.batchSize;
  return {
    total: batchCount(dataset, options.batchSize, dropLast) || 1,
    iterator: batches(dataset, {
      batchSize: options.batchSize,
      rng: options.rng,
      augment: options.augment ?? {},
      dropLast,
    }),
  };
}

/**
 * Loss and accuracy of `model` on `dataset` in eval mode (running statistics), without
 * augmentation. `model` may be the inference form (`optimizeForInference(model)`), which computes
 * the same outputs faster (BatchNorm folded into the convolutions).
 */
export function evaluate(
  model: Module | InferenceModel,
  dataset: ImageDataset,
  options: { batchSize?: number; labelSmoothing?: number } = {},
): MetricsSummary {
  const batchSize = options.batchSize ?? 256;
  const metrics = new Metrics();
  const restore = enterEvalMode(model);
  try {
    for (const batch of batches(dataset, { batchSize }))
      evaluateBatch(model, batch, dataset.numClasses, options, metrics);
  } finally {
    restore();
  }
  return metrics.summary();
}

/**
 * `evaluate` over batches from any source, such as an image folder's loader (`ImageLoader.batches`):
 * loss and accuracy in eval mode.
 */
export async function evaluateBatches(
  model: Module | InferenceModel,
  source: Iterable<Batch> | AsyncIterable<Batch>,
  options: { numClasses: number; labelSmoothing?: number },
): Promise<MetricsSummary> {
  if (options === null || typeof options !== 'object') throw new ArgumentError('options', '{ numClasses }', options);
  const metrics = new Metrics();
  const restore = enterEvalMode(model);
  try {
    for await (const batch of source) evaluateBatch(model, batch, options.numClasses, options, metrics);
  } finally {
    restore();
  }
  return metrics.summary();
}

/** Puts the model in eval mode (the inference form has no other); returns the function that restores its mode. */
function enterEvalMode(model: Module | InferenceModel): () => void {
  if (model instanceof InferenceModel) return () => {};
  const wasTraining = model.training;
  model.eval();
  return () => model.train(wasTraining);
}

function evaluateBatch(
  model: Module | InferenceModel,
  batch: Batch,
  numClasses: number,
  options: { labelSmoothing?: number },
  metrics: Metrics,
): void {
  checkLabels(batch.labels, batch.shape[0], numClasses);
  const logits = tf.tidy(() => {
    const x = tf.tensor4d(batch.images, batch.shape);
    return (model instanceof InferenceModel ? model.predict(x) : model.call(x)) as unknown as tf.Tensor2D;
  });
  const loss = crossEntropy(logits, batch.labels, { labelSmoothing: options.labelSmoothing ?? 0 });
  const [top1, top5] = countCorrect(logits, batch.labels, [1, 5]) as [number, number];
  metrics.add(loss.dataSync()[0] as number, batch.shape[0], top1, top5);
  tf.dispose([logits, loss]);
}
