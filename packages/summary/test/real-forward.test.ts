import { initBackend } from '@resnet/backends';
import { type Module, withModuleHooks } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, PRESET_NAMES, PRESETS } from '@resnet/zoo';
import { beforeAll, describe, expect, it } from 'vitest';
import { summary } from '../src/index.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** Every module call of a real forward pass (kernels run), with its input and output shapes. */
function realCalls(model: Module, input: tf.Tensor): { module: Module; input: number[]; output: number[] }[] {
  const calls: { module: Module; input: number[]; output: number[] }[] = [];
  const open: number[] = [];
  tf.tidy(() => {
    withModuleHooks(
      {
        before(module, x) {
          calls.push({ module, input: [...x.shape], output: [] });
          open.push(calls.length - 1);
        },
        after(_module, _x, y) {
          (calls[open.pop() as number] as { output: number[] }).output = [...y.shape];
        },
      },
      () => model.call(input),
    );
  });
  return calls;
}

/**
 * The deep torchvision twins (ResNet-101/152, the wide ResNets, ResNeXt-101) take tens of seconds
 * to initialise and run here; their rows are compared with torch's real forward pass of the same
 * architecture in torchvision-oracle.test.ts. Every other preset runs here, in tfjs.
 */
const HEAVY = ['resnet101', 'resnet152', 'wide_resnet50_2', 'wide_resnet101_2', 'resnext101_32x8d', 'resnext101_64x4d'];
const PRESETS_RUN_HERE = PRESET_NAMES.filter((n) => !HEAVY.includes(n));

describe('row shapes equal those of a real forward pass', () => {
  it.each(PRESETS_RUN_HERE)('%s', (name) => {
    const model = createModel(name, { seed: 0 });
    try {
      // Small odd inputs keep the real pass fast; CIFAR nets get CIFAR-like sizes.
      const shape =
        PRESETS[name].family === 'cifar' || PRESETS[name].family === 'plain' ? [2, 13, 11, 3] : [2, 23, 19, 3];
      const input = tf.zeros(shape);
      const calls = realCalls(model, input);
      input.dispose();
      const before = tf.memory().numTensors;
      const s = summary(model, shape);
      expect(tf.memory().numTensors).toBe(before);
      const paths = new Map(model.namedModules().map(([p, m]) => [m, p]));
      expect(s.rows.map((r) => r.path)).toEqual(calls.map((c) => paths.get(c.module)));
      expect(s.rows.map((r) => [r.inputShape, r.outputShape])).toEqual(calls.map((c) => [c.input, c.output]));
    } finally {
      model.dispose();
    }
  });
});
