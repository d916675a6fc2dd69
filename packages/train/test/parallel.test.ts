import { initBackend } from '@resnet/backends';
import { ArgumentError, exportStateDict, loadStateDict, type Module } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Batch, computeGradients, Rng, Sgd } from '../src/index.js';
import { createDataParallel, type DataParallelTrainer } from '../src/node.js';

const PRESET = { numClasses: 10, inputChannels: 1 };
let dp: DataParallelTrainer;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  dp = await createDataParallel({ replicas: 2, preset: 'resnet20', presetOptions: PRESET });
});
afterAll(async () => {
  await dp?.close();
});

function batchOf(n: number, seed: number): Batch {
  const rng = new Rng(seed);
  return {
    images: new Float32Array(n * 16 * 16).map(() => rng.next() * 2 - 1),
    labels: new Int32Array(n).map((_, i) => (i * 3 + seed) % 10),
    shape: [n, 16, 16, 1],
  };
}

function share(b: Batch, from: number, to: number): Batch {
  const per = 16 * 16;
  return {
    images: b.images.slice(from * per, to * per),
    labels: b.labels.slice(from, to),
    shape: [to - from, 16, 16, 1],
  };
}

function params(m: Module): Map<string, Float32Array> {
  return new Map(m.namedParameters().map(([n, v]) => [n, v.dataSync() as Float32Array]));
}

describe('createDataParallel (this thread + one worker thread, WASM)', () => {
  it('applies the size-weighted mean of the shares’ gradients: the same update as computing each share here', async () => {
    const a = createModel('resnet20', { ...PRESET, seed: 3 }) as unknown as Module;
    const b = createModel('resnet20', { ...PRESET, seed: 4 }) as unknown as Module;
    loadStateDict(b, exportStateDict(a));
    const sgdOptions = { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 };
    const optA = new Sgd(a.namedParameters(), sgdOptions);
    const optB = new Sgd(b.namedParameters(), sgdOptions);
    let before = 0;
    for (const [step, n] of [7, 6, 9].entries()) {
      const batch = batchOf(n, step);
      const r = await dp.step(a, optA, batch);
      // The reference: both shares (the first ⌈n/2⌉ images here, the rest in the worker) in this thread.
      const k = Math.ceil(n / 2);
      const g0 = computeGradients(b, share(batch, 0, k));
      const g1 = computeGradients(b, share(batch, k, n));
      const avg = tf.tidy(() => {
        const out: Record<string, tf.Tensor> = {};
        for (const [name, g] of Object.entries(g0.grads)) {
          out[name] = tf.add(tf.mul(g, k / n), tf.mul(g1.grads[name] as tf.Tensor, (n - k) / n));
        }
        return out;
      });
      optB.step(avg);
      expect(r.size).toBe(n);
      expect(r.loss).toBeCloseTo((g0.loss * k + g1.loss * (n - k)) / n, 5);
      tf.dispose([g0.logits, g1.logits, ...Object.values(g0.grads), ...Object.values(g1.grads), ...Object.values(avg)]);
      // The first step creates the optimisers' momentum buffers; after it the count must stay put.
      if (step === 0) before = tf.memory().numTensors;
      else expect(tf.memory().numTensors).toBe(before);
    }
    const pa = params(a);
    let worst = 0;
    for (const [name, vb] of params(b)) {
      const va = pa.get(name) as Float32Array;
      for (let i = 0; i < vb.length; i++) worst = Math.max(worst, Math.abs((va[i] as number) - (vb[i] as number)));
    }
    expect(worst).toBeLessThan(1e-6);
    a.dispose();
    b.dispose();
    optA.dispose();
    optB.dispose();
  }, 120_000);

  it('refuses bad options and batches smaller than the replicas, naming the argument', async () => {
    await expect(createDataParallel({ replicas: 1, preset: 'resnet20' })).rejects.toThrow(ArgumentError);
    await expect(createDataParallel({ replicas: 1, preset: 'resnet20' })).rejects.toThrow(/options\.replicas/);
    await expect(createDataParallel({ replicas: 2, preset: '' })).rejects.toThrow(/options\.preset/);
    await expect(createDataParallel({ replicas: 2, preset: 'resnet20', backend: 'webgl' as 'wasm' })).rejects.toThrow(
      /options\.backend/,
    );
    await expect(createDataParallel({ replicas: 2, preset: 'no-such-net' })).rejects.toThrow(/could not start/);
    const m = createModel('resnet20', PRESET) as unknown as Module;
    const opt = new Sgd(m.namedParameters(), { lr: 0.1 });
    const before = params(m);
    await expect(dp.step(m, opt, batchOf(1, 0))).rejects.toThrow(/at least 2 images/);
    await expect(dp.step({} as Module, opt, batchOf(4, 0))).rejects.toThrow(/^model: expected a model built from/);
    await expect(dp.step(m, {} as Sgd, batchOf(4, 0))).rejects.toThrow(/^optimizer: expected an optimiser/);
    await expect(dp.step(m, opt, { ...batchOf(4, 0), labels: new Int32Array(3) })).rejects.toThrow(/batch\.labels/);
    expect(params(m)).toEqual(before);
    m.dispose();
    opt.dispose();
  }, 60_000);
});
