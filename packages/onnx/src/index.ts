export { exportOnnx, ONNX_OPSET, ONNX_IR_VERSION, MAX_ONNX_BYTES, PRODUCER_VERSION } from './export.js';
export {
  onnxSignature,
  type OnnxExportOptions,
  type OnnxSignature,
  type OnnxTensorSpec,
} from './signature.js';
export { tritonConfig, type TritonConfigOptions } from './triton.js';
export { ONNX_SCHEMA_SOURCE } from './schema.js';
export type { Dim } from './graph.js';
