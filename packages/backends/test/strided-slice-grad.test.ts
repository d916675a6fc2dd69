import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { runTorch } from '../../../tools/test-support/torch.js';
import { initBackend } from '../src/index.js';

interface Case {
  shape: number[];
  begin: number[];
  end: number[];
  strides: number[];
  /** The same slice in numpy syntax. */
  numpy: string;
  beginMask?: number;
  endMask?: number;
  shrinkAxisMask?: number;
}

const CASES: Case[] = [
  // ResNet-20's option-A shortcut: x[:, ::2, ::2, :].
  { shape: [2, 8, 8, 3], begin: [0, 0, 0, 0], end: [2, 8, 8, 3], strides: [1, 2, 2, 1], numpy: '[:, ::2, ::2, :]' },
  { shape: [2, 7, 7, 3], begin: [0, 0, 0, 0], end: [2, 7, 7, 3], strides: [1, 2, 2, 1], numpy: '[:, ::2, ::2, :]' },
  { shape: [3, 10, 4], begin: [1, 2, 0], end: [3, 9, 4], strides: [1, 3, 2], numpy: '[1:3, 2:9:3, 0:4:2]' },
  { shape: [9, 5], begin: [8, 0], end: [0, 5], strides: [-2, 1], numpy: '[8:0:-2, 0:5]' },
  { shape: [4, 6], begin: [1, 0], end: [2, 6], strides: [1, 2], shrinkAxisMask: 1, numpy: '[1, 0:6:2]' },
  { shape: [5, 6], begin: [0, 1], end: [0, 0], strides: [2, 1], beginMask: 1, endMask: 3, numpy: '[::2, 1:]' },
];

describe('the StridedSlice gradient', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
  });

  it('scatters dy back to the sliced positions, as numpy indexing does (torch autograd for the ResNet-20 case)', () => {
    const before = tf.memory().numTensors;
    for (const [i, c] of CASES.entries()) {
      const x = tf.randomNormal(c.shape, 0, 1, 'float32', 10 + i);
      const slice = (t: tf.Tensor) =>
        tf.stridedSlice(t, c.begin, c.end, c.strides, c.beginMask ?? 0, c.endMask ?? 0, 0, 0, c.shrinkAxisMask ?? 0);
      const sliced = slice(x);
      const w = tf.randomNormal(sliced.shape, 0, 1, 'float32', 20 + i);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(w, slice(t))))(x);
      const ref = runTorch<{ g: number[]; gt?: number[] }>(
        `x = np.array(inputs['x'], dtype=np.float32).reshape(inputs['shape'])
y = x${c.numpy}
w = np.array(inputs['w'], dtype=np.float32).reshape(y.shape)
g = np.zeros_like(x)
g${c.numpy} = w
outputs['g'] = tolist(g)
if ${i} == 0:
    xt = torch.tensor(x, requires_grad=True)
    (xt${c.numpy} * torch.tensor(w)).sum().backward()
    outputs['gt'] = tolist(xt.grad)`,
        { x: x.dataSync(), w: w.dataSync(), shape: c.shape },
      );
      expect(g.shape).toEqual(c.shape);
      const got = g.dataSync();
      expect(Array.from(got)).toEqual(ref.g.map((v) => Math.fround(v)));
      if (ref.gt) expect(Array.from(got)).toEqual(ref.gt.map((v) => Math.fround(v)));
      tf.dispose([x, sliced, w, g]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses newAxisMask with a message saying what to do instead', () => {
    const x = tf.ones([2, 3]);
    expect(() => tf.grad((t: tf.Tensor) => tf.sum(tf.stridedSlice(t, [0, 0], [2, 3], [1, 1], 0, 0, 0, 1)))(x)).toThrow(
      /newAxisMask.*expandDims/,
    );
    x.dispose();
  });
});
