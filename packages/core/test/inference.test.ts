import { compare } from '../../../tools/test-support/fixtures.js';
import { randomNormStatistics } from '../../../tools/test-support/norms.js';
import { CONV2D_RESIDUAL, initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BasicBlock,
  BatchNorm2d,
  buildMeta,
  Conv2d,
  FUSED_CONV_RESIDUAL_KERNEL,
  type ForwardStep,
  forwardSteps,
  fuseConvolutions,
  type HostTensor,
  KerasResNet50,
  Linear,
  type Flow,
  loadStateDict,
  Module,
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
  loadStateDict(model, randomNormStatistics(model, seed) as Map<string, HostTensor>, { strict: false });
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

  it('with { disposeSource: true } frees the model while compiling: same outputs, one copy of the weights', () => {
    const model = new ResNet(small({ block: 'bottleneck', widths: [8, 16] }));
    randomiseNorms(model, 13);
    const expected = model.predict(x);
    const reference = optimizeForInference(model);
    const before = tf.memory();
    const fast = optimizeForInference(model, { disposeSource: true });
    expect(model.disposed).toBe(true);
    // Only the folded weights remain: the model's tensors are gone, the reference's unchanged.
    const kept = tf.memory();
    expect(kept.numTensors).toBe(
      before.numTensors - model.namedSlots().length + reference.stats.fusedConvolutions * 2 + 2,
    );
    expect(kept.numBytes).toBeLessThan(before.numBytes);
    const y = fast.predict(x);
    expect(compare(y.dataSync(), expected.dataSync()).relative).toBeLessThan(TOLERANCE);
    expect(fast.stats).toEqual(reference.stats);
    tf.dispose([y, expected]);
    fast.dispose();
    reference.dispose();
    expect(() => model.predict(x)).toThrow(/was disposed/);
  });

  it('refuses a model it cannot compile before freeing anything, even with { disposeSource: true }', () => {
    class Custom extends Module {
      readonly typeName = 'Custom';
      readonly conv = this.registerModule('conv', new Conv2d(3, 4, { kernelSize: 3 }));
      forward(input: Flow): Flow {
        return this.conv.call(input);
      }
    }
    const custom = new Custom();
    const conv = custom.conv;
    const wrapped = new Sequential([custom]);
    expect(() => optimizeForInference(wrapped, { disposeSource: true })).toThrow(
      /got "a Custom with its own weights, whose forward pass/,
    );
    expect(wrapped.disposed).toBe(false);
    expect(conv.weight.isDisposed).toBe(false);
    expect(() => optimizeForInference(wrapped, { disposeSource: 'yes' } as never)).toThrow(
      /options.disposeSource: expected true or false/,
    );
    expect(() => optimizeForInference(wrapped, { dispose: true } as never)).toThrow(/options.dispose: expected one of/);
    wrapped.dispose();
  });

  it('frees each activation once the next layer has used it (peak far below the plain forward pass)', async () => {
    const model = new ResNet(small({ block: 'bottleneck', depths: [2, 2], widths: [8, 16] }));
    const fast = optimizeForInference(model);
    const input = tf.randomNormal([4, 64, 64, 3], 0, 1, 'float32', 5);
    const base = tf.memory().numBytes;
    // tf.profile returns the same record object each time: read it before profiling again.
    const plain = await tf.profile(() => model.predict(input));
    const [plainPeak, plainOut] = [plain.peakBytes - base, plain.result as tf.Tensor];
    const folded = await tf.profile(() => fast.predict(input));
    const [foldedPeak, foldedOut] = [folded.peakBytes - base, folded.result as tf.Tensor];
    // The largest feature maps (4×32×32×8 after the stem, 4×16×16×32 out of the first stage, in bytes):
    // a bottleneck holds at most its input, the two branch outputs and their sum at once.
    const largest = 4 * 32 * 32 * 8 * 4;
    expect(foldedPeak).toBeLessThanOrEqual(5 * largest);
    expect(foldedPeak).toBeLessThan(plainPeak / 2);
    tf.dispose([plainOut, foldedOut, input]);
    fast.dispose();
    model.dispose();
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

describe('forwardSteps', () => {
  it("reads resnet18 as torchvision's forward: every module with weights called once, by its state_dict path", () => {
    const model = buildMeta(() => new ResNet(BasicBlock, [2, 2, 2, 2], 3, 1000));
    const calls: string[] = [];
    const walk = (steps: readonly ForwardStep[]): void => {
      for (const s of steps) {
        if (s.kind === 'layer' || s.kind === 'flatten') calls.push(s.path);
        else if (s.kind === 'sequence') walk(s.steps);
        else if (s.kind === 'residual') {
          walk(s.branch);
          if (s.shortcut) walk(s.shortcut);
          calls.push(s.relu.path);
        }
      }
    };
    const steps = forwardSteps(model);
    walk(steps);
    const withWeights = model
      .namedModules()
      .filter(([, m]) => m.ownSlots().length > 0)
      .map(([path]) => path);
    expect(withWeights).toHaveLength(20 + 20 + 1);
    for (const path of withWeights)
      expect(
        calls.filter((c) => c === path),
        path,
      ).toHaveLength(1);
    expect(calls.slice(0, 4)).toEqual(['conv1', 'bn1', 'relu', 'maxpool']);
    expect(calls.slice(-3)).toEqual(['avgpool', 'flatten', 'fc']);
    // Each block calls its ReLU twice: after bn1 and after the residual sum.
    expect(calls.filter((c) => c === 'layer1.0.relu')).toHaveLength(2);

    const fused = fuseConvolutions(steps);
    const convs: Extract<ForwardStep, { kind: 'conv' }>[] = [];
    const collect = (list: readonly ForwardStep[]): void => {
      for (const s of list) {
        if (s.kind === 'conv') convs.push(s);
        else if (s.kind === 'sequence') collect(s.steps);
        else if (s.kind === 'residual') {
          collect(s.branch);
          if (s.shortcut) collect(s.shortcut);
        }
      }
    };
    collect(fused);
    expect(convs).toHaveLength(20);
    expect(convs.every((c) => c.bn !== null)).toBe(true);
    expect(convs.filter((c) => c.relu !== null).map((c) => c.path)).toEqual([
      'conv1',
      ...['layer1', 'layer2', 'layer3', 'layer4'].flatMap((l) => [`${l}.0.conv1`, `${l}.1.conv1`]),
    ]);
  });
});
