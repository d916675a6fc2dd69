import {
  ArgumentError,
  BatchNorm2d,
  batchNormAffine,
  Conv2d,
  exportStateDict,
  Flatten,
  type ForwardStep,
  foldConvBatchNorm,
  forwardSteps,
  fuseConvolutions,
  GlobalPool2d,
  Identity,
  type Layer,
  Linear,
  MaxPool2d,
  ReLU,
  type ResNet,
  Softmax,
  toTorchLayout,
  ZeroPad2d,
  ZeroPadShortcut,
} from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import packageJson from '../package.json';
import { type AttributeValue, type Dim, floatValueInfo, GraphBuilder } from './graph.js';
import { modelProto, ONNX_SCHEMA_SOURCE } from './schema.js';
import {
  MAX_ONNX_BYTES,
  type OnnxExportOptions,
  type OnnxSignature,
  outputStages,
  oversized,
  type ResolvedOnnxOptions,
  resolveExport,
  signatureOf,
} from './signature.js';

/** The operator set of the exported graphs: 13, torch.onnx.export's for torch 1.13, read by every current runtime. */
export const ONNX_OPSET = 13;
/** The IR version written: 7, the one released with opset 13, which every current runtime reads. */
export const ONNX_IR_VERSION = 7;
/** This package's version, written as the model's producer_version. */
export const PRODUCER_VERSION: string = packageJson.version;

const INT64_MAX = 9223372036854775807n;

/**
 * Exports a ResNet (any preset or config of @resnet/core) as the bytes of an ONNX model.
 *
 * The graph is the model's eval-mode forward pass, read from its module tree (never from a trace
 * of tfjs ops): one node per module call, named by the module (`layer1.0.conv1`, a reused ReLU as
 * `layer1.0.relu_1`), initializers named by torchvision's `state_dict` keys in torch's layouts
 * (OIHW convolutions, `[out, in]` linear weights), input `input` (NCHW by default, dynamic batch,
 * height and width), output `logits` (see `onnxSignature` for headless and feature models). With
 * `optimize: true` it is the graph `optimizeForInference` runs: BatchNorm folded into each
 * convolution's weights and bias (those initializers keep the convolution's names), zero padding
 * merged. Opset 13, IR version 7; metadata_props record the preset, the weights and the producer.
 * Models whose file would exceed 2 GiB are refused before any weight is read (from their shapes).
 */
export function exportOnnx(model: ResNet, options: OnnxExportOptions = {}): Uint8Array {
  const resolved = resolveExport(model, options);
  const m = resolved.model;
  const o = resolved.options;
  if (m.isMeta) {
    throw new ArgumentError(
      'model',
      'a model with weights',
      'a meta model (built with buildMeta or meta: true)',
      'Build it normally and load its weights first',
    );
  }
  const signature = signatureOf(m, o);
  const graph = new GraphBuilder();
  new GraphWriter(m, o, graph).write(signature);

  const message = {
    ir_version: ONNX_IR_VERSION,
    opset_import: [{ domain: '', version: ONNX_OPSET }],
    producer_name: '@resnet/onnx',
    producer_version: PRODUCER_VERSION,
    doc_string: `${m.name} exported by @resnet/onnx ${PRODUCER_VERSION} (schema: ONNX ${ONNX_SCHEMA_SOURCE.onnx})${o.optimize ? ', BatchNorm folded' : ''}`,
    graph: {
      name: m.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: [floatValueInfo(signature.input.name, signature.input.dims, signature.input.description)],
      output: signature.outputs.map((s) => floatValueInfo(s.name, s.dims, s.description)),
      value_info: [...graph.valueInfo.values()],
    },
    metadata_props: Object.entries(metadata(m, o, signature)).map(([key, value]) => ({ key, value })),
  };
  const writer = modelProto().encode(message);
  if (writer.len > MAX_ONNX_BYTES) throw oversized(m, writer.len);
  return writer.finish();
}

