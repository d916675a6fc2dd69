import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { exportStateDict, manualSeed, optimizeForInference } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Adam,
  batches,
  classifierInfoFromMetadata,
  cosineLr,
  evaluate,
  inMemoryDataset,
  NonFiniteLossError,
  Rng,
  Sgd,
  trainEpoch,
  trainStep,
} from '../src/index.js';
import { loadCheckpoint, readCheckpointWeights, saveCheckpoint } from '../src/node.js';

const dir = mkdtempSync(join(tmpdir(), 'resnet-train-'));

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function toyData(n = 48, seed = 1) {
  const rng = new Rng(seed);
  const images = new Float32Array(n * 8 * 8).map(() => rng.next() * 2 - 1);
  const labels = new Int32Array(n).map((_, i) => i % 4);
  // Make the classes separable: brighten a class-specific corner.
  for (let i = 0; i < n; i++) images[i * 64 + (labels[i] as number) * 2] = 3;
  return inMemoryDataset({ images, labels, imageShape: [8, 8, 1], numClasses: 4 });
}

function makeRun(kind: 'sgd' | 'adam') {
  manualSeed(7);
  const model = createModel('resnet20', { numClasses: 4, inputChannels: 1 });
  const params = model.namedParameters();
  const optimizer =
    kind === 'sgd' ? new Sgd(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 }) : new Adam(params, { lr: 1e-3 });
  return { model, optimizer };
}

const schedule = cosineLr({ lr: 0.05, totalSteps: 9 });
const epochOptions = (rng: Rng) => ({ batchSize: 16, rng, augment: { padCrop: 1, flip: true }, schedule });

