import './gradients.js';

export {
  BACKEND_NAMES,
  BackendError,
  type BackendInfo,
  type BackendName,
  describeBackend,
  type InitBackendOptions,
  initBackend,
  WASM_BINARY_NAMES,
  type WasmBinaryName,
} from './init-backend.js';
export { CONV_RULES, type ConvPath, type ConvRule, type ConvShape, chooseConvPath } from './kernels/conv-paths.js';
export {
  CONV2D_RESIDUAL,
  filterCacheStats,
  registerConvolutionKernels,
  setConvolutionPath,
} from './kernels/convolution.js';
export { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, registerFusedBatchNorm } from './kernels/fused-batch-norm.js';
export { registerMissingGradientKernels, registerMissingGradients } from './kernels/index.js';
export { relaxedSimdSupported, wasmKernelInfo } from './kernels/wasm-kernels.js';