/** The metadata_props of an export. */
function metadata(model: ResNet, o: ResolvedOnnxOptions, signature: OnnxSignature): Record<string, string> {
  const c = model.config;
  return {
    preset: model.name,
    weights: o.weights,
    producer_version: `@resnet/onnx ${PRODUCER_VERSION}`,
    layout: o.layout.toUpperCase(),
    optimized: String(o.optimize),
    output: c.featuresOnly || c.numClasses === 0 ? 'features' : c.output,
    num_classes: String(c.featuresOnly ? 0 : c.numClasses),
    input_channels: String(c.inputChannels),
    min_input_size: String(signature.minInputSize),
  };
}

/** A value of the graph and its shape in our NHWC terms (for value_info). */
interface Value {
  readonly name: string;
  readonly shape: readonly number[];
}

/** Writes a model's forward steps as ONNX nodes into a GraphBuilder. */
class GraphWriter {
  private readonly uses = new Map<string, number>();

  constructor(
    private readonly model: ResNet,
    private readonly options: ResolvedOnnxOptions,
    private readonly graph: GraphBuilder,
  ) {}

  write(signature: OnnxSignature): void {
    const o = this.options;
    const c = this.model.config;
    const [h, w] = o.size ?? [signature.minInputSize, signature.minInputSize];
    // Batch 2: train-mode BatchNorm accepts every size then (the graph itself is eval-mode).
    let x: Value = { name: this.graph.input('input'), shape: [2, h, w, c.inputChannels] };
    if (o.layout === 'nhwc') {
      x = this.node('Transpose', 'input_to_nchw', [x.name], { perm: { ints: [0, 3, 1, 2] } }, x.shape);
      // Still the input's height and width, which ONNX names.
      if (!o.size)
        this.graph.valueInfo.set(x.name, floatValueInfo(x.name, [o.batch, c.inputChannels, 'height', 'width']));
    }
    let steps = forwardSteps(this.model);
    if (o.optimize) steps = fuseConvolutions(steps);
    const stages = outputStages(this.model);
    const results: Value[] = [];
    if (stages) {
      const last = Math.max(...stages);
      for (const step of steps) {
        x = this.step(step, x);
        const stage = /^layer(\d+)$/.exec(step.path)?.[1];
        if (step.kind === 'sequence' && stage !== undefined) {
          if (stages.includes(Number(stage))) results.push(x);
          if (Number(stage) === last) break;
        }
      }
    } else {
      results.push(this.steps(steps, x));
    }
    results.forEach((value, i) => {
      const spec = signature.outputs[i];
      if (!spec)
        throw new Error(`onnx export: ${results.length} outputs for a signature of ${signature.outputs.length}`);
      let v = value;
      if (o.layout === 'nhwc' && v.shape.length === 4) {
        v = this.node('Transpose', `${spec.name}_to_nhwc`, [v.name], { perm: { ints: [0, 2, 3, 1] } }, null);
      }
      this.graph.rename(v.name, spec.name);
    });
  }

  /** A unique node name for a module call: the module's path, `_1`, `_2`… for its later calls. */
  private nodeName(path: string): string {
    const n = this.uses.get(path) ?? 0;
    this.uses.set(path, n + 1);
    return n === 0 ? path : `${path}_${n}`;
  }

  /**
   * ONNX dims (NCHW) of one of our NHWC shapes: the batch as exported, height and width when the
   * input's are fixed or when they do not depend on them (`sizeFree`: a global pool's 1×1).
   */
  private dims(shape: readonly number[], sizeFree = false): Dim[] {
    const batch = this.options.batch;
    if (shape.length !== 4) return [batch, ...shape.slice(1)];
    const [, h, w, c] = shape as [number, number, number, number];
    return this.options.size || sizeFree ? [batch, c, h, w] : [batch, c, null, null];
  }

  /** Adds a node named after `path` (made unique) with shape `shape` (NHWC, null: same as its type). */
  private node(
    opType: string,
    path: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue>,
    shape: readonly number[] | null,
    sizeFree = false,
  ): Value {
    const dims = shape ? this.dims(shape, sizeFree) : undefined;
    const name = this.graph.node(opType, this.nodeName(path), inputs, attributes, dims);
    return { name, shape: shape ?? [] };
  }