describe('checkpoints', () => {
  it('resuming from a checkpoint gives bit-identical weights to a run that never stopped (SGD and Adam)', () => {
    const data = toyData();
    for (const kind of ['sgd', 'adam'] as const) {
      const a = makeRun(kind);
      const rngA = new Rng(3);
      for (let e = 0; e < 3; e++) trainEpoch(a.model, a.optimizer, data, epochOptions(rngA));

      const b = makeRun(kind);
      const rngB = new Rng(3);
      trainEpoch(b.model, b.optimizer, data, epochOptions(rngB));
      const path = join(dir, `${kind}.ckpt`);
      saveCheckpoint(path, b.model, b.optimizer, { epoch: 1, rng: rngB.getState(), run: { arch: 'resnet20' } });
      b.model.dispose();
      b.optimizer.dispose();

      const c = makeRun(kind); // fresh initial weights, overwritten by the checkpoint
      const info = loadCheckpoint(path, c.model, c.optimizer);
      expect(info.epoch).toBe(1);
      expect(info.run).toEqual({ arch: 'resnet20' });
      const rngC = new Rng(99);
      rngC.setState(info.rng);
      for (let e = info.epoch; e < 3; e++) trainEpoch(c.model, c.optimizer, data, epochOptions(rngC));

      const sa = exportStateDict(a.model);
      const sc = exportStateDict(c.model);
      expect([...sc.keys()]).toEqual([...sa.keys()]);
      for (const [name, t] of sa) expect(Array.from(sc.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
      expect(c.optimizer.stepCount).toBe(a.optimizer.stepCount);
      for (const r of [a, c]) {
        r.model.dispose();
        r.optimizer.dispose();
      }
    }
  });

  it('refuses unreadable, foreign and mismatched checkpoints, changing nothing', () => {
    const data = toyData(16);
    const { model, optimizer } = makeRun('sgd');
    trainEpoch(model, optimizer, data, epochOptions(new Rng(1)));
    const good = join(dir, 'good.ckpt');
    saveCheckpoint(good, model, optimizer, { epoch: 1, rng: new Rng(1).getState() });
    const before = exportStateDict(model);
    const steps = optimizer.stepCount;

    expect(() => loadCheckpoint(join(dir, 'missing.ckpt'), model, optimizer)).toThrow(/no checkpoint at .*--resume/);
    const garbage = join(dir, 'garbage.ckpt');
    writeFileSync(garbage, 'not a checkpoint');
    expect(() => loadCheckpoint(garbage, model, optimizer)).toThrow(/cannot read checkpoint/);
    const truncated = join(dir, 'truncated.ckpt');
    writeFileSync(truncated, readFileSync(good).subarray(0, 5000));
    expect(() => loadCheckpoint(truncated, model, optimizer)).toThrow(/cannot read checkpoint/);

    // Another architecture, and another optimiser.
    manualSeed(1);
    const other = createModel('resnet32', { numClasses: 4, inputChannels: 1 });
    const otherOpt = new Sgd(other.namedParameters(), { lr: 0.1, momentum: 0.9 });
    const wrongArch = join(dir, 'resnet32.ckpt');
    trainEpoch(other, otherOpt, data, epochOptions(new Rng(1)));
    saveCheckpoint(wrongArch, other, otherOpt, { epoch: 1, rng: new Rng(1).getState() });
    expect(() => loadCheckpoint(wrongArch, model, optimizer)).toThrow(/does not fit this run: .*unknown parameter/);
    const adam = new Adam(model.namedParameters());
    expect(() => loadCheckpoint(good, model, adam)).toThrow(/for sgd, but this optimiser is adam/);

    const after = exportStateDict(model);
    for (const [name, t] of before) expect(Array.from(after.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
    expect(optimizer.stepCount).toBe(steps);
    tf.dispose([]);
    for (const d of [model, other]) d.dispose();
    for (const o of [optimizer, otherOpt, adam]) o.dispose();
  });

  it('keeps the classifier info (class names, transforms) for classify, read back without a model', () => {
    const { model, optimizer } = makeRun('sgd');
    const path = join(dir, 'classifier.ckpt');
    const classifier = {
      arch: 'resnet20',
      classes: ['ankle boot', 'bag', 'coat', 'dress'],
      inputChannels: 3,
      transforms: {
        resizeSize: 36,
        cropSize: 32,
        mean: [0.5, 0.4, 0.3],
        std: [0.2, 0.2, 0.2],
        interpolation: 'bilinear',
      },
      data: 'image-folder',
      mean: [0.5, 0.4, 0.3],
      std: [0.2, 0.2, 0.2],
    } as const;
    saveCheckpoint(path, model, optimizer, {
      epoch: 3,
      rng: new Rng(1).getState(),
      classifier: structuredClone(classifier) as never,
    });
    const read = readCheckpointWeights(path);
    expect(read.classifier).toEqual(classifier);
    expect(read.epoch).toBe(3);
    const weights = exportStateDict(model);
    expect([...read.stateDict.keys()]).toEqual([...weights.keys()]);
    for (const [name, t] of weights)
      expect(Array.from(read.stateDict.get(name)?.data ?? []), name).toEqual(Array.from(t.data));
    expect(loadCheckpoint(path, model, optimizer).classifier).toEqual(classifier);
    // Checkpoints without it (written before it was recorded) read as null; bad info is refused.
    saveCheckpoint(path, model, optimizer, { epoch: 1, rng: new Rng(1).getState() });
    expect(readCheckpointWeights(path).classifier).toBeNull();
    expect(() =>
      saveCheckpoint(path, model, optimizer, {
        epoch: 1,
        rng: new Rng(1).getState(),
        classifier: { ...classifier, classes: [] } as never,
      }),
    ).toThrow(/info\.classifier\.classes: expected a non-empty array/);
    expect(() => classifierInfoFromMetadata({ format: 'resnet-train-checkpoint', classifier: '{' })).toThrow(/damaged/);
    expect(classifierInfoFromMetadata({ format: 'something else' })).toBeNull();
    model.dispose();
    optimizer.dispose();
  });

  it('writes atomically: no temporary file is left, and a failed write keeps the old checkpoint', () => {
    const { model, optimizer } = makeRun('sgd');
    const path = join(dir, 'atomic.ckpt');
    saveCheckpoint(path, model, optimizer, { epoch: 0, rng: new Rng(1).getState() });
    const bytes = readFileSync(path);
    expect(() =>
      saveCheckpoint(join(dir, 'no-such-dir', 'x.ckpt'), model, optimizer, { epoch: 0, rng: [1, 2, 3, 4] }),
    ).toThrow(/cannot write/);
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(existsSync(join(dir, 'no-such-dir'))).toBe(false);
    model.dispose();
    optimizer.dispose();
  });
});

describe('the training loop', () => {
  it('learns a separable toy problem, in train mode, without leaking tensors', () => {
    const data = toyData(64);
    const { model, optimizer } = makeRun('sgd');
    const rng = new Rng(5);
    trainEpoch(model, optimizer, data, epochOptions(rng));
    const before = tf.memory().numTensors;
    let last = 0;
    for (let e = 0; e < 4; e++) last = trainEpoch(model, optimizer, data, { batchSize: 16, rng }).loss;
    expect(tf.memory().numTensors).toBe(before);
    const result = evaluate(model, data, { batchSize: 32 });
    expect(model.training).toBe(true);
    expect(result.top1).toBeGreaterThan(0.75);
    expect(result.top5).toBe(1);
    expect(last).toBeLessThan(0.5);
    // The inference form evaluates the same network: the same metrics, to float rounding.
    const fast = optimizeForInference(model);
    const folded = evaluate(fast, data, { batchSize: 32 });
    fast.dispose();
    expect(folded.loss).toBeCloseTo(result.loss, 5);
    expect([folded.top1, folded.top5, folded.count]).toEqual([result.top1, result.top5, result.count]);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    optimizer.dispose();
  });

  it('stops with a message when the loss becomes NaN, without applying the update', () => {
    const { model, optimizer } = makeRun('sgd');
    const images = new Float32Array(4 * 64).fill(Number.NaN);
    const before = exportStateDict(model).get('fc.weight')?.data;
    expect(() =>
      trainStep(model, optimizer, { images, labels: Int32Array.from([0, 1, 2, 3]), shape: [4, 8, 8, 1] }),
    ).toThrow(NonFiniteLossError);
    expect(() =>
      trainStep(model, optimizer, { images, labels: Int32Array.from([0, 1, 2, 3]), shape: [4, 8, 8, 1] }),
    ).toThrow(/loss became NaN at step 0 .*Lower the learning rate/);
    expect(Array.from(exportStateDict(model).get('fc.weight')?.data ?? [])).toEqual(Array.from(before ?? []));
    model.dispose();
    optimizer.dispose();
  });

  it('rejects bad batches and datasets with errors naming the argument', () => {
    const { model, optimizer } = makeRun('sgd');
    const images = new Float32Array(2 * 64);
    expect(() =>
      trainStep(model, optimizer, { images, labels: Int32Array.from([0, 1, 2]), shape: [2, 8, 8, 1] }),
    ).toThrow(/batch.labels: expected an Int32Array of 2 class indices/);
    expect(() => trainStep(model, optimizer, { images, labels: Int32Array.from([0, 9]), shape: [2, 8, 8, 1] })).toThrow(
      /labels\[1\]: expected a class index in \[0, 3\]; got 9/,
    );
    const init = { images, labels: Int32Array.from([0, 1]), imageShape: [8, 8, 1] as const, numClasses: 4 };
    expect(() => inMemoryDataset({ ...init, labels: new Int32Array(0), images: new Float32Array(0) })).toThrow(
      /an empty dataset/,
    );
    expect(() => inMemoryDataset({ ...init, labels: Float32Array.from([0, 1]) as unknown as Int32Array })).toThrow(
      /labels: expected an Int32Array/,
    );
    expect(() => inMemoryDataset({ ...init, labels: Int32Array.from([0, 4]) })).toThrow(
      /labels\[1\]: expected a class index in \[0, 3\]; got 4/,
    );
    expect(() => inMemoryDataset({ ...init, labels: Int32Array.from([0, 1, 2]) })).toThrow(/images: expected 3 images/);
    expect(() => [...batches(toyData(4), { batchSize: 2, augment: { flip: true } })]).toThrow(/options.rng/);
    model.dispose();
    optimizer.dispose();
  });

  it('shuffles and augments reproducibly from the seed', () => {
    const data = toyData(20);
    const run = (seed: number) =>
      [...batches(data, { batchSize: 8, rng: new Rng(seed), augment: { padCrop: 2, flip: true } })].map((b) => [
        Array.from(b.labels),
        Array.from(b.images.subarray(0, 64)),
      ]);
    expect(run(4)).toEqual(run(4));
    expect(run(4)).not.toEqual(run(5));
    const sizes = [...batches(data, { batchSize: 8 })].map((b) => b.shape[0]);
    expect(sizes).toEqual([8, 8, 4]);
  });
});
