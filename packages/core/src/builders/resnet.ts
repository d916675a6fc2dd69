import * as tf from '@tensorflow/tfjs-core';
import { BasicBlock } from '../blocks/basic-block.js';
import { BottleneckBlock } from '../blocks/bottleneck-block.js';
import { ConvolutionalBlock, IdentityBlock } from '../blocks/keras-blocks.js';
import { ShortcutProjection } from '../blocks/shortcut-projection.js';
import { ZeroPadShortcut } from '../blocks/zero-pad-shortcut.js';
import { ArgumentError, ResNetError } from '../errors.js';
import { checkFloatInput } from '../input-tensor.js';
import { type Flow, flattenTorchOrder, SymbolicTensor } from '../flow.js';
import { ReLU, Softmax } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Linear } from '../layers/linear.js';
import { GlobalPool2d, MaxPool2d, ZeroPad2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import { isBuildingMeta, Module } from '../module.js';
import { manualSeed } from '../random.js';
import { positiveInt, positiveIntList } from '../validate.js';
import { type ResNetConfig, type ResolvedResNetConfig, resolveConfig } from './config.js';

// #region notebook:resnet-builder
/** A block class usable with the `(block, layers)` form, as torchvision's `ResNet(block, layers)`. */
export type BlockClass = typeof BasicBlock | typeof BottleneckBlock;

/** A residual block with a zero-init hook (all our block kinds). */
interface ResidualBlock extends Module {
  zeroInitLastNorm(): void;
}

/**
 * The generic ResNet: a stem, stages of residual blocks, global pooling and a linear head.
 * Every member of the family (torchvision's 18–152, wide and ResNeXt variants, the paper's
 * CIFAR nets, Keras' v1 and the seeds' models) is one `ResNetConfig`. Parameter names follow
 * torchvision (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`).
 *
 * Unlike a fresh torch module, a model starts in eval mode; call `train()` for batch statistics.
 */
export class ResNet extends Module {
  readonly typeName = 'ResNet';
  readonly config: ResolvedResNetConfig;
  /** Channels of each stage's output (C2…C5 for a four-stage net). */
  readonly stageChannels: readonly number[];
  private readonly stemModules: Module[] = [];
  private readonly stages: Sequential[] = [];
  private readonly pool: GlobalPool2d | null = null;
  private readonly fc: Linear | null = null;
  private readonly softmax: Softmax | null = null;
  private readonly minSizeCache = new Map<string, number>();

  /** Builds from a config (`new ResNet({ block: 'bottleneck', depths: [3, 4, 6, 3], ... })`). */
  constructor(config: ResNetConfig);
  /**
   * The `(block, layers, imageChannels, numClasses)` form of torchvision and the fourth seed:
   * `new ResNet(BottleneckBlock, [3, 4, 6, 3], 3, 1000)` is ResNet-50.
   */
  constructor(block: BlockClass, layers: number[], imageChannels?: number, numClasses?: number);
  constructor(configOrBlock: ResNetConfig | BlockClass, layers?: number[], imageChannels = 3, numClasses = 1000) {
    super();
    const config =
      typeof configOrBlock === 'function'
        ? blockFormConfig(configOrBlock, layers, imageChannels, numClasses)
        : configOrBlock;
    const c = resolveConfig(config);
    if (!isBuildingMeta()) ensureBackend();
    this.config = c;
    if (c.seed !== undefined) manualSeed(c.seed);

    this.buildStem(c);
    let channels = c.stemWidth;
    const stageChannels: number[] = [];
    c.depths.forEach((depth, i) => {
      const stage = this.buildStage(c, i, channels, depth);
      this.stages.push(this.registerModule(`layer${i + 1}`, stage));
      channels = (c.widths[i] as number) * c.expansion;
      stageChannels.push(channels);
    });
    this.stageChannels = stageChannels;

    if (!c.featuresOnly) {
      this.pool = this.registerModule(c.pool === 'avg' ? 'avgpool' : 'global_maxpool', new GlobalPool2d(c.pool));
      if (c.numClasses > 0) {
        this.fc = this.registerModule('fc', new Linear(channels, c.numClasses));
        if (c.output === 'softmax') this.softmax = this.registerModule('softmax', new Softmax());
      }
    }
    if (c.zeroInitResidual) {
      for (const stage of this.stages) for (const block of stage.modules) (block as ResidualBlock).zeroInitLastNorm();
    }
  }

  /** The model's name (from the config), used in messages. */
  get name(): string {
    return this.config.name;
  }

  /** Channels of the tensor the model returns (classes, or pooled features with no head). */
  get outputChannels(): number {
    return this.config.numClasses > 0 && !this.config.featuresOnly
      ? this.config.numClasses
      : (this.stageChannels[this.stageChannels.length - 1] as number);
  }

  private buildStem(c: ResolvedResNetConfig): void {
    const add = <M extends Module>(name: string, m: M): M => {
      this.stemModules.push(this.registerModule(name, m));
      return m;
    };
    const k = c.stemKernelSize;
    const bias = c.convBias;
    if (c.stem === 'keras') {
      add('pad', new ZeroPad2d(3));
      add('conv1', new Conv2d(c.inputChannels, c.stemWidth, { kernelSize: 7, stride: 2, padding: 0, bias }));
    } else if (c.stem === 'cifar') {
      add('conv1', new Conv2d(c.inputChannels, c.stemWidth, { kernelSize: 3, stride: 1, padding: 1, bias }));
    } else {
      add(
        'conv1',
        new Conv2d(c.inputChannels, c.stemWidth, { kernelSize: k, stride: 2, padding: Math.floor(k / 2), bias }),
      );
    }
    add('bn1', new BatchNorm2d(c.stemWidth));
    if (c.stem === 'conv-bn') return;
    add('relu', new ReLU());
    if (c.stem !== 'cifar') add('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
  }

  private buildStage(c: ResolvedResNetConfig, index: number, inChannels: number, depth: number): Sequential {
    const stride = c.stageStrides[index] as number;
    const outChannels = (c.widths[index] as number) * c.expansion;
    const width = c.bottleneckWidths[index] as number;
    const blocks: Module[] = [];
    for (let b = 0; b < depth; b++) {
      const blockIn = b === 0 ? inChannels : outChannels;
      const blockStride = b === 0 ? stride : 1;
      if (c.block === 'keras') {
        const filters: [number, number, number] = [width, width, outChannels];
        blocks.push(
          b === 0 ? new ConvolutionalBlock(blockIn, filters, 3, blockStride) : new IdentityBlock(blockIn, filters, 3),
        );
        continue;
      }
      const residual = c.shortcut !== 'none';
      const needsShortcut = residual && (blockStride !== 1 || blockIn !== outChannels);
      const shortcut = !needsShortcut
        ? null
        : c.shortcut === 'zero-pad'
          ? new ZeroPadShortcut(blockIn, outChannels, blockStride)
          : new ShortcutProjection(blockIn, outChannels, { stride: blockStride, bias: c.convBias });
      blocks.push(
        c.block === 'basic'
          ? new BasicBlock(blockIn, outChannels, { stride: blockStride, shortcut, residual, convBias: c.convBias })
          : new BottleneckBlock(blockIn, width, outChannels, {
              stride: blockStride,
              strideOn: c.strideOn,
              groups: c.groups,
              shortcut,
              residual,
              convBias: c.convBias,
            }),
      );
    }
    return new Sequential(blocks);
  }

  private runStem(x: Flow): Flow {
    return this.stemModules.reduce<Flow>((y, m) => m.call(y), x);
  }

  forward(x: Flow): Flow {
    if (!this.pool) return this.runStages(x);
    let y = this.forwardPooled(x);
    if (this.fc) y = this.fc.call(y);
    if (this.softmax) y = this.softmax.call(y);
    return y;
  }

  private runStages(x: Flow): Flow {
    let y = this.runStem(x);
    for (const stage of this.stages) y = stage.call(y);
    return y;
  }

  /** Stem, stages and global pooling: the `[n, C]` features the head classifies (timm's pre-logits). */
  forwardPooled(x: Flow): Flow {
    if (!this.pool) {
      throw new ResNetError(`${this.name} is built with featuresOnly and has no pooling; use extractFeatures`);
    }
    return flattenTorchOrder(this.pool.call(this.runStages(x)));
  }

  /** The outputs of the stages in `config.outIndices` (C2…C5 feature maps, NHWC). */
  forwardFeatures(x: Flow): Flow[] {
    const out: Flow[] = [];
    let y = this.runStem(x);
    this.stages.forEach((stage, i) => {
      y = stage.call(y);
      if (this.config.outIndices.includes(i + 1)) out.push(y);
    });
    return out;
  }

  /** Output shape for an NHWC input shape, computed without running a kernel. */
  inferShape(inputShape: readonly number[]): number[] {
    this.checkInputShape(inputShape);
    return [...this.call(new SymbolicTensor(inputShape)).shape];
  }

  /**
   * Runs the model on an NHWC float32 batch inside `tf.tidy`: only the returned tensor survives.
   * The input is checked first (rank, channels, size), with a message that says how to fix it.
   */
  predict(input: tf.Tensor): tf.Tensor {
    this.checkInputTensor(input);
    return tf.tidy(() => this.call(input) as tf.Tensor);
  }

  /** The pooled features `[n, C]` before the head (an image's embedding), inside `tf.tidy`. */
  predictPooled(input: tf.Tensor): tf.Tensor2D {
    this.checkInputTensor(input);
    return tf.tidy(() => this.forwardPooled(input) as tf.Tensor2D);
  }

  /** The feature maps of `config.outIndices`, inside `tf.tidy`. */
  extractFeatures(input: tf.Tensor): tf.Tensor[] {
    this.checkInputTensor(input);
    return tf.tidy(() => this.forwardFeatures(input) as tf.Tensor[]);
  }

  private checkInputTensor(input: tf.Tensor): void {
    checkFloatInput(input);
    this.checkInputShape(input.shape);
  }

  /** Throws an error that names the problem (and the minimum size) unless the model can take `shape`. */
  checkInputShape(shape: readonly number[]): void {
    if (this.disposed) throw new ResNetError(`${this.name} was disposed; build or load a new model to run it`);
    const channels = this.config.inputChannels;
    if (!Array.isArray(shape) || shape.length !== 4 || shape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new ArgumentError(
        'input',
        `a rank-4 NHWC shape [batch, height, width, ${channels}] of positive sizes`,
        shape,
      );
    }
    const [n, h, w, ch] = shape as [number, number, number, number];
    if (ch !== channels) {
      const hint = shape[1] === channels ? '; it looks like NCHW: transpose it with tf.transpose(x, [0, 2, 3, 1])' : '';
      throw new ArgumentError(
        'input',
        `${channels} channels on the last axis (NHWC) for ${this.name}`,
        `shape [${shape.join(', ')}]${hint}`,
      );
    }
    const min = this.minInputSize(n);
    if (h < min || w < min) {
      const mode = this.training ? ` in train mode with batch ${n}` : '';
      throw new ResNetError(
        `${this.name} needs inputs of at least ${min}×${min} pixels${mode}; got ${n}×${ch}×${h}×${w} (NCHW), ` +
          `[${shape.join(', ')}] (NHWC). Resize or pad the image`,
      );
    }
  }

  /** The smallest square input (pixels per side) that survives every layer, for a batch size. */
  minInputSize(batch = 1): number {
    positiveInt('batch', batch);
    const key = `${this.training}:${this.training ? batch : 1}`;
    const cached = this.minSizeCache.get(key);
    if (cached !== undefined) return cached;
    for (let size = 1; size <= 8192; size++) {
      try {
        this.call(new SymbolicTensor([batch, size, size, this.config.inputChannels]));
        this.minSizeCache.set(key, size);
        return size;
      } catch (e) {
        if (!(e instanceof ResNetError)) throw e;
      }
    }
    throw new ResNetError(`${this.name} accepts no input up to 8192×8192 pixels; check its config`);
  }
}

function blockFormConfig(
  block: BlockClass,
  layers: number[] | undefined,
  imageChannels: number,
  numClasses: number,
): ResNetConfig {
  if (block !== BasicBlock && block !== BottleneckBlock) {
    throw new ArgumentError('block', 'BasicBlock or BottleneckBlock', block);
  }
  const depths = positiveIntList('layers', layers);
  const isBasic = block === BasicBlock;
  return {
    name: `resnet(${isBasic ? 'BasicBlock' : 'BottleneckBlock'}, [${depths.join(', ')}])`,
    block: isBasic ? 'basic' : 'bottleneck',
    depths,
    widths: depths.map((_, i) => 64 * 2 ** i),
    inputChannels: positiveInt('imageChannels', imageChannels),
    numClasses: positiveInt('numClasses', numClasses),
  };
}

let backendChecked = false;

/** Fails with an actionable message when no tfjs backend is registered. */
function ensureBackend(): void {
  if (backendChecked) return;
  try {
    tf.getBackend();
    if (!tf.getBackend()) throw new Error('none');
  } catch {
    throw new ResNetError(
      'no TensorFlow.js backend is ready: call `await initBackend()` from @resnet/backends ' +
        "(or import '@tensorflow/tfjs-backend-cpu' / '-wasm' and await tf.ready()) before building a model",
    );
  }
  backendChecked = true;
}
// #endregion
