import { BATCH_NORM_TRAIN, BATCH_NORM_TRAIN_GRAD, initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare, fixturePath, nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import { runTorch } from '../../../tools/test-support/torch.js';
import {
  BatchNorm2d,
  Conv2d,
  Flatten,
  FUSED_BATCH_NORM_KERNELS,
  GlobalPool2d,
  type HostTensor,
  hostToTensor,
  Linear,
  loadStateDict,
  MaxPool2d,
  type Module,
  Sequential,
} from '../src/index.js';
import { readSafetensorsFile } from '../src/node.js';

// Single layers against torch 1.13 (tools/fixtures/generate.py, LAYER_CASES): same weights and
// inputs give the same outputs, NHWC here and NCHW there.
let cases: Map<string, HostTensor>;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  cases = readSafetensorsFile(fixturePath('layers.safetensors')).tensors;
});

function stateOf(prefix: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, t] of cases) {
    if (name.startsWith(`${prefix}.`) && !/\.(x|y)\d?$/.test(name) && !name.includes('.after')) {
      out.set(name.slice(prefix.length + 1), t);
    }
  }
  return out;
}

function toNhwc(t: HostTensor): tf.Tensor {
  return hostToTensor(t.shape.length === 4 ? (nchwToNhwc(t) as HostTensor) : t);
}

/** Runs `layer` on the case's input with the case's weights and compares with torch's output. */
function expectMatchesTorch(name: string, layer: Module, tolerance = 1e-5): void {
  loadStateDict(layer, stateOf(name));
  const x = toNhwc(cases.get(`${name}.x`) as HostTensor);
  const y = tf.tidy(() => layer.call(x) as tf.Tensor);
  const expected = cases.get(`${name}.y`) as HostTensor;
  const expectedNhwc = expected.shape.length === 4 ? nchwToNhwc(expected) : expected;
  expect(y.shape).toEqual(expectedNhwc.shape);
  const { relative } = compare(y.dataSync(), expectedNhwc.data);
  expect(relative).toBeLessThan(tolerance);
  x.dispose();
  y.dispose();
  layer.dispose();
}

describe('Conv2d matches torch.nn.Conv2d', () => {
  it('3×3, stride 1, padding 1, no bias', () =>
    expectMatchesTorch('conv_3x3', new Conv2d(3, 8, { kernelSize: 3, padding: 1, bias: false })));
  it('7×7, stride 2, padding 3 (symmetric, unlike tfjs "same")', () =>
    expectMatchesTorch('conv_7x7_s2', new Conv2d(3, 16, { kernelSize: 7, stride: 2, padding: 3, bias: false })));
  it('4 groups with bias', () =>
    expectMatchesTorch('conv_groups4_bias', new Conv2d(8, 12, { kernelSize: 3, padding: 1, groups: 4 })));
  it('depthwise with channel multiplier 2 and stride 2', () =>
    expectMatchesTorch('conv_depthwise_s2', new Conv2d(6, 12, { kernelSize: 3, stride: 2, padding: 1, groups: 6 })));
  it('dilation 2', () =>
    expectMatchesTorch('conv_dilated', new Conv2d(4, 5, { kernelSize: 3, padding: 2, dilation: 2 })));
  it('rectangular kernel, stride and padding', () =>
    expectMatchesTorch(
      'conv_rect',
      new Conv2d(4, 6, { kernelSize: [3, 1], stride: [2, 1], padding: [1, 0], bias: false }),
    ));
});

describe('pooling, linear and flatten match torch', () => {
  it('MaxPool2d(3, stride 2, padding 1): padding never wins', () =>
    expectMatchesTorch('maxpool_3_2_1', new MaxPool2d(3, { stride: 2, padding: 1 })));
  it('MaxPool2d ceil mode', () => expectMatchesTorch('maxpool_ceil', new MaxPool2d(3, { stride: 2, ceilMode: true })));
  it('MaxPool2d stride defaults to the kernel', () => expectMatchesTorch('maxpool_2', new MaxPool2d(2)));
  it('AdaptiveMaxPool2d(1)', () => expectMatchesTorch('globalmax', new GlobalPool2d('max')));
  it('AdaptiveAvgPool2d(1)', () => expectMatchesTorch('globalavg', new GlobalPool2d('avg')));
  it('Linear (weights exchanged as [out, in])', () => expectMatchesTorch('linear', new Linear(7, 3)));
  it('Flatten orders features as torch (C, H, W), so a torch Linear after it fits', () =>
    expectMatchesTorch('flatten_linear', new Sequential([new Flatten(), new Linear(60, 4)])));
});

