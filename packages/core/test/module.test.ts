import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ArgumentError,
  buildMeta,
  buildUninitialized,
  exportStateDict,
  loadStateDict,
  ResNet,
  ResNetError,
  SymbolicTensor,
  withModuleHooks,
} from '../src/index.js';

const config = { block: 'basic' as const, depths: [2, 2, 2, 2], widths: [64, 128, 256, 512] };

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('the module system', () => {
  it('names parameters and buffers as torch does, parameters then buffers per module', () => {
    const model = buildMeta(() => new ResNet(config));
    const names = model.namedSlots().map(([n]) => n);
    expect(names.slice(0, 6)).toEqual([
      'conv1.weight',
      'bn1.weight',
      'bn1.bias',
      'bn1.running_mean',
      'bn1.running_var',
      'bn1.num_batches_tracked',
    ]);
    expect(names).toContain('layer2.0.downsample.1.running_var');
    expect(names.slice(-2)).toEqual(['fc.weight', 'fc.bias']);
    expect(model.namedBuffers).toBeDefined();
  });

  it('counts trainable and frozen parameters, and buffers separately', () => {
    const model = new ResNet({ ...config, depths: [1, 1, 1, 1], seed: 1 });
    const total = model.countParameters();
    model.setTrainable(false, 'layer1');
    const frozen = model
      .namedParameterSlots()
      .filter(([n]) => n.startsWith('layer1.'))
      .reduce((s, [, p]) => s + p.shape.reduce((a, b) => a * b, 1), 0);
    expect(model.countParameters({ trainable: false })).toBe(frozen);
    expect(model.countParameters({ trainable: true })).toBe(total - frozen);
    expect(model.namedParameters().find(([n]) => n === 'layer1.0.conv1.weight')?.[1].trainable).toBe(false);
    expect(() => model.setTrainable(false, 'layer9')).toThrow(ArgumentError);
    model.dispose();
  });

  it('switches train and eval mode on every descendant (models start in eval mode)', () => {
    const model = buildMeta(() => new ResNet(config));
    expect(model.namedModules().every(([, m]) => !m.training)).toBe(true);
    model.train();
    expect(model.namedModules().every(([, m]) => m.training)).toBe(true);
    model.eval();
    expect(model.namedModules().some(([, m]) => m.training)).toBe(false);
  });

  it('reports every module call to hooks, in execution order, one call per use', () => {
    const model = buildMeta(() => new ResNet({ ...config, depths: [1, 1, 1, 1] }));
    const paths = new Map(model.namedModules().map(([p, m]) => [m, p]));
    const calls: string[] = [];
    withModuleHooks({ before: (m) => calls.push(paths.get(m) ?? '?') }, () =>
      model.call(new SymbolicTensor([1, 64, 64, 3])),
    );
    // BasicBlock: conv1, bn1, relu, conv2, bn2, (downsample), relu: the shared ReLU is called twice.
    expect(calls.slice(0, 12)).toEqual([
      '',
      'conv1',
      'bn1',
      'relu',
      'maxpool',
      'layer1',
      'layer1.0',
      'layer1.0.conv1',
      'layer1.0.bn1',
      'layer1.0.relu',
      'layer1.0.conv2',
      'layer1.0.bn2',
    ]);
    expect(calls.filter((c) => c === 'layer2.0.relu')).toHaveLength(2);
    expect(calls.indexOf('layer2.0.downsample')).toBeLessThan(calls.lastIndexOf('layer2.0.relu'));
  });

  it('a meta model infers shapes but refuses real tensors with a clear message', () => {
    const model = buildMeta(() => new ResNet(config));
    expect(model.inferShape([2, 97, 131, 3])).toEqual([2, 1000]);
    const x = tf.zeros([1, 32, 32, 3]);
    expect(() => model.predict(x)).toThrow(/buildMeta/);
    x.dispose();
  });
});

