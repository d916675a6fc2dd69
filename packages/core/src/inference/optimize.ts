import * as tf from '@tensorflow/tfjs-core';
import { ResNet } from '../builders/resnet.js';
import { ArgumentError, ResNetError } from '../errors.js';
import { flattenTorchOrder } from '../flow.js';
import { checkFloatInput } from '../input-tensor.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d } from '../layers/pooling.js';
import { Module } from '../module.js';
import { knownKeysOf, optionsObject } from '../validate.js';
import { type ForwardStep, forwardSteps, fuseConvolutions } from './forward-steps.js';

/**
 * One step of an inference program (runs inside the caller's `tf.tidy`). It never frees its input
 * (its caller's) and returns a tensor its caller owns.
 */
type Op = (x: tf.Tensor) => tf.Tensor;

/** relu(f(x) + r): the end of a residual block, its last convolution and the shortcut's output r. */
type ResidualOp = (x: tf.Tensor, r: tf.Tensor) => tf.Tensor;

/** A convolution step that can also add a residual and apply ReLU in the same kernel. */
type ConvOp = Op & { withResidual?: ResidualOp };

/**
 * The kernel a backend may register for relu(conv(x) + bias + residual) (@resnet/backends does, for
 * WASM; its CONV2D_RESIDUAL): inputs x, filter, bias, residual; attributes as tfjs's FusedConv2D.
 * Where the running backend has it, a residual block's last convolution adds the shortcut and
 * applies ReLU in its epilogue instead of two passes (Add, Relu) over the block's output.
 */
