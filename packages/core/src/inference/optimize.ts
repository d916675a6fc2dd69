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
import { Layer } from '../layers/layer.js';
import { Linear } from '../layers/linear.js';
import { MaxPool2d, ZeroPad2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import { Module } from '../module.js';

/** One step of an inference program (runs inside the caller's `tf.tidy`). */
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

/**
 * Compiles `model` (a ResNet, a block, a Sequential, any tree of our layers) into its inference
 * form: BatchNorms folded into convolution weights and biases, convolution + bias + ReLU fused into
 * one kernel (`tf.fused.conv2d`), zero padding merged into the next convolution. Outputs equal
 * the model's eval-mode outputs to float32 rounding. The model itself is left unchanged.
 */
export function optimizeForInference(model: Module): InferenceModel {
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
  const compiler = new Compiler();
  let program: Op;
  try {
    program = compiler.module(model);
  } catch (e) {
    tf.dispose(compiler.weights);
    throw e;
  }
  const name = model instanceof ResNet ? model.name : model.typeName;
  let check: ((shape: readonly number[]) => void) | null = null;
  if (model instanceof ResNet) {
    const channels = model.config.inputChannels;
    const minSize = evalMinSize(model);
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
  return new InferenceModel(name, program, compiler.weights, compiler.stats, check);
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

class Compiler {
  readonly weights: tf.Tensor[] = [];
  readonly stats: InferenceStats = { foldedBatchNorms: 0, fusedConvolutions: 0, fusedActivations: 0, mergedPads: 0 };

  private keep<T extends tf.Tensor>(t: T): T {
    this.weights.push(t);
    return t;
  }

  module(m: Module): Op {
    if (m instanceof ResNet) return this.resnet(m);
    if (m instanceof BasicBlock) {
      return this.residual([m.conv1, m.bn1, m.relu, m.conv2, m.bn2], m.residual, m.downsample);
    }
    if (m instanceof BottleneckBlock) {
      const main = [m.conv1, m.bn1, m.relu, m.conv2, m.bn2, m.relu, m.conv3, m.bn3];
      return this.residual(main, m.residual, m.downsample);
    }
    if (m instanceof IdentityBlock || m instanceof ConvolutionalBlock) {
      const main = this.residualChain([m.conv1, m.bn1, m.relu, m.conv2, m.bn2, m.relu, m.conv3, m.bn3]);
      const shortcut = m instanceof ConvolutionalBlock ? this.chain([m.shortcutConv, m.shortcutBn]) : null;
      return (x) => main(x, shortcut ? shortcut(x) : x);
    }
    if (m instanceof Sequential) return this.chain(m.modules);
    return this.chain([m]);
  }

  private residual(modules: readonly Module[], residual: boolean, downsample: Module | null): Op {
    if (!residual) {
      const main = this.chain(modules);
      return (x) => tf.relu(main(x));
    }
    const main = this.residualChain(modules);
    const shortcut = downsample ? this.module(downsample) : null;
    return (x) => main(x, shortcut ? shortcut(x) : x);
  }

  /** relu(chain(modules)(x) + r), the last convolution adding r and applying ReLU where it can. */
  private residualChain(modules: readonly Module[]): ResidualOp {
    const ops = this.ops(modules);
    const last = ops[ops.length - 1] as ConvOp | undefined;
    const run = (x: tf.Tensor, steps: readonly Op[]) => steps.reduce((y, op) => op(y), x);
    if (last?.withResidual) {
      const head = ops.slice(0, -1);
      const fused = last.withResidual;
      return (x, r) => fused(run(x, head), r);
    }
    return (x, r) => tf.relu(tf.add(run(x, ops), r));
  }

  private resnet(m: ResNet): Op {
    const children = m.namedChildren();
    const stem: Module[] = [];
    const stages: Op[] = [];
    let head: Op | null = null;
    for (const [name, child] of children) {
      if (/^layer\d+$/.test(name)) stages.push(this.module(child));
      else if (stages.length === 0) stem.push(child);
    }
    const runStem = this.chain(stem);
    const pool = children.find(([n]) => n === 'avgpool' || n === 'global_maxpool')?.[1];
    if (pool) {
      const fc = children.find(([n]) => n === 'fc')?.[1];
      const softmax = children.find(([n]) => n === 'softmax')?.[1];
      const runFc = fc ? this.chain([fc]) : null;
      const runSoftmax = softmax ? this.chain([softmax]) : null;
      const runPool = this.chain([pool]);
      head = (x) => {
        let y = flattenTorchOrder(runPool(x));
        if (runFc) y = runFc(y);
        if (runSoftmax) y = runSoftmax(y);
        return y;
      };
    }
    return (x) => {
      let y = runStem(x);
      for (const stage of stages) y = stage(y);
      return head ? head(y) : y;
    };
  }

  /** A run of modules, fusing ZeroPad2d → Conv2d → BatchNorm2d → ReLU where they follow each other. */
  private chain(modules: readonly Module[]): Op {
    const ops = this.ops(modules);
    return (x) => ops.reduce((y, op) => op(y), x);
  }

  /** The steps of `chain`. */
  private ops(modules: readonly Module[]): ConvOp[] {
    const ops: ConvOp[] = [];
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
    return ops;
  }

  /** A module that is not part of a conv → BN → ReLU run. */
  private single(m: Module): Op {
    if (m instanceof Linear) {
      const w = this.keep(tf.clone(m.weight) as tf.Tensor2D);
      const b = m.bias ? this.keep(tf.clone(m.bias) as tf.Tensor1D) : undefined;
      return (x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w, bias: b });
    }
    if (m instanceof BatchNorm2d) {
      // A BatchNorm with no convolution before it: one multiply-add per value.
      const { scale, shift } = bnScaleShift(m);
      const s = this.keep(tf.tensor1d(Float32Array.from(scale)));
      const t = this.keep(tf.tensor1d(Float32Array.from(shift)));
      this.stats.foldedBatchNorms++;
      return (x) => tf.add(tf.mul(x, s), t);
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
        `a ${m.typeName} with its own weights, which optimizeForInference does not know how to fold`,
        'Run the model itself, or build it from Conv2d, BatchNorm2d, ReLU, Linear and the residual blocks',
      );
    }
    if (m instanceof Layer) return (x) => m.forward(x) as tf.Tensor;
    // A weightless container we do not know: its own forward, on its (weightless) children.
    return (x) => m.forward(x) as tf.Tensor;
  }

  private conv(conv: Conv2d, bn: BatchNorm2d | null, relu: boolean, extraPad: [number, number]): ConvOp {
    const [kh, kw] = conv.kernelSize;
    const out = conv.outChannels;
    const w = conv.weight.dataSync() as Float32Array;
    const b = conv.bias ? (conv.bias.dataSync() as Float32Array) : null;
    const folded = new Float32Array(w.length);
    const bias = new Float32Array(out);
    if (bn) {
      const { scale, shift } = bnScaleShift(bn);
      // HWIO: the output channel is the fastest axis.
      for (let i = 0; i < w.length; i++) folded[i] = (w[i] as number) * (scale[i % out] as number);
      for (let o = 0; o < out; o++) bias[o] = (b ? (b[o] as number) : 0) * (scale[o] as number) + (shift[o] as number);
      this.stats.foldedBatchNorms++;
    } else {
      folded.set(w);
      if (b) bias.set(b);
    }
    const inPerGroup = conv.inChannels / conv.groups;
    const biasT = this.keep(tf.tensor1d(bias));
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
    if (conv.groups === 1) {
      const filter = this.keep(tf.tensor4d(folded, [kh, kw, inPerGroup, out]));
      const op: ConvOp = (x) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter,
          strides: conv.stride,
          pad: padArg,
          dataFormat: 'NHWC',
          dilations: conv.dilation,
          bias: biasT,
          activation,
        });
      if (!relu) {
        const attrs = {
          strides: conv.stride,
          pad: padArg,
          dataFormat: 'NHWC',
          dilations: conv.dilation,
          activation: 'relu',
        };
        op.withResidual = (x, r) =>
          tf.getKernel(FUSED_CONV_RESIDUAL_KERNEL, tf.getBackend())
            ? (tf
                .engine()
                .runKernel(
                  FUSED_CONV_RESIDUAL_KERNEL,
                  { x, filter, bias: biasT, residual: r },
                  attrs as unknown as tf.NamedAttrMap,
                ) as tf.Tensor)
            : tf.relu(tf.add(op(x), r));
      }
      return op;
    }
    if (conv.groups === conv.inChannels) {
      const depthwise = this.keep(tf.tensor4d(folded, [kh, kw, conv.inChannels, out / conv.inChannels]));
      return (x) =>
        tf.fused.depthwiseConv2d({
          x: x as tf.Tensor4D,
          filter: depthwise,
          strides: conv.stride,
          pad: padArg as never,
          dataFormat: 'NHWC',
          dilations: conv.dilation,
          bias: biasT,
          activation,
        });
    }
    // Grouped (ResNeXt): tfjs has no grouped kernel; one fused convolution per group.
    const whole = tf.tensor4d(folded, [kh, kw, inPerGroup, out]);
    const filters = tf.split(whole, conv.groups, 3).map((f) => this.keep(f as tf.Tensor4D));
    whole.dispose();
    const biases = tf.split(biasT, conv.groups, 0).map((t) => this.keep(t as tf.Tensor1D));
    return (x) => {
      const xs = tf.split(x as tf.Tensor4D, conv.groups, 3) as tf.Tensor4D[];
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
    };
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
