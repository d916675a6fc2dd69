import * as tf from '@tensorflow/tfjs-core';
import { BasicBlock } from '../blocks/basic-block.js';
import { BottleneckBlock } from '../blocks/bottleneck-block.js';
import { ConvolutionalBlock, IdentityBlock } from '../blocks/keras-blocks.js';
import { ResNet } from '../builders/resnet.js';
import { ArgumentError, ResNetError } from '../errors.js';
import { flattenTorchOrder } from '../flow.js';
import { checkFloatInput } from '../input-tensor.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d, ZeroPad2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import { Module } from '../module.js';
import { knownKeysOf, optionsObject } from '../validate.js';

/** One step of an inference program (runs inside the caller's `tf.tidy`). */
type Op = (x: tf.Tensor) => tf.Tensor;

type Padding = [[number, number], [number, number], [number, number], [number, number]];

/** What `optimizeForInference` did, for the record. */
export interface InferenceStats {
  /** BatchNorms folded into the preceding convolution's weights and bias. */
  foldedBatchNorms: number;
  /** Convolutions that run as one fused kernel (conv + bias, + ReLU when one follows). */
  fusedConvolutions: number;
  /** Of those, how many also apply ReLU in the kernel. */
  fusedActivations: number;
  /** ZeroPad2d layers merged into the next convolution's padding. */
  mergedPads: number;
}

/**
 * The inference form of a model: every BatchNorm folded into its convolution
 * (W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β), and each convolution run by
 * tfjs's fused kernel, which adds the bias and applies the following ReLU in the same pass.
 * It computes what the model computes in eval mode, owns its weights (the source model may be
 * disposed) and cannot train.
 */
export class InferenceModel {
  readonly name: string;
  readonly stats: Readonly<InferenceStats>;
  private readonly program: Op;
  private readonly weights: tf.Tensor[];
  private readonly check: ((shape: readonly number[]) => void) | null;
  private isDisposed = false;

  /** @internal Use `optimizeForInference`. */
  constructor(
    name: string,
    program: Op,
    weights: tf.Tensor[],
    stats: InferenceStats,
    check: ((shape: readonly number[]) => void) | null,
  ) {
    this.name = name;
    this.program = program;
    this.weights = weights;
    this.stats = Object.freeze({ ...stats });
    this.check = check;
  }

  /** Runs on an NHWC float32 batch inside `tf.tidy`: only the returned tensor survives. */
  predict(input: tf.Tensor): tf.Tensor {
    if (this.isDisposed)
      throw new ResNetError(`the inference form of ${this.name} was disposed; optimize the model again`);
    checkFloatInput(input);
    this.check?.(input.shape);
    return tf.tidy(() => this.program(input));
  }

  /** Number of values in the folded weights. */
  countParameters(): number {
    return this.weights.reduce((t, w) => t + w.size, 0);
  }

  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Frees the folded weights. */
  dispose(): void {
    if (this.isDisposed) return;
    tf.dispose(this.weights);
    this.isDisposed = true;
  }
}

/** Options of `optimizeForInference`. */
export interface OptimizeOptions {
  /**
   * Dispose the model while compiling it: each layer's tensors are freed as soon as their folded
   * form exists, so memory holds one copy of the weights (plus one layer's), never two. The model
   * is disposed afterwards (`model.disposed`), as if `model.dispose()` had been called.
   * Default false: the model is left unchanged and usable.
   */
  disposeSource?: boolean;
}

/**
 * Compiles `model` (a ResNet, a block, a Sequential, any tree of our layers) into its inference
 * form: BatchNorms folded into convolution weights and biases, convolution + bias + ReLU fused into
 * one kernel (`tf.fused.conv2d`), zero padding merged into the next convolution. Outputs equal
 * the model's eval-mode outputs to float32 rounding. The model itself is left unchanged, unless
 * `{ disposeSource: true }` asks to free it while compiling (one copy of the weights, not two).
 * Each intermediate activation is freed as soon as the next layer has used it.
 */
export function optimizeForInference(model: Module, options: OptimizeOptions = {}): InferenceModel {
  if (!(model instanceof Module)) {
    throw new ArgumentError('model', 'a @resnet/core Module (a ResNet from createModel, a block...)', model);
  }
  if (model.disposed) throw new ArgumentError('model', 'a live model', 'a disposed model');
  if (model.isMeta) {
    throw new ArgumentError(
      'model',
      'a model with weights',
      'a meta model (built with buildMeta or meta: true)',
      'Build it normally and load its weights first',
    );
  }
  const o = optionsObject('options', options);
  knownKeysOf('options', o, ['disposeSource']);
  const disposeSource = o.disposeSource ?? false;
  if (typeof disposeSource !== 'boolean') {
    throw new ArgumentError('options.disposeSource', 'true or false', disposeSource);
  }
  const name = model instanceof ResNet ? model.name : model.typeName;
  const check = model instanceof ResNet ? inputCheck(model, name) : null;
  const compiler = new Compiler(disposeSource);
  // Walks the model first: what cannot be compiled is refused before a tensor is made or freed.
  const program = compiler.module(model);
  try {
    compiler.materialize();
  } catch (e) {
    tf.dispose(compiler.weights);
    throw e;
  } finally {
    if (disposeSource) model.dispose();
  }
  return new InferenceModel(name, program, compiler.weights, compiler.stats, check);
}

