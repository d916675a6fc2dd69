/**
 * Node-only: writing ONNX files. Import from `@resnet/onnx/node`; the main entry stays free of
 * `node:` modules so it bundles for browsers.
 */
import { ArgumentError, type ResNet } from '@resnet/core';
import { writeFileAtomic } from '@resnet/core/node';
import { exportOnnx } from './export.js';
import { type OnnxExportOptions, type OnnxSignature, onnxSignature } from './signature.js';

/**
 * Exports `model` (see `exportOnnx`) and writes the file atomically: a refused or failed export
 * leaves nothing at `path`, not even a partial file. Returns the file's size and its signature.
 */
export function writeOnnx(
  path: string,
  model: ResNet,
  options: OnnxExportOptions = {},
): { bytes: number; signature: OnnxSignature } {
  if (typeof path !== 'string' || path === '') {
    throw new ArgumentError('path', 'a file path such as "model.onnx"', path);
  }
  const bytes = exportOnnx(model, options);
  writeFileAtomic(path, bytes);
  return { bytes: bytes.length, signature: onnxSignature(model, options) };
}
