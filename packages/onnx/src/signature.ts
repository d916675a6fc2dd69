import {
  ArgumentError,
  evalMinInputSize,
  knownKeysOf,
  oneOf,
  optionsObject,
  positiveInt,
  ResNet,
  ResNetError,
  SymbolicTensor,
} from '@resnet/core';
import type { Dim } from './graph.js';

/** How to export a model (every field optional). */
export interface OnnxExportOptions {
  /**
   * Layout of the input and of feature-map outputs: 'nchw' (default, as `torch.onnx.export`) or
   * 'nhwc' (ours and TensorFlow's; the graph starts with a Transpose). Logits are `[batch, classes]`
   * either way.
   */
  layout?: 'nchw' | 'nhwc';
  /** A fixed batch size. Default: a dynamic batch (the symbolic dimension `batch`). */
  staticBatch?: number;
  /**
   * A fixed input size, `224` or `[height, width]`. Default: dynamic height and width (any size from
   * the model's minimum up), since a ResNet is fully convolutional up to its global pooling.
   */
  imageSize?: number | [number, number];
  /**
   * Export the inference form `optimizeForInference` runs: every BatchNorm folded into the
   * convolution before it (Conv with a bias, then Relu), zero padding merged into the convolution.
   * Default false: one ONNX node per module (Conv, BatchNormalization, Relu...).
   */
  optimize?: boolean;
  /** Where the weights come from, recorded in the model's metadata (a file name, a weights name). */
  weights?: string;
}

/** A graph input or output: its name, ONNX dims (numbers, symbolic names, or null for unknown) and meaning. */
export interface OnnxTensorSpec {
  readonly name: string;
  readonly dims: readonly Dim[];
  /** 'NCHW', 'NHWC' (images and feature maps) or 'NC' (logits, probabilities, pooled features). */
  readonly layout: 'NCHW' | 'NHWC' | 'NC';
  readonly description: string;
}

/** The names and shapes of an export's input and outputs, known before anything is written. */
export interface OnnxSignature {
  readonly input: OnnxTensorSpec;
  readonly outputs: readonly OnnxTensorSpec[];
  /** The smallest height and width the model takes (pixels). */
  readonly minInputSize: number;
}

/** Options with every default filled in (internal). */
export interface ResolvedOnnxOptions {
  readonly layout: 'nchw' | 'nhwc';
  readonly batch: number | 'batch';
  readonly size: readonly [number, number] | null;
  readonly optimize: boolean;
  readonly weights: string;
}

const OPTION_KEYS = ['layout', 'staticBatch', 'imageSize', 'optimize', 'weights'] as const;

/** Checks the model (a live ResNet) and the options; names the first bad one. */
export function resolveExport(model: unknown, options: unknown): { model: ResNet; options: ResolvedOnnxOptions } {
  if (!(model instanceof ResNet)) {
    throw new ArgumentError(
      'model',
      "a ResNet of @resnet/core (createModel('resnet50') from @resnet/zoo, or new ResNet(config))",
      model,
    );
  }
  if (model.disposed) throw new ArgumentError('model', 'a live model', 'a disposed model', 'Build or load it again');
  refuseOversized(model);
  const o = optionsObject('options', options);
  knownKeysOf('options', o, OPTION_KEYS);
  const layout = oneOf('options.layout', o.layout ?? 'nchw', ['nchw', 'nhwc'] as const);
  const batch = o.staticBatch === undefined ? 'batch' : positiveInt('options.staticBatch', o.staticBatch);
  const optimize = o.optimize ?? false;
  if (typeof optimize !== 'boolean') throw new ArgumentError('options.optimize', 'true or false', optimize);
  const weights = o.weights ?? 'not recorded';
  if (typeof weights !== 'string' || weights.length > 1000) {
    throw new ArgumentError('options.weights', 'a short description of the weights (a file or weights name)', weights);
  }
  let size: [number, number] | null = null;
  if (o.imageSize !== undefined) {
    const v = o.imageSize;
    if (typeof v === 'number') size = [positiveInt('options.imageSize', v), v];
    else if (Array.isArray(v) && v.length === 2) {
      size = [positiveInt('options.imageSize[0]', v[0]), positiveInt('options.imageSize[1]', v[1])];
    } else throw new ArgumentError('options.imageSize', 'a size in pixels or [height, width]', v);
    const min = evalMinInputSize(model);
    if (size[0] < min || size[1] < min) {
      throw new ArgumentError(
        'options.imageSize',
        `at least ${min}×${min} pixels for ${model.name}`,
        v,
        'Export a larger size, or leave imageSize out for dynamic sizes',
      );
    }
  }
  return { model, options: { layout, batch, size, optimize, weights } };
}