describe('building for a load', () => {
  it('buildUninitialized allocates zeros in place of the initialisation; a strict load makes it the model', () => {
    const small = { ...config, depths: [1, 1, 1, 1], numClasses: 10 };
    const source = new ResNet({ ...small, seed: 3 });
    const target = buildUninitialized(() => new ResNet(small));
    expect(target.namedSlots().map(([n, s]) => [n, s.shape, s.dtype])).toEqual(
      source.namedSlots().map(([n, s]) => [n, s.shape, s.dtype]),
    );
    for (const [name, slot] of target.namedSlots()) {
      expect(
        tf.tidy(() => tf.max(tf.abs(slot.variable)).dataSync()[0]),
        name,
      ).toBe(0);
    }
    loadStateDict(target, exportStateDict(source));
    const x = tf.randomNormal([2, 64, 64, 3], 0, 1, 'float32', 7);
    const [a, b] = [source.predict(x), target.predict(x)];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    // The pooled features are the head's input: fc(predictPooled(x)) is predict(x).
    const pooled = target.predictPooled(x);
    expect(pooled.shape).toEqual([2, 512]);
    const fc = new Map(target.namedParameters());
    const logits = tf.tidy(() =>
      tf.add(tf.matMul(pooled, fc.get('fc.weight') as tf.Tensor), fc.get('fc.bias') as tf.Tensor),
    );
    expect(Math.max(...Array.from(tf.tidy(() => tf.abs(tf.sub(logits, a))).dataSync()))).toBeLessThan(1e-5);
    tf.dispose([x, a, b, pooled, logits]);
    source.dispose();
    target.dispose();
    const features = new ResNet({ ...small, featuresOnly: true });
    expect(() => features.predictPooled(tf.zeros([1, 64, 64, 3]))).toThrow(
      /featuresOnly and has no pooling; use extractFeatures/,
    );
    features.dispose();
  });
});

describe('tensor hygiene', () => {
  it('leaves tf.memory().numTensors unchanged over 100 forward passes and at zero after dispose()', () => {
    const baseline = tf.memory().numTensors;
    const model = new ResNet({ ...config, seed: 3 });
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 1);
    const afterBuild = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) model.predict(x).dispose();
    expect(tf.memory().numTensors).toBe(afterBuild);
    model.train();
    for (let i = 0; i < 3; i++) model.predict(x).dispose(); // running-stat updates allocate nothing that stays
    expect(tf.memory().numTensors).toBe(afterBuild);
    model.extractFeatures(x).forEach((t) => {
      t.dispose();
    });
    expect(tf.memory().numTensors).toBe(afterBuild);
    x.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
    expect(() => model.predict(tf.zeros([1, 32, 32, 3]))).toThrow(/disposed/);
  });

  it('zero-initialising the residual branches leaks nothing (every block kind)', () => {
    const baseline = tf.memory().numTensors;
    for (const block of ['basic', 'bottleneck', 'keras'] as const) {
      new ResNet({ ...config, block, zeroInitResidual: true, seed: 5 }).dispose();
    }
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('a failed forward (bad input) leaks nothing', () => {
    const model = new ResNet({ ...config, seed: 4 });
    const before = tf.memory().numTensors;
    const bad = tf.zeros([1, 3, 32, 32]);
    expect(() => model.predict(bad)).toThrow(/NCHW: transpose it/);
    bad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('input checks', () => {
  const model = buildMeta(() => new ResNet(config));
  it.each([
    [[1, 224, 224], /rank-4 NHWC shape/],
    [[1, 0, 224, 3], /positive sizes/],
    [[1, 224, 224, 1], /3 channels on the last axis/],
  ])('refuses %j', (shape, message) => {
    expect(() => model.inferShape(shape)).toThrow(message);
  });

  it('names the minimum size when an input is too small', () => {
    const valid = buildMeta(
      () =>
        new ResNet({ block: 'bottleneck', depths: [1], widths: [8], stem: 'cifar', strideOn: '1x1', numClasses: 2 }),
    );
    expect(valid.minInputSize()).toBe(1);
    const plain = buildMeta(() => new ResNet({ ...config, name: 'resnet18' })).train();
    // Train mode needs more than one value per channel in layer4's BatchNorm (torch raises too).
    expect(plain.minInputSize(1)).toBe(33);
    expect(() => plain.inferShape([1, 32, 32, 3])).toThrow(ResNetError);
    expect(() => plain.inferShape([1, 32, 32, 3])).toThrow(
      'resnet18 needs inputs of at least 33×33 pixels in train mode with batch 1; got 1×3×32×32 (NCHW), [1, 32, 32, 3] (NHWC). Resize or pad the image',
    );
    expect(plain.minInputSize(2)).toBe(1);
  });
});

describe('refused blocks leak nothing', () => {
  it('a block whose options are refused allocates no tensor', async () => {
    const { BasicBlock, BottleneckBlock, IdentityBlock } = await import('../src/index.js');
    const before = tf.memory().numTensors;
    expect(() => new BasicBlock(64, 128, { stride: 2 })).toThrow(/shortcut/);
    expect(() => new BottleneckBlock(64, 64, 256)).toThrow(/shortcut/);
    expect(() => new IdentityBlock(128, [64, 64, 256], 3)).toThrow(/F3/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