  /**
   * The tensors of a layer as float32 initializers named by their state_dict keys (`path.weight`),
   * in torch's layouts, in the order of `keys`.
   */
  private parameters(path: string, layer: Layer, keys: readonly string[]): string[] {
    const tensors = exportStateDict(layer);
    return keys.map((key) => {
      const t = tensors.get(key);
      if (t?.dtype !== 'float32') throw new Error(`onnx export: ${path} has no float32 tensor ${key}`);
      return this.graph.floats(`${path}.${key}`, t.shape, t.data as Float32Array);
    });
  }

  private steps(steps: readonly ForwardStep[], x: Value): Value {
    return steps.reduce((y, s) => this.step(s, y), x);
  }

  private step(s: ForwardStep, x: Value): Value {
    switch (s.kind) {
      case 'layer':
        return this.layer(s.path, s.layer, x);
      case 'flatten':
        return this.node('Flatten', s.path, [x.name], { axis: { int: 1 } }, flatShape(x.shape));
      case 'sequence':
        return this.steps(s.steps, x);
      case 'residual': {
        const branch = this.steps(s.branch, x);
        const shortcut = s.shortcut ? this.steps(s.shortcut, x) : x;
        const sum = this.node('Add', `${s.path}.add`, [branch.name, shortcut.name], {}, branch.shape);
        return this.layer(s.relu.path, s.relu.layer, sum);
      }
      case 'conv':
        return this.foldedConv(s, x);
      case 'module':
        throw new ArgumentError(
          'model',
          'a model made of @resnet/core layers and blocks',
          `a ${s.module.typeName} at ${s.path || 'the root'}, which has no ONNX form`,
        );
    }
  }

  private layer(path: string, layer: Layer, x: Value): Value {
    const shape = layer.outputShape(x.shape);
    if (layer instanceof Conv2d) {
      const inputs = [x.name, ...this.parameters(path, layer, layer.bias ? ['weight', 'bias'] : ['weight'])];
      return this.node('Conv', path, inputs, convAttributes(layer, [0, 0]), shape);
    }
    if (layer instanceof BatchNorm2d) {
      if (this.options.optimize) {
        // As optimizeForInference runs a BatchNorm with no convolution before it: x·scale + shift.
        const { scale, shift } = batchNormAffine(layer);
        const perChannel = [layer.numFeatures, 1, 1];
        const scaled = this.node(
          'Mul',
          `${path}.mul`,
          [x.name, this.graph.floats(`${path}.scale`, perChannel, scale)],
          {},
          shape,
        );
        return this.node('Add', path, [scaled.name, this.graph.floats(`${path}.shift`, perChannel, shift)], {}, shape);
      }
      const inputs = [x.name, ...this.parameters(path, layer, ['weight', 'bias', 'running_mean', 'running_var'])];
      return this.node('BatchNormalization', path, inputs, { epsilon: { float: layer.eps } }, shape);
    }
    if (layer instanceof ReLU) return this.node('Relu', path, [x.name], {}, shape);
    if (layer instanceof Softmax) return this.node('Softmax', path, [x.name], { axis: { int: -1 } }, shape);
    if (layer instanceof Identity) return this.node('Identity', path, [x.name], {}, shape);
    if (layer instanceof MaxPool2d) {
      const [ph, pw] = layer.padding;
      return this.node(
        'MaxPool',
        path,
        [x.name],
        {
          kernel_shape: { ints: layer.kernelSize },
          strides: { ints: layer.stride },
          pads: { ints: [ph, pw, ph, pw] },
          ceil_mode: { int: layer.ceilMode ? 1 : 0 },
        },
        shape,
      );
    }
    if (layer instanceof GlobalPool2d) {
      return this.node(layer.mode === 'avg' ? 'GlobalAveragePool' : 'GlobalMaxPool', path, [x.name], {}, shape, true);
    }
    if (layer instanceof Flatten) return this.node('Flatten', path, [x.name], { axis: { int: 1 } }, shape);
    if (layer instanceof Linear) {
      const inputs = [x.name, ...this.parameters(path, layer, layer.bias ? ['weight', 'bias'] : ['weight'])];
      return this.node('Gemm', path, inputs, { transB: { int: 1 } }, shape);
    }
    if (layer instanceof ZeroPad2d) {
      const [ph, pw] = layer.padding;
      const pads = this.graph.int64s(`${path}.pads`, [0, 0, ph, pw, 0, 0, ph, pw]);
      return this.node('Pad', path, [x.name, pads], {}, shape);
    }
    if (layer instanceof ZeroPadShortcut) return this.zeroPadShortcut(path, layer, x, shape);
    throw new ArgumentError(
      'model',
      'a model made of @resnet/core layers and blocks',
      `a ${layer.typeName} at ${path || 'the root'}, which has no ONNX form`,
    );
  }

