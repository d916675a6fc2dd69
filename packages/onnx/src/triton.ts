import { ArgumentError, knownKeysOf, optionsObject, positiveInt, type ResNet } from '@resnet/core';
import type { Dim } from './graph.js';
import { type OnnxExportOptions, type OnnxTensorSpec, resolveExport, signatureOf } from './signature.js';

/** The export options (the same as the model file's) plus Triton's own. */
export interface TritonConfigOptions extends OnnxExportOptions {
  /** The model's name in the repository, which must be its folder's name. Default: the preset's name. */
  name?: string;
  /** Largest batch Triton's dynamic batcher forms (dynamic-batch exports only). Default 8. */
  maxBatchSize?: number;
}

const TRITON_KEYS = ['layout', 'staticBatch', 'imageSize', 'optimize', 'weights', 'name', 'maxBatchSize'] as const;

/**
 * The `config.pbtxt` of a Triton Inference Server model repository entry serving the export of
 * `model` with the same options (`onnxruntime_onnx` platform): its input and output names, types
 * and dims are those `exportOnnx` writes. A dynamic-batch export gets `max_batch_size` and dims
 * without the batch, plus the dynamic batcher; a static batch gets `max_batch_size: 0` and full
 * dims. Dynamic height and width are -1. Layout:
 * `<repository>/<name>/config.pbtxt` and `<repository>/<name>/1/model.onnx`.
 */
export function tritonConfig(model: ResNet, options: TritonConfigOptions = {}): string {
  const o = optionsObject('options', options);
  knownKeysOf('options', o, TRITON_KEYS);
  const { name: rawName, maxBatchSize: rawMax, ...exportOptions } = o;
  const resolved = resolveExport(model, exportOptions);
  const name = rawName ?? resolved.model.name;
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name) || name === '.' || name === '..') {
    throw new ArgumentError(
      'options.name',
      'a model name of letters, digits, "_", "-" and "." (the model folder in the repository)',
      name,
    );
  }
  const dynamic = resolved.options.batch === 'batch';
  if (!dynamic && rawMax !== undefined) {
    throw new ArgumentError(
      'options.maxBatchSize',
      'no maxBatchSize with a static batch (Triton then passes whole batches, max_batch_size 0)',
      rawMax,
      'Drop staticBatch to let Triton batch requests',
    );
  }
  const maxBatch = dynamic ? positiveInt('options.maxBatchSize', rawMax ?? 8) : 0;
  const signature = signatureOf(resolved.model, resolved.options);
  const tensor = (spec: OnnxTensorSpec): string => {
    const dims = (dynamic ? spec.dims.slice(1) : spec.dims).map(tritonDim);
    return [
      '  {',
      `    name: "${spec.name}"`,
      '    data_type: TYPE_FP32',
      `    dims: [ ${dims.join(', ')} ]`,
      '  }',
    ].join('\n');
  };
  const lines = [
    `# ${resolved.model.name} exported by @resnet/onnx (${resolved.options.optimize ? 'BatchNorm folded' : 'one node per module'}, ${resolved.options.layout.toUpperCase()})`,
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatch}`,
    'input [',
    tensor(signature.input),
    ']',
    'output [',
    signature.outputs.map(tensor).join(',\n'),
    ']',
  ];
  if (dynamic) lines.push('dynamic_batching { }');
  return `${lines.join('\n')}\n`;
}

function tritonDim(d: Dim): number {
  return typeof d === 'number' ? d : -1;
}