/** The input check of a ResNet's inference form: NHWC, its channels, at least its minimum size. */
function inputCheck(model: ResNet, name: string): (shape: readonly number[]) => void {
  const channels = model.config.inputChannels;
  const minSize = evalMinSize(model);
  return (shape) => {
    if (shape.length !== 4 || shape[3] !== channels) {
      const nchw = shape.length === 4 && shape[1] === channels;
      throw new ArgumentError(
        'input',
        `a rank-4 tensor with ${channels} channels on the last axis (NHWC) for ${name}`,
        `shape [${shape.join(', ')}]`,
        nchw ? 'It looks like NCHW: transpose it with tf.transpose(x, [0, 2, 3, 1])' : undefined,
      );
    }
    if ((shape[1] as number) < minSize || (shape[2] as number) < minSize) {
      throw new ResNetError(
        `${name} needs inputs of at least ${minSize}×${minSize} pixels; got [${shape.join(', ')}] (NHWC). Resize or pad the image`,
      );
    }
  };
}

/** The smallest input size in eval mode (the inference form never uses batch statistics). */
function evalMinSize(model: ResNet): number {
  const training = model.training;
  if (!training) return model.minInputSize(1);
  model.eval();
  try {
    return model.minInputSize(1);
  } finally {
    model.train(true);
  }
}

/** Frees `t` unless it is one of `keep` (an op's input belongs to its caller). */
function release(t: tf.Tensor, ...keep: tf.Tensor[]): void {
  if (!keep.includes(t)) t.dispose();
}

/** Runs ops one after the other, freeing each intermediate as soon as the next op has used it. */
function sequence(ops: readonly Op[]): Op {
  return (x) => {
    let y = x;
    for (const op of ops) {
      const next = op(y);
      if (next !== y) release(y, x);
      y = next;
    }
    return y;
  };
}

/** relu(main(x) + shortcut(x)), freeing both branches' outputs as soon as they are added. */
function residualSum(main: Op, shortcut: Op | null): Op {
  return (x) => {
    const a = main(x);
    const b = shortcut ? shortcut(x) : x;
    const sum = tf.add(a, b);
    release(a, x);
    release(b, x);
    const out = tf.relu(sum);
    sum.dispose();
    return out;
  };
}

/**
 * Builds the inference program in two steps: `module` walks the model and returns the program,
 * refusing what it cannot compile before any tensor is made or freed; `materialize` then folds
 * the weights, layer by layer (freeing each source layer when asked to).
 */
class Compiler {
  readonly weights: tf.Tensor[] = [];
  readonly stats: InferenceStats = { foldedBatchNorms: 0, fusedConvolutions: 0, fusedActivations: 0, mergedPads: 0 };
  /** Weight folding, deferred until the whole model is known to compile. */
  private readonly tasks: (() => void)[] = [];

  constructor(private readonly disposeSource: boolean) {}

  private keep<T extends tf.Tensor>(t: T): T {
    this.weights.push(t);
    return t;
  }

  /** Folds every layer's weights, in model order. */
  materialize(): void {
    for (const task of this.tasks.splice(0)) task();
  }

  /** Frees a source layer's tensors once folded (with `disposeSource`). */
  private consumed(...variables: (tf.Variable | null)[]): void {
    if (this.disposeSource) for (const v of variables) v?.dispose();
  }

  module(m: Module): Op {
    if (m instanceof ResNet) return this.resnet(m);
    if (m instanceof BasicBlock) {
      const main = this.chain([m.conv1, m.bn1, m.relu, m.conv2, m.bn2]);
      return this.residual(main, m.residual, m.downsample);
    }
    if (m instanceof BottleneckBlock) {
      const main = this.chain([m.conv1, m.bn1, m.relu, m.conv2, m.bn2, m.relu, m.conv3, m.bn3]);
      return this.residual(main, m.residual, m.downsample);
    }
    if (m instanceof IdentityBlock || m instanceof ConvolutionalBlock) {
      const main = this.chain([m.conv1, m.bn1, m.relu, m.conv2, m.bn2, m.relu, m.conv3, m.bn3]);
      const shortcut = m instanceof ConvolutionalBlock ? this.chain([m.shortcutConv, m.shortcutBn]) : null;
      return residualSum(main, shortcut);
    }
    if (m instanceof Sequential) return this.chain(m.modules);
    return this.chain([m]);
  }

