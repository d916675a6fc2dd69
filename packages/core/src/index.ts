export * from './errors.js';
export { SymbolicTensor, type Flow, isSymbolic, addResidual, flattenTorchOrder } from './flow.js';
export {
  Module,
  type ModuleHooks,
  type TensorLayout,
  type TensorSlot,
  withModuleHooks,
  buildMeta,
  buildUninitialized,
  isBuildingMeta,
  torchShape,
  fromTorchLayout,
  toTorchLayout,
} from './module.js';
export { manualSeed } from './random.js';
export * from './layers/index.js';
export * from './blocks/index.js';
export { checkResidualOptions } from './blocks/residual-options.js';
export { ResNet, type BlockClass } from './builders/resnet.js';
export {
  type ResNetConfig,
  type ResolvedResNetConfig,
  type BlockKind,
  type StemKind,
  type ShortcutKind,
  resolveConfig,
} from './builders/config.js';
export { ResnetBase, ResNet50, ResNet101, ResNet152, KerasResNet50 } from './builders/seeds.js';
export { type HostTensor, hostToTensor, tensorToHost, MAX_TENSOR_ELEMENTS } from './weights/host-tensor.js';
export { type ByteSource, memorySource } from './weights/byte-source.js';
export type { FileDtype } from './weights/elements.js';
export { parseStateDict, readStateDict, type StateDictFile } from './weights/state-dict-file.js';
export {
  parseSafetensors,
  readSafetensors,
  parseSafetensorsHeader,
  decodeSafetensorsEntry,
  serializeSafetensors,
  type SafetensorsEntry,
  type SafetensorsHeader,
  MAX_SAFETENSORS_HEADER_BYTES,
  MAX_SAFETENSORS_TENSORS,
} from './weights/safetensors.js';
export {
  loadStateDict,
  exportStateDict,
  gradientsToTorch,
  type LoadStateDictOptions,
  type LoadReport,
} from './weights/state-dict.js';
export {
  saveWeights,
  loadWeights,
  applyArtifacts,
  weightsToArtifacts,
  manifestByteLength,
  WEIGHTS_FORMAT,
  MAX_MANIFEST_TENSORS,
} from './weights/tfjs-format.js';
export { parseNpy, parseNpyHeader, serializeNpy, type NpyHeader } from './io/npy.js';
export {
  positiveInt,
  nonNegativeInt,
  numberInRange,
  positiveIntList,
  oneOf,
  knownKeysOf,
  optionsObject,
} from './validate.js';
export {
  FUSED_CONV_RESIDUAL_KERNEL,
  optimizeForInference,
  InferenceModel,
  type InferenceStats,
  foldConvBatchNorm,
  batchNormAffine,
  evalMinInputSize,
} from './inference/optimize.js';
export { forwardSteps, fuseConvolutions, type ForwardStep, type PathLayer } from './inference/forward-steps.js';
export { checkFloatInput } from './input-tensor.js';
