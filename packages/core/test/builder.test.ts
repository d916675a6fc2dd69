import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { readReference } from '../../../tools/test-support/fixtures.js';
import {
  ArgumentError,
  BasicBlock,
  BottleneckBlock,
  buildMeta,
  ConvolutionalBlock,
  IdentityBlock,
  KerasResNet50,
  manualSeed,
  ResNet,
  ResNet50,
  ResNet101,
  ResNet152,
  ResnetBase,
  ShortcutProjection,
  SymbolicTensor,
  ZeroPadShortcut,
} from '../src/index.js';

type TorchvisionParams = { models: Record<string, { total_params: number; bn_running_stat_elements: number }> };
const torchvision = readReference<TorchvisionParams>('torchvision_params.json').models;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('the fourth seed: ResNet(block, layers, imageChannels, numClasses)', () => {
  it('ResNet50/101/152 have torchvision’s parameter counts', () => {
    const counts = buildMeta(() => [ResNet50(), ResNet101(), ResNet152()].map((m) => m.countParameters()));
    expect(counts).toEqual([
      torchvision.resnet50?.total_params,
      torchvision.resnet101?.total_params,
      torchvision.resnet152?.total_params,
    ]);
  });

  it('maps a 4×224×224×3 batch to [4, 1000], as the article’s shape test (4×3×224×224 → 4×1000)', () => {
    const model = ResNet50();
    const x = tf.zeros([4, 224, 224, 3]);
    const y = model.predict(x);
    expect(y.shape).toEqual([4, 1000]);
    tf.dispose([x, y]);
    model.dispose();
    for (const m of buildMeta(() => [ResNet101(), ResNet152()]))
      expect(m.inferShape([4, 224, 224, 3])).toEqual([4, 1000]);
  });

  it('accepts the block class form with other channels and classes', () => {
    const model = buildMeta(() => new ResNet(BasicBlock, [2, 2, 2, 2], 1, 10));
    expect(model.inferShape([2, 28, 28, 1])).toEqual([2, 10]);
    expect(() => new ResNet(ShortcutProjection as never, [1])).toThrow(ArgumentError);
  });
});

describe('the first seed: identity and convolutional blocks, Keras ResNet-50', () => {
  it('KerasResNet50 maps 1×64×64×3 to softmax probabilities over 1000 classes', () => {
    const model = new KerasResNet50(1000);
    const y = model.predict(tf.randomNormal([1, 64, 64, 3], 0, 1, 'float32', 3));
    expect(y.shape).toEqual([1, 1000]);
    expect(tf.sum(y).dataSync()[0]).toBeCloseTo(1, 4);
    y.dispose();
    // Keras ResNet50 v1: torchvision's count plus one bias per conv output channel (BN channels).
    const rn50 = torchvision.resnet50 as { total_params: number; bn_running_stat_elements: number };
    expect(model.countParameters()).toBe(rn50.total_params + rn50.bn_running_stat_elements / 2);
    expect(model.countBuffers() - 53).toBe(rn50.bn_running_stat_elements);
    model.dispose();
  });

  it('an identity block keeps the shape; a convolutional block strides on its first 1×1 and projects', () => {
    const id = buildMeta(() => new IdentityBlock(256, [64, 64, 256], 3));
    expect(id.call(new SymbolicTensor([1, 16, 16, 256])).shape).toEqual([1, 16, 16, 256]);
    const conv = buildMeta(() => new ConvolutionalBlock(256, [128, 128, 512], 3, 2));
    expect(conv.call(new SymbolicTensor([1, 16, 16, 256])).shape).toEqual([1, 8, 8, 512]);
    expect(conv.conv1.stride).toEqual([2, 2]);
    expect(conv.conv2.stride).toEqual([1, 1]);
    expect(conv.namedSlots().map(([n]) => n)).toContain('shortcut_conv.weight');
    expect(() => new IdentityBlock(128, [64, 64, 256], 3)).toThrow(/F3 equal to inChannels/);
  });
});