  private residual(main: Op, residual: boolean, downsample: Module | null): Op {
    if (!residual) return sequence([main, (x) => tf.relu(x)]);
    return residualSum(main, downsample ? this.module(downsample) : null);
  }

  private resnet(m: ResNet): Op {
    const children = m.namedChildren();
    const stem: Module[] = [];
    const stages: Op[] = [];
    for (const [name, child] of children) {
      if (/^layer\d+$/.test(name)) stages.push(this.module(child));
      else if (stages.length === 0) stem.push(child);
    }
    const program = [this.chain(stem), ...stages];
    const pool = children.find(([n]) => n === 'avgpool' || n === 'global_maxpool')?.[1];
    if (pool) {
      const fc = children.find(([n]) => n === 'fc')?.[1];
      const softmax = children.find(([n]) => n === 'softmax')?.[1];
      program.push(this.chain([pool]), (x) => flattenTorchOrder(x));
      if (fc) program.push(this.chain([fc]));
      if (softmax) program.push(this.chain([softmax]));
    }
    return sequence(program);
  }

  /** A run of modules, fusing ZeroPad2d → Conv2d → BatchNorm2d → ReLU where they follow each other. */
  private chain(modules: readonly Module[]): Op {
    const ops: Op[] = [];
    let i = 0;
    while (i < modules.length) {
      const m = modules[i] as Module;
      let extraPad: [number, number] = [0, 0];
      let conv: Conv2d | null = null;
      if (m instanceof ZeroPad2d && modules[i + 1] instanceof Conv2d) {
        extraPad = m.padding;
        conv = modules[i + 1] as Conv2d;
        this.stats.mergedPads++;
        i += 2;
      } else if (m instanceof Conv2d) {
        conv = m;
        i += 1;
      }
      if (conv) {
        const bn = modules[i] instanceof BatchNorm2d ? (modules[i] as BatchNorm2d) : null;
        if (bn) i++;
        const relu = modules[i] instanceof ReLU;
        if (relu) i++;
        ops.push(this.conv(conv, bn, relu, extraPad));
        continue;
      }
      ops.push(this.single(m));
      i++;
    }
    return sequence(ops);
  }