  /** Option A: x[:, :, ::s, ::s] (Slice with steps), then zero channels before and after (Pad). */
  private zeroPadShortcut(path: string, layer: ZeroPadShortcut, x: Value, shape: readonly number[]): Value {
    const s = layer.stride;
    const before = layer.padBefore;
    const after = layer.outChannels - layer.inChannels - before;
    const pad = before > 0 || after > 0;
    if (s === 1 && !pad) return this.node('Identity', path, [x.name], {}, shape);
    let y = x;
    if (s > 1) {
      const [n, h, w, c] = x.shape as [number, number, number, number];
      const inputs = [
        y.name,
        this.graph.int64s(`${path}.starts`, [0, 0]),
        this.graph.int64s(`${path}.ends`, [INT64_MAX, INT64_MAX]),
        this.graph.int64s(`${path}.axes`, [2, 3]),
        this.graph.int64s(`${path}.steps`, [s, s]),
      ];
      y = this.node('Slice', pad ? `${path}.subsample` : path, inputs, {}, [n, Math.ceil(h / s), Math.ceil(w / s), c]);
    }
    if (!pad) return y;
    const pads = this.graph.int64s(`${path}.pads`, [0, before, 0, 0, 0, after, 0, 0]);
    return this.node('Pad', path, [y.name, pads], {}, shape);
  }

  /** A `conv` step (optimize): one Conv with the BatchNorm folded into its weight and bias, then Relu. */
  private foldedConv(s: Extract<ForwardStep, { kind: 'conv' }>, x: Value): Value {
    const { conv, pad, bn, relu } = s;
    const padded = pad ? pad.layer.outputShape(x.shape) : x.shape;
    const shape = conv.outputShape(padded);
    const { weight, bias } = foldConvBatchNorm(conv, bn?.layer ?? null);
    const oihw = tf.tidy(() => toTorchLayout(tf.tensor(weight, conv.weight.shape), 'hwio'));
    const [kh, kw, inPerGroup, out] = conv.weight.shape as [number, number, number, number];
    const weightName = this.graph.floats(
      `${s.path}.weight`,
      [out, inPerGroup, kh, kw],
      oihw.dataSync() as Float32Array,
    );
    oihw.dispose();
    const biasName = this.graph.floats(`${s.path}.bias`, [out], bias);
    const y = this.node(
      'Conv',
      s.path,
      [x.name, weightName, biasName],
      convAttributes(conv, pad?.layer.padding ?? [0, 0]),
      shape,
    );
    return relu ? this.layer(relu.path, relu.layer, y) : y;
  }
}

function flatShape(shape: readonly number[]): number[] {
  const [n, ...rest] = shape;
  return [n as number, rest.reduce((p, d) => p * d, 1)];
}

function convAttributes(conv: Conv2d, extraPad: readonly [number, number]): Record<string, AttributeValue> {
  const ph = conv.padding[0] + extraPad[0];
  const pw = conv.padding[1] + extraPad[1];
  return {
    kernel_shape: { ints: conv.kernelSize },
    strides: { ints: conv.stride },
    pads: { ints: [ph, pw, ph, pw] },
    dilations: { ints: conv.dilation },
    group: { int: conv.groups },
  };
}
