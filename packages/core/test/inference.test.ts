import { compare } from '../../../tools/test-support/fixtures.js';
import { CONV2D_RESIDUAL, initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BasicBlock,
  BatchNorm2d,
  buildMeta,
  Conv2d,
  FUSED_CONV_RESIDUAL_KERNEL,
  KerasResNet50,
  Linear,
  type Module,
  optimizeForInference,
  ReLU,
  ResNet,
  type ResNetConfig,
  Sequential,
} from '../src/index.js';

// The inference form must compute what the model computes in eval mode. Models here get random
// BatchNorm statistics and affine parameters (fresh ones are the identity, which would hide a
// wrong fold). Agreement within 1e-4 of the output's magnitude; torchvision parity of the
// optimised presets is tested in @resnet/zoo (test/inference.test.ts).
const TOLERANCE = 1e-4;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

function randomiseNorms(model: Module, seed: number): void {
  let s = seed;
  tf.tidy(() => {
    for (const [, m] of model.namedModules()) {
      if (!(m instanceof BatchNorm2d)) continue;
      const c = [m.numFeatures];
      m.weight.assign(tf.randomUniform(c, 0.5, 1.5, 'float32', s++));
      m.bias.assign(tf.randomUniform(c, -0.2, 0.2, 'float32', s++));
      m.runningMean.assign(tf.randomUniform(c, -0.3, 0.3, 'float32', s++));
      m.runningVar.assign(tf.randomUniform(c, 0.3, 2, 'float32', s++));
    }
  });
}

function agree(model: ResNet | Module, input: tf.Tensor): { relative: number; stats: object } {
  const fast = optimizeForInference(model);
  const before = tf.memory().numTensors;
  const expected = model instanceof ResNet ? model.predict(input) : tf.tidy(() => model.call(input) as tf.Tensor);
  const actual = fast.predict(input);
  expect(actual.shape).toEqual(expected.shape);
  const { relative } = compare(actual.dataSync(), expected.dataSync());
  tf.dispose([expected, actual]);
  expect(tf.memory().numTensors).toBe(before);
  const stats = { ...fast.stats };
  fast.dispose();
  return { relative, stats };
}

const small = (over: Partial<ResNetConfig>): ResNetConfig => ({
  name: 'small',
  block: 'basic',
  depths: [1, 1],
  widths: [8, 16],
  numClasses: 10,
  seed: 1,
  ...over,
});