describe('BatchNorm2d matches torch', () => {
  it('eval mode normalises with the running statistics', () =>
    expectMatchesTorch('batchnorm_eval', new BatchNorm2d(5)));

  it('train mode uses batch statistics and updates running mean, unbiased variance and the counter', () => {
    const bn = new BatchNorm2d(5).train();
    loadStateDict(bn, stateOf('batchnorm_train'));
    for (const step of [0, 1]) {
      const x = toNhwc(cases.get(`batchnorm_train.x${step}`) as HostTensor);
      const y = tf.tidy(() => bn.call(x) as tf.Tensor);
      const expected = nchwToNhwc(cases.get(`batchnorm_train.y${step}`) as HostTensor);
      expect(compare(y.dataSync(), expected.data).relative).toBeLessThan(1e-5);
      for (const [key, slot] of bn.namedSlots()) {
        const ref = cases.get(`batchnorm_train.after${step}.${key}`) as HostTensor;
        expect(compare(slot.variable.dataSync(), ref.data).maxDiff, key).toBeLessThan(1e-5);
      }
      x.dispose();
      y.dispose();
    }
    bn.dispose();
  });

  it('in train mode with tfjs ops (channels not a multiple of 4) gives torch autograd’s gradients', () => {
    const bn = new BatchNorm2d(5).train();
    tf.tidy(() => {
      bn.weight.assign(tf.tensor1d([0.5, 1.5, -1, 2, 0.8]));
      bn.bias.assign(tf.tensor1d([0.1, -0.2, 0.3, 0, 1]));
    });
    const x = tf.tensor4d(
      Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.sin(i * 0.7) * 2 + 0.3),
      [2, 3, 4, 5],
    );
    const w = tf.tensor4d(
      Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.cos(i * 1.3)),
      [2, 3, 4, 5],
    );
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(bn.call(x) as tf.Tensor, w)) as tf.Scalar,
      [bn.weight, bn.bias],
    );
    const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(bn.call(t) as tf.Tensor, w)))(x);
    const ref = runTorch<{ dx: number[]; dgamma: number[]; dbeta: number[] }>(
      `x = torch.tensor(np.array(inputs['x'], dtype=np.float32).reshape(2, 3, 4, 5)).permute(0, 3, 1, 2).requires_grad_()
w = torch.tensor(np.array(inputs['w'], dtype=np.float32).reshape(2, 3, 4, 5)).permute(0, 3, 1, 2)
g = torch.tensor([0.5, 1.5, -1, 2, 0.8], requires_grad=True)
b = torch.tensor([0.1, -0.2, 0.3, 0, 1], requires_grad=True)
(torch.nn.functional.batch_norm(x, None, None, g, b, training=True, eps=1e-5) * w).sum().backward()
outputs['dx'] = tolist(x.grad.permute(0, 2, 3, 1))
outputs['dgamma'] = tolist(g.grad)
outputs['dbeta'] = tolist(b.grad)`,
      { x: x.dataSync(), w: w.dataSync() },
    );
    expect(compare(dx.dataSync(), ref.dx).relative).toBeLessThan(1e-5);
    expect(compare((grads[bn.weight.name] as tf.Tensor).dataSync(), ref.dgamma).relative).toBeLessThan(1e-5);
    expect(compare((grads[bn.bias.name] as tf.Tensor).dataSync(), ref.dbeta).relative).toBeLessThan(1e-5);
    tf.dispose([value, dx, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
    bn.dispose();
  });

  it('in train mode on WASM runs the fused kernels of @resnet/backends when the channels are a multiple of 4', async () => {
    expect(FUSED_BATCH_NORM_KERNELS).toEqual({ forward: BATCH_NORM_TRAIN, backward: BATCH_NORM_TRAIN_GRAD });
    const kernelsOf = async (channels: number) => {
      const bn = new BatchNorm2d(channels).train();
      const x = tf.randomNormal([2, 3, 3, channels]);
      const profile = await tf.profile(() => {
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(bn.call(t) as tf.Tensor)))(x);
        g.dispose();
      });
      tf.dispose(x);
      bn.dispose();
      return new Set(profile.kernels.map((k) => k.name));
    };
    const fused = await kernelsOf(8);
    expect(fused.has(BATCH_NORM_TRAIN) && fused.has(BATCH_NORM_TRAIN_GRAD)).toBe(true);
    expect((await kernelsOf(5)).has(BATCH_NORM_TRAIN)).toBe(false);
  });
});