describe('the third seed: ResnetBase', () => {
  it('pools to [batch, last channels] and downsamples at the first block of each later stage', () => {
    const model = buildMeta(() => new ResnetBase([2, 2, 2], [16, 32, 64], null, 3, 3));
    expect(model.inferShape([2, 32, 32, 3])).toEqual([2, 64]);
    const shapes: number[][] = [];
    const features = model.forwardFeatures(new SymbolicTensor([1, 32, 32, 3]));
    for (const f of features) shapes.push([...f.shape]);
    // stem stride 2 → 16; stage 1 keeps 16; stages 2 and 3 halve.
    expect(shapes).toEqual([
      [1, 16, 16, 16],
      [1, 8, 8, 32],
      [1, 4, 4, 64],
    ]);
  });

  it('uses bottleneck blocks of the given widths, with biased convolutions', () => {
    const model = buildMeta(() => new ResnetBase([1, 1], [64, 128], [16, 32]));
    const names = model.namedSlots().map(([n]) => n);
    expect(names).toContain('layer1.0.conv2.bias');
    expect(names).toContain('layer2.0.downsample.0.bias');
    expect(model.inferShape([1, 64, 64, 3])).toEqual([1, 128]);
  });
});

describe('blocks', () => {
  it('BottleneckBlock strides on the 3×3 (v1.5) or on the first 1×1 (v1)', () => {
    const make = (strideOn: '3x3' | '1x1') =>
      buildMeta(
        () =>
          new BottleneckBlock(64, 64, 256, {
            stride: 2,
            strideOn,
            shortcut: new ShortcutProjection(64, 256, { stride: 2 }),
          }),
      );
    expect(make('3x3').conv2.stride).toEqual([2, 2]);
    expect(make('3x3').conv1.stride).toEqual([1, 1]);
    expect(make('1x1').conv1.stride).toEqual([2, 2]);
    expect(make('1x1').call(new SymbolicTensor([1, 9, 9, 64])).shape).toEqual([1, 5, 5, 256]);
  });

  it('refuses a shape-changing block without a shortcut', () => {
    expect(() => new BasicBlock(64, 128, { stride: 2 })).toThrow(/shortcut/);
  });

  it('the option-A shortcut subsamples every second pixel and pads the new channels with zeros', () => {
    const shortcut = new ZeroPadShortcut(2, 4, 2);
    const x = tf.tensor4d(
      Array.from({ length: 3 * 3 * 2 }, (_, i) => i + 1),
      [1, 3, 3, 2],
    );
    const y = shortcut.call(x);
    expect(y.shape).toEqual([1, 2, 2, 4]);
    // pixel (0,0) holds channels [1, 2] → [0, 1, 2, 0]; pixel (0,2) holds [5, 6].
    expect(Array.from(y.dataSync()).slice(0, 8)).toEqual([0, 1, 2, 0, 0, 5, 6, 0]);
    tf.dispose([x, y]);
  });

  it('the option-A shortcut at even sizes (the reshape path) equals x[:, ::2, ::2] with zero channels, and so does its gradient', () => {
    const [n, h, w, c] = [2, 4, 6, 3];
    const shortcut = new ZeroPadShortcut(3, 7, 2);
    const x = tf.tensor4d(
      Array.from({ length: n * h * w * c }, (_, i) => i + 1),
      [n, h, w, c],
    );
    const expected: number[] = [];
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h; y += 2)
        for (let xx = 0; xx < w; xx += 2) {
          expected.push(0, 0); // padBefore = floor((7 − 3) / 2)
          for (let k = 0; k < c; k++) expected.push(((b * h + y) * w + xx) * c + k + 1);
          expected.push(0, 0);
        }
    const y = shortcut.call(x);
    expect(y.shape).toEqual([n, 2, 3, 7]);
    expect(Array.from(y.dataSync())).toEqual(expected);
    // d/dx Σ y: 1 where a pixel was kept, 0 elsewhere.
    const g = tf.grad((t: tf.Tensor) => tf.sum(shortcut.call(t)))(x);
    const ones = Array.from({ length: n * h * w * c }, (_, i) => {
      const p = Math.floor(i / c);
      return (Math.floor(p / w) % h) % 2 === 0 && (p % w) % 2 === 0 ? 1 : 0;
    });
    expect(Array.from(g.dataSync())).toEqual(ones);
    tf.dispose([x, y, g]);
  });

  it('zeroInitResidual sets the last BatchNorm γ of every block to zero', () => {
    const model = new ResNet({
      block: 'basic',
      depths: [1, 1],
      widths: [8, 16],
      stem: 'cifar',
      numClasses: 2,
      zeroInitResidual: true,
    });
    const gammas = model.namedParameters().filter(([n]) => /layer\d\.\d\.bn2\.weight$/.test(n));
    expect(gammas).toHaveLength(2);
    for (const [, g] of gammas) expect(tf.max(tf.abs(g)).dataSync()[0]).toBe(0);
    model.dispose();
  });
});

