export { exportOnnx, ONNX_OPSET, ONNX_IR_VERSION, PRODUCER_VERSION } from './export.js';
export {
  MAX_ONNX_BYTES,
  onnxSignature,
  type OnnxExportOptions,
  type OnnxSignature,
  type OnnxTensorSpec,
} from './signature.js';
export { tritonConfig, type TritonConfigOptions } from './triton.js';
export { ONNX_SCHEMA_SOURCE } from './schema.js';
export type { Dim } from './graph.js';
