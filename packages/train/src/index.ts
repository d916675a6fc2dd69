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
export {
  CHECKPOINT_FORMAT,
  CLASSIFIER_METADATA_KEY,
  type ClassifierInfo,
  checkClassifierInfo,
  checkpointStateDict,
  classifierInfoFromMetadata,
} from './classifier-info.js';
export {
  applyFreezeReport,
  type FreezeReport,
  type FreezeSpec,
  freezeModel,
  frozenNormPaths,
  headOf,
  type LoadPretrainedOptions,
  loadPretrained,
  type PretrainedReport,
  parseFreezeSpec,
  setTrainMode,
} from './freeze.js';
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
  type EpochSource,
  epochBatches,
  evaluate,
  evaluateBatches,
  NonFiniteLossError,
  type StepOptions,
  type StepFunction,
  type StepResult,
  trainBatches,
  trainEpoch,
  trainStep,
} from './trainer.js';