export const FUSED_CONV_RESIDUAL_KERNEL = 'ResNetConv2DResidual';

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
 * The inference form frees each activation as soon as the next layer has used it.
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
  // The input check first: it reads the model, which `disposeSource` frees.
  const name = model instanceof ResNet ? model.name : model.typeName;
  let check: ((shape: readonly number[]) => void) | null = null;
  if (model instanceof ResNet) {
    const channels = model.config.inputChannels;
    const minSize = evalMinInputSize(model);
    check = (shape) => {
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
  // The steps before any tensor: what cannot be compiled is refused before a tensor is made or freed.
  const steps = fuseConvolutions(forwardSteps(model));
  const compiler = new Compiler(disposeSource);
  let program: Op;
  try {
    program = compiler.steps(steps);
  } catch (e) {
    tf.dispose(compiler.weights);
    throw e;
  } finally {
    if (disposeSource) model.dispose();
  }
  return new InferenceModel(name, program, compiler.weights, compiler.stats, check);
}

/**
 * The smallest square input (pixels per side) a ResNet takes in eval mode, whatever mode it is in
 * (inference forms and exports never use batch statistics). The model is left in its mode.
 */
export function evalMinInputSize(model: ResNet): number {
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

class Compiler {
  readonly weights: tf.Tensor[] = [];
  readonly stats: InferenceStats = { foldedBatchNorms: 0, fusedConvolutions: 0, fusedActivations: 0, mergedPads: 0 };

  /** With `disposeSource`, each layer's tensors are freed once folded. */
  constructor(private readonly disposeSource: boolean) {}

  private keep<T extends tf.Tensor>(t: T): T {
    this.weights.push(t);
    return t;
  }

  /** Frees a source layer's tensors once its folded form exists (with `disposeSource`). */
  private consumed(...variables: (tf.Variable | null)[]): void {
    if (this.disposeSource) for (const v of variables) v?.dispose();
  }

  /** Steps run in order (fused by `fuseConvolutions` first), each intermediate freed once the next step has used it. */
  steps(steps: readonly ForwardStep[]): Op {
    return this.run(steps.map((s) => this.step(s)));
  }

  /** Ops run in order, each intermediate freed once the next op has used it. */
  private run(ops: readonly Op[]): Op {
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

  private step(s: ForwardStep): Op {
    switch (s.kind) {
      case 'conv':
        if (s.pad) this.stats.mergedPads++;
        return this.conv(s.conv, s.bn?.layer ?? null, s.relu !== null, s.pad?.layer.padding ?? [0, 0]);
      case 'layer':
        return this.layer(s.layer);
      case 'flatten':
        return (x) => flattenTorchOrder(x);
      case 'sequence':
        return this.steps(s.steps);
      case 'residual': {
        const ops = s.branch.map((b) => this.step(b));
        const shortcut = s.shortcut ? this.steps(s.shortcut) : null;
        const fused = (ops[ops.length - 1] as ConvOp | undefined)?.withResidual;
        if (fused) {
          // The branch's last convolution adds the shortcut and applies ReLU in its own epilogue.
          const head = this.run(ops.slice(0, -1));
          return (x) => {
            const h = head(x);
            const b = shortcut ? shortcut(x) : x;
            const out = fused(h, b);
            release(h, x);
            release(b, x);
            return out;
          };
        }
        const branch = this.run(ops);
        // relu(branch(x) + shortcut(x)), both branches' outputs freed as soon as they are added.
        return (x) => {
          const a = branch(x);
          const b = shortcut ? shortcut(x) : x;
          const sum = tf.add(a, b);
          release(a, x);
          release(b, x);
          const out = tf.relu(sum);
          sum.dispose();
          return out;
        };
      }
      case 'module':
        // A weightless module we do not know: its own forward, on its (weightless) children.
        return (x) => tf.tidy(() => s.module.forward(x) as tf.Tensor);
    }
  }

  /** A layer that is not part of a conv → BN → ReLU run. */
  private layer(m: Layer): Op {
    if (m instanceof Linear) {
      // A clone shares the values: with disposeSource, freeing the layer's variables keeps them.
      const w = this.keep(tf.clone(m.weight) as tf.Tensor2D);
      const b = m.bias ? this.keep(tf.clone(m.bias) as tf.Tensor1D) : undefined;
      this.consumed(m.weight, m.bias);
      return (x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w, bias: b });
    }
    if (m instanceof BatchNorm2d) {
      // A BatchNorm with no convolution before it: one multiply-add per value.
      const { scale, shift } = batchNormAffine(m);
      const s = this.keep(tf.tensor1d(scale));
      const t = this.keep(tf.tensor1d(shift));
      this.consumed(m.weight, m.bias, m.runningMean, m.runningVar, m.numBatchesTracked);
      this.stats.foldedBatchNorms++;
      return (x) => tf.tidy(() => tf.add(tf.mul(x, s), t));
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
    return (x) => tf.tidy(() => m.forward(x) as tf.Tensor);
  }

  private conv(conv: Conv2d, bn: BatchNorm2d | null, relu: boolean, extraPad: [number, number]): ConvOp {
    const [kh, kw] = conv.kernelSize;
    const { groups, inChannels, outChannels: out } = conv;
    // The filter is scaled on the backend (no copy of it through JS); the bias, a vector, on the host.
    const affine = bn ? bnScaleShift(bn) : null;
    let folded = affine
      ? tf.tidy(() => tf.mul(conv.weight, tf.tensor1d(Float32Array.from(affine.scale))) as tf.Tensor4D)
      : (tf.clone(conv.weight) as tf.Tensor4D); // a clone shares the values: no copy
    const biasT = tf.tensor1d(foldedBias(conv, affine));
    this.consumed(conv.weight, conv.bias);
    if (bn) {
      this.consumed(bn.weight, bn.bias, bn.runningMean, bn.runningVar, bn.numBatchesTracked);
      this.stats.foldedBatchNorms++;
    }
    const [ph, pw] = [conv.padding[0] + extraPad[0], conv.padding[1] + extraPad[1]];
    const pad: Padding = [
      [0, 0],
      [ph, ph],
      [pw, pw],
      [0, 0],
    ];
    const activation = relu ? 'relu' : 'linear';
    this.stats.fusedConvolutions++;
    if (relu) this.stats.fusedActivations++;
    const padArg = ph || pw ? pad : 'valid';
    if (groups === 1) {
      const filter = this.keep(folded);
      const bias = this.keep(biasT);
      const op: ConvOp = (x) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter,
          strides: conv.stride,
          pad: padArg,
          dataFormat: 'NHWC',
          dilations: conv.dilation,
          bias,
          activation,
        });
      if (!relu) {
        const attrs = { strides: conv.stride, pad: padArg, dataFormat: 'NHWC', dilations: conv.dilation, activation: 'relu' };
        op.withResidual = (x, r) => {
          if (tf.getKernel(FUSED_CONV_RESIDUAL_KERNEL, tf.getBackend())) {
            const inputs = { x, filter, bias, residual: r };
            return tf.engine().runKernel(FUSED_CONV_RESIDUAL_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
          }
          const y = op(x);
          const sum = tf.add(y, r);
          y.dispose();
          const out = tf.relu(sum);
          sum.dispose();
          return out;
        };
      }
      return op;
    }
    if (groups === inChannels) {
      const depthwise = tf.reshape(folded, [kh, kw, inChannels, out / inChannels]) as tf.Tensor4D;
      folded.dispose();
      folded = this.keep(depthwise);
      const bias = this.keep(biasT);
      return (x) =>
        tf.fused.depthwiseConv2d({
          x: x as tf.Tensor4D,
          filter: depthwise,
          strides: conv.stride,
          pad: padArg as never,
          dataFormat: 'NHWC',
          dilations: conv.dilation,
          bias,
          activation,
        });
    }
    // Grouped (ResNeXt): tfjs has no grouped kernel; one fused convolution per group.
    const filters = tf.split(folded, groups, 3).map((f) => this.keep(f as tf.Tensor4D));
    const biases = tf.split(biasT, groups, 0).map((t) => this.keep(t as tf.Tensor1D));
    tf.dispose([folded, biasT]);
    return (x) =>
      tf.tidy(() => {
        const xs = tf.split(x as tf.Tensor4D, groups, 3) as tf.Tensor4D[];
        return tf.concat(
          xs.map((xi, g) =>
            tf.fused.conv2d({
              x: xi,
              filter: filters[g] as tf.Tensor4D,
              strides: conv.stride,
              pad: padArg,
              dataFormat: 'NHWC',
              dilations: conv.dilation,
              bias: biases[g] as tf.Tensor1D,
              activation,
            }),
          ),
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

/**
 * A convolution with the eval-mode BatchNorm after it folded in: W′ = W·s per output channel and
 * b′ = b·s + (β − μ·s), s = γ/√(σ²+ε) (computed in double precision). Without a BatchNorm, the
 * convolution's own weight and bias (zeros when it has none). `weight` is in our HWIO layout.
 */
export function foldConvBatchNorm(conv: Conv2d, bn: BatchNorm2d | null): { weight: Float32Array; bias: Float32Array } {
  const out = conv.outChannels;
  const w = conv.weight.dataSync() as Float32Array;
  const affine = bn ? bnScaleShift(bn) : null;
  // HWIO: the output channel is the fastest axis. dataSync may return the backend's own array: copy.
  const weight = affine ? w.map((v, i) => v * (affine.scale[i % out] as number)) : Float32Array.from(w);
  return { weight, bias: foldedBias(conv, affine) };
}

/** b′ = b·s + (β − μ·s) per output channel; without a BatchNorm, the convolution's own bias (zeros when it has none). */
function foldedBias(conv: Conv2d, affine: { scale: Float64Array; shift: Float64Array } | null): Float32Array {
  const bias = new Float32Array(conv.outChannels);
  const b = conv.bias ? conv.bias.dataSync() : null;
  if (!affine) {
    if (b) bias.set(b);
    return bias;
  }
  for (let o = 0; o < bias.length; o++) {
    bias[o] = (b ? (b[o] as number) : 0) * (affine.scale[o] as number) + (affine.shift[o] as number);
  }
  return bias;
}

/** An eval-mode BatchNorm as y = x·scale + shift per channel (float32), for one with no convolution before it. */
export function batchNormAffine(bn: BatchNorm2d): { scale: Float32Array; shift: Float32Array } {
  const { scale, shift } = bnScaleShift(bn);
  return { scale: Float32Array.from(scale), shift: Float32Array.from(shift) };
}
