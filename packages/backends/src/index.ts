import './gradients.js';

export { registerMissingGradientKernels, registerMissingGradients } from './kernels/index.js';
export {
  BACKEND_NAMES,
  type BackendInfo,
  BackendError,
  type BackendName,
  describeBackend,
  initBackend,
  type InitBackendOptions,
  WASM_BINARY_NAMES,
  type WasmBinaryName,
} from './init-backend.js';