describe('optimizeForInference', () => {
  let x: tf.Tensor;
  beforeAll(() => {
    x = tf.randomNormal([2, 33, 41, 3], 0, 1, 'float32', 7);
  });
  afterAll(() => x.dispose());

  it.each([
    ['basic blocks, projection shortcuts', small({})],
    ['bottleneck blocks, stride on the 3×3', small({ block: 'bottleneck', widths: [8, 16] })],
    ['grouped bottlenecks (ResNeXt)', small({ block: 'bottleneck', widths: [16, 32], groups: 4, widthPerGroup: 8 })],
    ['zero-padding shortcuts, CIFAR stem', small({ stem: 'cifar', shortcut: 'zero-pad' })],
    ['plain network (no shortcut)', small({ shortcut: 'none' })],
    ['convolutions with bias, max pooling head, softmax', small({ convBias: true, pool: 'max', output: 'softmax' })],
    ['features only', small({ featuresOnly: true })],
  ])('matches the model in eval mode: %s', (_, config) => {
    const model = new ResNet(config);
    randomiseNorms(model, 11);
    const { relative, stats } = agree(model, x);
    expect(relative).toBeLessThan(TOLERANCE);
    const norms = model.namedModules().filter(([, m]) => m instanceof BatchNorm2d).length;
    expect(stats).toMatchObject({ foldedBatchNorms: norms });
    model.dispose();
  });

  it('folds the Keras layout: ZeroPad2d merged into the stem convolution, biases kept, IdentityBlock/ConvolutionalBlock', () => {
    const model = new KerasResNet50(3);
    randomiseNorms(model, 5);
    const input = tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 3);
    const { relative, stats } = agree(model, input);
    expect(relative).toBeLessThan(TOLERANCE);
    expect(stats).toEqual({ foldedBatchNorms: 53, fusedConvolutions: 53, fusedActivations: 33, mergedPads: 1 });
    input.dispose();
    model.dispose();
  });

  it('fuses every convolution of a torchvision-style ResNet-18 and applies ReLU in the kernel where one follows', () => {
    const model = new ResNet(BasicBlock, [2, 2, 2, 2], 3, 10);
    randomiseNorms(model, 2);
    const { relative, stats } = agree(model, tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 4));
    expect(relative).toBeLessThan(TOLERANCE);
    // 20 convolutions, 20 BatchNorms; stem + first conv of each of the 8 blocks end in ReLU.
    expect(stats).toEqual({ foldedBatchNorms: 20, fusedConvolutions: 20, fusedActivations: 9, mergedPads: 0 });
    model.dispose();
  });

  it('ends each residual block in one kernel (conv + bias + shortcut + ReLU) where the backend has it, as on WASM', async () => {
    expect(FUSED_CONV_RESIDUAL_KERNEL).toBe(CONV2D_RESIDUAL);
    const model = new ResNet(BasicBlock, [2, 2, 2, 2], 3, 10);
    randomiseNorms(model, 3);
    const input = tf.randomNormal([2, 40, 40, 3], 0, 1, 'float32', 5);
    const { relative } = agree(model, input);
    expect(relative).toBeLessThan(TOLERANCE);
    const fast = optimizeForInference(model);
    const kernels = (await tf.profile(() => fast.predict(input).dispose())).kernels.map((k) => k.name);
    // 8 blocks: each ends in the residual kernel; no Add is left (the shortcut is added in it).
    expect(kernels.filter((k) => k === FUSED_CONV_RESIDUAL_KERNEL)).toHaveLength(8);
    expect(kernels.filter((k) => k === 'Add')).toHaveLength(0);
    fast.dispose();
    input.dispose();
    model.dispose();
  });

  it('computes eval-mode outputs for a model in train mode, and leaves the model unchanged', () => {
    const model = new ResNet(small({}));
    randomiseNorms(model, 3);
    const fast = optimizeForInference(model.train());
    expect(model.training).toBe(true);
    const y = fast.predict(x);
    const expected = model.eval().predict(x);
    expect(compare(y.dataSync(), expected.dataSync()).relative).toBeLessThan(TOLERANCE);
    tf.dispose([y, expected]);
    fast.dispose();
    model.dispose();
  });

  it('owns its weights: runs after the model is disposed, frees them on dispose', () => {
    const model = new ResNet(small({}));
    const expected = model.predict(x);
    const before = tf.memory().numTensors;
    const fast = optimizeForInference(model);
    const owned = tf.memory().numTensors - before;
    expect(owned).toBeGreaterThan(0);
    model.dispose();
    const y = fast.predict(x);
    expect(compare(y.dataSync(), expected.dataSync()).relative).toBeLessThan(TOLERANCE);
    tf.dispose([y, expected]);
    fast.dispose();
    expect(tf.memory().numTensors).toBe(before - 1 - model.namedSlots().length);
    expect(() => fast.predict(x)).toThrow(/was disposed; optimize the model again/);
  });

  it('optimizes a Sequential of layers (conv → BN → ReLU fused, lone BN as scale and shift, Linear)', () => {
    const seq = new Sequential([
      new Conv2d(3, 4, { kernelSize: 3, padding: 1 }),
      new BatchNorm2d(4),
      new ReLU(),
      new BatchNorm2d(4),
    ]);
    randomiseNorms(seq, 9);
    const { relative, stats } = agree(seq, x);
    expect(relative).toBeLessThan(TOLERANCE);
    expect(stats).toEqual({ foldedBatchNorms: 2, fusedConvolutions: 1, fusedActivations: 1, mergedPads: 0 });
    const fc = new Linear(6, 3);
    const v = tf.randomNormal([2, 6]);
    expect(agree(fc, v).relative).toBeLessThan(TOLERANCE);
    tf.dispose([v]);
    seq.dispose();
    fc.dispose();
  });

  it('checks its inputs as the model does, and refuses what it cannot compile', () => {
    const model = new ResNet(small({}));
    const fast = optimizeForInference(model);
    const nchw = tf.zeros([1, 3, 40, 40]);
    expect(() => fast.predict(nchw)).toThrow(
      /input: expected a rank-4 tensor with 3 channels on the last axis \(NHWC\).*looks like NCHW/,
    );
    const ints = tf.zeros([1, 40, 40, 3], 'int32');
    expect(() => fast.predict(ints)).toThrow(/input: expected a float32 tensor; got "dtype int32"/);
    expect(() => fast.predict([1, 2] as never)).toThrow(/input: expected a tf.Tensor/);
    tf.dispose([nchw, ints]);
    fast.dispose();
    expect(() => optimizeForInference({} as never)).toThrow(/model: expected a @resnet\/core Module/);
    expect(() => optimizeForInference(buildMeta(() => new ResNet(small({}))))).toThrow(/meta model/);
    model.dispose();
    expect(() => optimizeForInference(model)).toThrow(/model: expected a live model/);
  });
});