describe('the generic builder', () => {
  it('is reproducible from a seed, and different seeds give different weights', () => {
    const config = { block: 'basic' as const, depths: [1], widths: [4], stem: 'cifar' as const, numClasses: 3 };
    const values = (seed: number) => {
      const m = new ResNet({ ...config, seed });
      const w = Array.from(m.namedParameters()[0]?.[1].dataSync() ?? []);
      m.dispose();
      return w;
    };
    expect(values(7)).toEqual(values(7));
    expect(values(7)).not.toEqual(values(8));
    manualSeed(7);
  });

  it('initialises convolutions with Kaiming normal (fan_out), BatchNorm with γ = 1 and β = 0', () => {
    const model = new ResNet({ block: 'basic', depths: [1], widths: [64], stem: 'cifar', numClasses: 10, seed: 1 });
    const w = model.namedParameters().find(([n]) => n === 'layer1.0.conv1.weight')?.[1] as tf.Variable;
    const { variance } = tf.moments(w);
    // torch: std = sqrt(2 / fan_out), fan_out = 64 × 3 × 3.
    expect(Math.sqrt(variance.dataSync()[0] as number)).toBeCloseTo(Math.sqrt(2 / (64 * 9)), 2);
    const bn = model.namedParameters().filter(([n]) => n.startsWith('layer1.0.bn1'));
    expect(Array.from(bn[0]?.[1].dataSync() ?? []).every((v) => v === 1)).toBe(true);
    expect(Array.from(bn[1]?.[1].dataSync() ?? []).every((v) => v === 0)).toBe(true);
    variance.dispose();
    model.dispose();
  });

  it('returns C2–C5 feature maps on request, like timm’s features_only', () => {
    const model = buildMeta(
      () =>
        new ResNet({
          block: 'bottleneck',
          depths: [3, 4, 6, 3],
          widths: [64, 128, 256, 512],
          featuresOnly: true,
          outIndices: [2, 4],
        }),
    );
    expect(model.namedSlots().some(([n]) => n.startsWith('fc'))).toBe(false);
    expect(model.forwardFeatures(new SymbolicTensor([1, 224, 224, 3])).map((f) => f.shape)).toEqual([
      [1, 28, 28, 512],
      [1, 7, 7, 2048],
    ]);
  });

  it('offers a max-pooled head, a softmax head and no head', () => {
    const base = { block: 'basic' as const, depths: [1], widths: [8], stem: 'cifar' as const };
    expect(buildMeta(() => new ResNet({ ...base, numClasses: 0 })).inferShape([2, 8, 8, 3])).toEqual([2, 8]);
    const max = buildMeta(() => new ResNet({ ...base, numClasses: 5, pool: 'max' }));
    expect(max.namedModules().some(([, m]) => m.typeName === 'AdaptiveMaxPool2d')).toBe(true);
    const soft = buildMeta(() => new ResNet({ ...base, numClasses: 5, output: 'softmax' }));
    expect(soft.namedModules().at(-1)?.[1].typeName).toBe('Softmax');
  });

  it('rejects bad configs with the field, the expectation and the value', () => {
    expect(() => new ResNet({ block: 'basic', depths: [2, 2], widths: [64] })).toThrow(
      /config\.widths: expected an array of 2 positive integers; got \[64\]/,
    );
    expect(() => new ResNet({ block: 'triple' as never, depths: [1], widths: [1] })).toThrow(
      /config\.block: expected one of/,
    );
    expect(() => new ResNet({ block: 'basic', depths: [1], widths: [8], numClass: 3 } as never)).toThrow(
      /config\.numClass/,
    );
    expect(() => new ResNet({ block: 'basic', depths: [1], widths: [8], groups: 32 })).toThrow(/groups 1/);
  });
});