  /** A module that is not part of a conv → BN → ReLU run. */
  private single(m: Module): Op {
    if (m instanceof Linear) {
      const w: { weight?: tf.Tensor2D; bias?: tf.Tensor1D } = {};
      this.tasks.push(() => {
        // A clone shares the values: with disposeSource, freeing the layer's variables keeps them.
        w.weight = this.keep(tf.clone(m.weight) as tf.Tensor2D);
        if (m.bias) w.bias = this.keep(tf.clone(m.bias) as tf.Tensor1D);
        this.consumed(m.weight, m.bias);
      });
      return (x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w.weight as tf.Tensor2D, bias: w.bias });
    }
    if (m instanceof BatchNorm2d) {
      // A BatchNorm with no convolution before it: one multiply-add per value.
      const w: { scale?: tf.Tensor1D; shift?: tf.Tensor1D } = {};
      this.stats.foldedBatchNorms++;
      this.tasks.push(() => {
        const { scale, shift } = bnScaleShift(m);
        w.scale = this.keep(tf.tensor1d(Float32Array.from(scale)));
        w.shift = this.keep(tf.tensor1d(Float32Array.from(shift)));
        this.consumed(m.weight, m.bias, m.runningMean, m.runningVar, m.numBatchesTracked);
      });
      return (x) => tf.tidy(() => tf.add(tf.mul(x, w.scale as tf.Tensor1D), w.shift as tf.Tensor1D));
    }
    if (m instanceof MaxPool2d && !m.ceilMode) {
      // XNNPACK-style pooling ignores padded positions, which is −∞ padding without a pad pass.
      const [ph, pw] = m.padding;
      const pad: Padding = [
        [0, 0],
        [ph, ph],
        [pw, pw],
        [0, 0],
      ];
      return (x) => tf.maxPool(x as tf.Tensor4D, m.kernelSize, m.stride, ph || pw ? (pad as never) : 'valid');
    }
    if (m instanceof Sequential || m instanceof BasicBlock || m instanceof BottleneckBlock) return this.module(m);
    if (m instanceof IdentityBlock || m instanceof ConvolutionalBlock || m instanceof ResNet) return this.module(m);
    if (m.namedSlots().length > 0) {
      throw new ArgumentError(
        'model',
        'a model made of @resnet/core layers and blocks',
        `a ${m.typeName} holding weights`,
        `optimizeForInference cannot fold a ${m.typeName}: run the model itself, or build it from Conv2d, BatchNorm2d, ReLU, Linear and the residual blocks`,
      );
    }
    // A weightless layer or container: its own forward, its intermediates freed at once.
    return (x) => tf.tidy(() => m.forward(x) as tf.Tensor);
  }

  private conv(conv: Conv2d, bn: BatchNorm2d | null, relu: boolean, extraPad: [number, number]): Op {
    const [kh, kw] = conv.kernelSize;
    const out = conv.outChannels;
    const groups = conv.groups;
    const [ph, pw] = [conv.padding[0] + extraPad[0], conv.padding[1] + extraPad[1]];
    const pad: Padding = [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ];
    const padArg = ph || pw ? pad : 'valid';
    const activation = relu ? 'relu' : 'linear';
    this.stats.fusedConvolutions++;
    if (relu) this.stats.fusedActivations++;
    if (bn) this.stats.foldedBatchNorms++;
    // Grouped convolutions (ResNeXt) have no kernel in tfjs: one fused convolution per group.
    const w: { filters: tf.Tensor4D[]; biases: tf.Tensor1D[] } = { filters: [], biases: [] };
    this.tasks.push(() => {
      // The filter is scaled on the backend (no copy of it through JS); the bias, a vector, on the host.
      const b = conv.bias ? conv.bias.dataSync() : null;
      const bias = new Float32Array(out);
      let folded: tf.Tensor4D;
      if (bn) {
        const { scale, shift } = bnScaleShift(bn);
        // HWIO: the output channel is the last axis, so the scale broadcasts over it.
        folded = tf.tidy(() => tf.mul(conv.weight, tf.tensor1d(Float32Array.from(scale))) as tf.Tensor4D);
        for (let o = 0; o < out; o++)
          bias[o] = (b ? (b[o] as number) : 0) * (scale[o] as number) + (shift[o] as number);
      } else {
        folded = tf.clone(conv.weight) as tf.Tensor4D; // shares the values: no copy
        if (b) bias.set(b);
      }
      this.consumed(conv.weight, conv.bias);
      if (bn) this.consumed(bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.numBatchesTracked);
      if (groups === 1 || groups === conv.inChannels) {
        if (groups > 1) {
          const depthwise = tf.reshape(folded, [kh, kw, conv.inChannels, out / conv.inChannels]) as tf.Tensor4D;
          folded.dispose();
          folded = depthwise;
        }
        w.filters.push(this.keep(folded));
        w.biases.push(this.keep(tf.tensor1d(bias)));
        return;
      }
      const biasT = tf.tensor1d(bias);
      w.filters.push(...tf.split(folded, groups, 3).map((f) => this.keep(f as tf.Tensor4D)));
      w.biases.push(...tf.split(biasT, groups, 0).map((t) => this.keep(t as tf.Tensor1D)));
      tf.dispose([folded, biasT]);
    });
    const convolve = (x: tf.Tensor4D, g: number): tf.Tensor4D => {
      const args = {
        x,
        filter: w.filters[g] as tf.Tensor4D,
        strides: conv.stride,
        dataFormat: 'NHWC' as const,
        dilations: conv.dilation,
        bias: w.biases[g] as tf.Tensor1D,
        activation: activation as 'relu' | 'linear',
      };
      return groups === conv.inChannels && groups > 1
        ? tf.fused.depthwiseConv2d({ ...args, pad: padArg as never })
        : tf.fused.conv2d({ ...args, pad: padArg });
    };
    if (groups === 1 || groups === conv.inChannels) return (x) => convolve(x as tf.Tensor4D, 0);
    return (x) =>
      tf.tidy(() => {
        const xs = tf.split(x as tf.Tensor4D, groups, 3) as tf.Tensor4D[];
        return tf.concat(
          xs.map((xi, g) => convolve(xi, g)),
          3,
        );
      });
  }
}

// #region notebook:fold-batchnorm
/** γ/√(σ²+ε) and β − μ·γ/√(σ²+ε) of a BatchNorm, in double precision. */
function bnScaleShift(bn: BatchNorm2d): { scale: Float64Array; shift: Float64Array } {
  const gamma = bn.weight.dataSync();
  const beta = bn.bias.dataSync();
  const mean = bn.runningMean.dataSync();
  const variance = bn.runningVar.dataSync();
  const n = bn.numFeatures;
  const scale = new Float64Array(n);
  const shift = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    const s = (gamma[c] as number) / Math.sqrt((variance[c] as number) + bn.eps);
    scale[c] = s;
    shift[c] = (beta[c] as number) - (mean[c] as number) * s;
  }
  return { scale, shift };
}
// #endregion
