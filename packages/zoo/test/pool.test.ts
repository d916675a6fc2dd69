import { compare, fixturePath, nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import type { HostTensor } from '@resnet/core';
import { readNpyFile } from '@resnet/core/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInferencePool, type InferencePool } from '../src/node.js';

// Worker threads, each with its own WASM backend and weights, give torchvision's outputs for a
// batch split between them, in input order.
describe('createInferencePool', () => {
  let pool: InferencePool;
  let input: HostTensor;
  let expected: HostTensor;

  beforeAll(async () => {
    pool = await createInferencePool({
      arch: 'resnet18',
      weights: fixturePath('resnet18', 'weights.safetensors'),
      workers: 2,
    });
    input = nchwToNhwc(await readNpyFile(fixturePath('resnet18', 'input_odd.npy'))) as HostTensor;
    expected = await readNpyFile(fixturePath('resnet18', 'output_odd.npy'));
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('splits a batch over its workers and matches torchvision within 1e-4, in input order', async () => {
    expect(pool.size).toBe(2);
    expect(pool.backend).toEqual({ name: 'wasm', simd: true });
    const y = await pool.run(input);
    expect(y.shape).toEqual([2, 1000]);
    expect(compare(y.data, expected.data).relative).toBeLessThan(1e-4);
  });

  it('runs uneven batches and overlapping calls (slices queue)', async () => {
    // Batch 3 = images [1, 0, 1] of the fixture: slices of 2 and 1.
    const per = input.data.length / 2;
    const data = new Float32Array(3 * per);
    data.set(input.data.subarray(per), 0);
    data.set(input.data.subarray(0, per), per);
    data.set(input.data.subarray(per), 2 * per);
    const [a, b] = await Promise.all([
      pool.run({ ...input, shape: [3, ...input.shape.slice(1)], data }),
      pool.run(input),
    ]);
    const rows = (t: HostTensor, i: number) => t.data.subarray(i * 1000, (i + 1) * 1000);
    for (const [row, ref] of [
      [0, 1],
      [1, 0],
      [2, 1],
    ] as const) {
      expect(compare(rows(a as HostTensor, row), rows(expected, ref)).relative).toBeLessThan(1e-4);
    }
    expect(compare((b as HostTensor).data, expected.data).relative).toBeLessThan(1e-4);
  });

  it('rejects a bad batch with the worker’s message, and keeps working', async () => {
    const nchw = { dtype: 'float32' as const, shape: [1, 3, 8, 8], data: new Float32Array(192) };
    await expect(pool.run(nchw)).rejects.toThrow(/3 channels on the last axis.*looks like NCHW/);
    await expect(pool.run({ ...nchw, shape: [1, 8, 8] })).rejects.toThrow(/input.shape: expected an NHWC shape/);
    await expect(pool.run({ ...nchw, shape: [1, 8, 8, 4] })).rejects.toThrow(
      /input.data: expected 256 values.*got "192 values"/,
    );
    expect((await pool.run(input)).shape).toEqual([2, 1000]);
  });
});

describe('createInferencePool refuses bad options before starting a worker', () => {
  it.each([
    [{ arch: 'resnet19' }, /arch: expected one of resnet18/],
    [{ arch: 'resnet18', workers: 0 }, /options.workers: expected an integer from 1 to 256; got 0/],
    [{ arch: 'resnet18', backend: 'webgl' }, /options.backend: expected 'wasm' or 'cpu'/],
    [
      { arch: 'resnet18', weights: '/nonexistent/r18.safetensors' },
      /options.weights: expected an existing .safetensors file; got "\/nonexistent/,
    ],
    [{ arch: 'resnet18', threads: 2 }, /threads/],
  ])('%o', async (options, message) => {
    await expect(createInferencePool(options as never)).rejects.toThrow(message);
  });

  it('stops every worker and says why when the weights do not fit', async () => {
    await expect(
      createInferencePool({
        arch: 'resnet18',
        weights: fixturePath('resnet18', 'weights.safetensors'),
        numClasses: 10,
        workers: 2,
      }),
    ).rejects.toThrow(/worker \d could not start: weights do not fit the model: shape mismatch 2 \(fc.weight/);
  });
});
