export { Rng, type RngState } from './rng.js';
export { crossEntropy, checkLabels, type CrossEntropyOptions } from './loss.js';
export {
  Sgd,
  Adam,
  type SgdOptions,
  type AdamOptions,
  type Optimizer,
  type OptimizerState,
  type NamedParameters,
} from './optim.js';
export { type LrSchedule, constantLr, stepLr, cosineLr, withWarmup } from './schedule.js';
export { countCorrect, Metrics, type MetricsSummary } from './metrics.js';
export {
  type ImageDataset,
  type InMemoryDatasetInit,
  type Augmentation,
  type Batch,
  type BatchOptions,
  inMemoryDataset,
  sliceDataset,
  batches,
  batchCount,
} from './data.js';
export {
  NonFiniteLossError,
  computeGradients,
  trainStep,
  trainEpoch,
  epochBatches,
  evaluate,
  type StepOptions,
  type StepResult,
  type EpochOptions,
} from './trainer.js';
