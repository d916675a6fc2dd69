import { compare, fixturePath, nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import { initBackend } from '@resnet/backends';
import { type HostTensor, hostToTensor, optimizeForInference } from '@resnet/core';
import { loadTorchvisionWeights, readNpyFile } from '@resnet/core/node';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createModel } from '../src/index.js';

// The inference form (BatchNorm folded, fused conv + bias + ReLU) of torchvision's networks with
// torchvision's weights gives torchvision's outputs (fixtures from Debian's torch), and the
// unfused model's, within 1e-4 of the output's largest magnitude: on WASM (SIMD, XNNPACK) and on
// the pure-JS CPU backend.
const TOLERANCE = 1e-4;

async function input(arch: string, tag: string): Promise<tf.Tensor> {
  return hostToTensor(nchwToNhwc(await readNpyFile(fixturePath(arch, `input_${tag}.npy`))) as HostTensor);
}

async function check(arch: string, tags: string[]): Promise<void> {
  const model = createModel(arch);
  loadTorchvisionWeights(model, fixturePath(arch, 'weights.safetensors'));
  const fast = optimizeForInference(model);
  for (const tag of tags) {
    const x = await input(arch, tag);
    const expected = await readNpyFile(fixturePath(arch, `output_${tag}.npy`));
    const before = tf.memory().numTensors;
    const y = fast.predict(x);
    const plain = model.predict(x);
    expect(y.shape).toEqual(expected.shape);
    const torch = compare(await y.data(), expected.data).relative;
    const unfused = compare(await y.data(), await plain.data()).relative;
    console.log(
      `${tf.getBackend()} ${arch} ${tag}: optimised vs torchvision ${torch.toExponential(2)}, vs unfused ${unfused.toExponential(2)}`,
    );
    expect(torch, `${arch} ${tag} vs torchvision`).toBeLessThan(TOLERANCE);
    expect(unfused, `${arch} ${tag} vs unfused`).toBeLessThan(TOLERANCE);
    tf.dispose([y, plain]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  }
  fast.dispose();
  model.dispose();
}

describe('optimizeForInference on WASM matches torchvision', () => {
  it.each([
    ['resnet18', ['224', 'odd']],
    ['resnet50', ['224', 'odd']],
    ['resnext50_32x4d', ['224']],
  ])('%s', async (arch, tags) => {
    await initBackend({ prefer: 'wasm' });
    await check(arch, tags);
  });
});

describe('the memory-lean path: streamed weights, { disposeSource: true }', () => {
  it('resnet50 matches torchvision and holds one copy of the weights', async () => {
    await initBackend({ prefer: 'wasm' });
    const before = tf.memory();
    const model = createModel('resnet50');
    loadTorchvisionWeights(model, fixturePath('resnet50', 'weights.safetensors'));
    const fast = optimizeForInference(model, { disposeSource: true });
    expect(model.disposed).toBe(true);
    // 53 folded convolutions (filter + bias) and the classifier (weight + bias), nothing else.
    expect(tf.memory().numTensors - before.numTensors).toBe(53 * 2 + 2);
    expect(tf.memory().numBytes - before.numBytes).toBeLessThan(fast.countParameters() * 4 * 1.01);
    const x = await input('resnet50', '224');
    const y = fast.predict(x);
    const expected = await readNpyFile(fixturePath('resnet50', 'output_224.npy'));
    expect(compare(await y.data(), expected.data).relative).toBeLessThan(TOLERANCE);
    tf.dispose([x, y]);
    fast.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors);
  });
});

describe('on the CPU backend', () => {
  it('resnet18, plain and optimised, matches torchvision at 2×3×97×131', async () => {
    await initBackend({ prefer: 'cpu' });
    const model = createModel('resnet18');
    loadTorchvisionWeights(model, fixturePath('resnet18', 'weights.safetensors'));
    const x = await input('resnet18', 'odd');
    const y = model.predict(x);
    const expected = await readNpyFile(fixturePath('resnet18', 'output_odd.npy'));
    expect(compare(await y.data(), expected.data).relative).toBeLessThan(TOLERANCE);
    tf.dispose([x, y]);
    model.dispose();
    await check('resnet18', ['odd']);
  });
});