function formatBytes(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

/** Largest file: one protobuf message, whose size protobuf limits to 2 GiB − 1 byte. */
export const MAX_ONNX_BYTES = 2 ** 31 - 1;

/** The refusal of a model whose ONNX file would be `bytes` long. */
export function oversized(model: ResNet, bytes: number): ResNetError {
  return new ResNetError(
    `${model.name} would be a ${formatBytes(bytes)} ONNX file (${model.countParameters().toLocaleString('en-US')} parameters); ` +
      'an ONNX file is one protobuf message, which cannot exceed 2 GiB (2,147,483,647 bytes), and @resnet/onnx does not ' +
      "write ONNX's external-data files. Nothing was written: export a smaller model or fewer classes",
  );
}

/** Refuses a model whose weights alone exceed 2 GiB, from its slot shapes (works on meta models). */
function refuseOversized(model: ResNet): void {
  let bytes = 0;
  for (const [, slot] of model.namedSlots()) bytes += 4 * slot.shape.reduce((p, d) => p * d, 1);
  if (bytes > MAX_ONNX_BYTES) throw oversized(model, bytes);
}

/** The stages (1-based) whose feature maps a `featuresOnly` model exports, in stage order; null for other models. */
export function outputStages(model: ResNet): number[] | null {
  if (!model.config.featuresOnly) return null;
  const stages = model.config.depths.map((_, i) => i + 1);
  return stages.filter((s) => model.config.outIndices.includes(s));
}

/**
 * The input and outputs of the export of `model` with `options`: what `exportOnnx` writes and
 * `tritonConfig` declares. The input is `input`; the output is `logits` (`[batch, classes]`, after
 * softmax when the model has one), or `features` for a model without a head (`numClasses: 0`:
 * pooled `[batch, channels]`), or for a `featuresOnly` model the feature maps of
 * `config.outIndices` (what `extractFeatures` returns): `features` for one stage,
 * `features_layer1`… for several, in stage order.
 */
export function onnxSignature(model: ResNet, options: OnnxExportOptions = {}): OnnxSignature {
  const { model: m, options: o } = resolveExport(model, options);
  return signatureOf(m, o);
}

/** The signature of a checked model and options (internal). */
export function signatureOf(model: ResNet, o: ResolvedOnnxOptions): OnnxSignature {
  const c = model.config;
  const minInputSize = evalMinInputSize(model);
  const [h, w] = o.size ?? [null, null];
  const input: OnnxTensorSpec = {
    name: 'input',
    dims:
      o.layout === 'nchw'
        ? [o.batch, c.inputChannels, h ?? 'height', w ?? 'width']
        : [o.batch, h ?? 'height', w ?? 'width', c.inputChannels],
    layout: o.layout === 'nchw' ? 'NCHW' : 'NHWC',
    description: `images, float32, ${o.layout.toUpperCase()}, ${c.inputChannels} channels, at least ${minInputSize}×${minInputSize} pixels`,
  };
  // Shapes come from the model itself: a symbolic forward pass at the fixed size (or the minimum;
  // batch 2, which train-mode BatchNorm accepts at any size).
  const probe = new SymbolicTensor([2, h ?? minInputSize, w ?? minInputSize, c.inputChannels]);
  const stages = outputStages(model);
  if (stages) {
    const maps = model.forwardFeatures(probe);
    const outputs = stages.map((stage, i) => {
      const [, fh, fw, fc] = (maps[i] as SymbolicTensor).shape as [number, number, number, number];
      const [oh, ow] = o.size ? [fh, fw] : [null, null];
      return {
        name: stages.length === 1 ? 'features' : `features_layer${stage}`,
        dims: o.layout === 'nchw' ? [o.batch, fc, oh, ow] : [o.batch, oh, ow, fc],
        layout: o.layout === 'nchw' ? ('NCHW' as const) : ('NHWC' as const),
        description: `feature map of layer${stage}, float32, ${o.layout.toUpperCase()}`,
      };
    });
    return { input, outputs, minInputSize };
  }
  const [, channels] = model.call(probe).shape as [number, number];
  const head = c.numClasses > 0;
  const output: OnnxTensorSpec = {
    name: head ? 'logits' : 'features',
    dims: [o.batch, channels],
    layout: 'NC',
    description: head
      ? c.output === 'softmax'
        ? `class probabilities (softmax applied), ${channels} classes`
        : `logits (before softmax), ${channels} classes`
      : `globally ${c.pool === 'avg' ? 'average' : 'max'}-pooled features, ${channels} channels`,
  };
  return { input, outputs: [output], minInputSize };
}
