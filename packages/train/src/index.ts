export {
  type Augmentation,
  type Batch,
  type BatchOptions,
  batchCount,
  batches,
  type ImageDataset,
  type InMemoryDatasetInit,
  inMemoryDataset,
  sliceDataset,
} from './data.js';
export { type CrossEntropyOptions, checkLabels, crossEntropy } from './loss.js';
export { countCorrect, Metrics, type MetricsSummary } from './metrics.js';
export {
  Adam,
  type AdamOptions,
  type NamedParameters,
  type Optimizer,
  type OptimizerState,
  Sgd,
  type SgdOptions,
} from './optim.js';
export { Rng, type RngState } from './rng.js';
export { constantLr, cosineLr, type LrSchedule, stepLr, withWarmup } from './schedule.js';
export {
  computeGradients,
  type EpochOptions,
  epochBatches,
  evaluate,
  NonFiniteLossError,
  type StepOptions,
  type StepResult,
  trainEpoch,
  trainStep,
} from './trainer.js';
