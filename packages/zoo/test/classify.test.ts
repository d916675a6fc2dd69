import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { ArgumentError, type HostTensor, parseNpy, WeightsMismatchError } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import { imageClassification } from '@resnet/images';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClassifyManifest,
  classifyFixturePath,
  classifyManifest,
} from '../../../tools/test-support/classify-fixtures.js';
import { compare, nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import { startWeightsServer, type WeightsServer } from '../../../tools/test-support/weights-server.js';
import {
  decodePredictions,
  getWeights,
  IMAGENET_CATEGORIES,
  type Prediction,
  WeightsDownloadError,
} from '../src/index.js';
import { pretrained, pretrainedFromStateDict } from '../src/node.js';

// pretrained('resnet50') → classify/embed against torchvision on real photos, with a checkpoint
// made by Debian's torch (tools/weights/classify_reference.py) served on 127.0.0.1 through
// RESNET_WEIGHTS_MIRROR, under the official URL of its own file name (so the hash check is the
// production one). Expected values are torchvision's: PIL + ResNet50_Weights.DEFAULT.transforms(),
// softmax, topk, avgpool's output.
const PNG = ['chelsea.png', 'camera.png'];
const JPEG = ['rocket.jpg'];
/** Probabilities of PNG photos: our decoding and transforms are PIL's bit for bit, so only float32 rounding remains. */
const PROBABILITY_TOLERANCE = 1e-4;

let manifest: ClassifyManifest;
let server: WeightsServer;
let scratch: string;
let url: string;
const saved = { ...process.env };

const photo = (name: string) => manifest.photos.find((p) => p.name === name) as ClassifyManifest['photos'][number];
const npy = (file: string): HostTensor => parseNpy(readFileSync(classifyFixturePath(file)));
const filesUnder = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];

beforeAll(async () => {
  manifest = classifyManifest();
  const path = classifyFixturePath(manifest.checkpoint.file);
  server = await startWeightsServer({ ...manifest.checkpoint, path, bytes: readFileSync(path) });
  scratch = mkdtempSync(join(tmpdir(), 'resnet-classify-'));
  process.env.RESNET_HOME = join(scratch, 'home');
  process.env.TORCH_HOME = join(scratch, 'torch');
  process.env.RESNET_WEIGHTS_MIRROR = `${server.origin}/models/`;
  url = `https://download.pytorch.org/models/${manifest.checkpoint.file}`;
  await initBackend({ prefer: 'wasm' });
});

afterAll(async () => {
  process.env = { ...saved };
  await server?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function expectTorchTop5(actual: Prediction[], name: string, tolerance: number): number {
  const expected = photo(name).top5;
  expect(
    actual.map((p) => p.index),
    name,
  ).toEqual(expected.map((p) => p.index));
  expect(actual.map((p) => p.label)).toEqual(expected.map((p) => p.label));
  const worst = Math.max(...actual.map((p, i) => Math.abs(p.probability - (expected[i] as Prediction).probability)));
  expect(worst, name).toBeLessThan(tolerance);
  return worst;
}

describe('pretrained (Node)', () => {
  it('downloads through the mirror, verifies, and classifies photos as torchvision does; a second call reads the cache', async () => {
    const tensors = tf.memory().numTensors;
    const model = await pretrained('resnet50', { weights: url, progress: false });
    try {
      expect(model.training).toBe(false);
      expect(model.origin).toMatchObject({
        fileName: manifest.checkpoint.file,
        url: `${server.origin}/models/${manifest.checkpoint.file}`,
        sha256: manifest.checkpoint.sha256,
        path: join(scratch, 'home', 'checkpoints', manifest.checkpoint.file),
      });
      // Not a registry file: no entry, the transforms of ResNet50_Weights.DEFAULT, ImageNet's names.
      expect(model.weights).toBeNull();
      expect(model.transforms).toEqual(getWeights('resnet50').transforms);
      expect(model.categories).toBe(IMAGENET_CATEGORIES);

      for (const name of PNG) {
        const top = await model.classify(photo(name).path);
        console.log(
          `${name}: top-5 as torchvision, largest probability difference ${expectTorchTop5(top, name, PROBABILITY_TOLERANCE).toExponential(2)}`,
        );
      }
      // JPEG: jpeg-js is not libjpeg-turbo (a few uint8 levels, see @resnet/images); same classes, stated differences.
      for (const name of JPEG) {
        const top = await model.classify(photo(name).path);
        console.log(
          `${name}: top-5 as torchvision, largest probability difference ${expectTorchTop5(top, name, 0.02).toExponential(2)}`,
        );
      }
      // A batch gives one list per image, the same as one at a time.
      const both = await model.classify([photo('chelsea.png').path, readFileSync(photo('camera.png').path)], {
        topk: 3,
      });
      expect(both.map((t) => t.map((p) => p.index))).toEqual(
        ['chelsea.png', 'camera.png'].map((n) =>
          photo(n)
            .top5.slice(0, 3)
            .map((p) => p.index),
        ),
      );
      expect(tf.memory().numTensors - tensors).toBe(model.namedSlots().length);
    } finally {
      model.dispose();
    }
    expect(tf.memory().numTensors).toBe(tensors);

    const requests = server.total();
    const again = await pretrained('resnet50', { weights: url, progress: false });
    expect(server.total()).toBe(requests);
    expect(again.origin.path).toBe(join(scratch, 'home', 'checkpoints', manifest.checkpoint.file));
    again.dispose();
  });

  it('embed gives avgpool’s features and preprocess the tensor torchvision’s transforms make', async () => {
    const model = pretrainedFromStateDict(
      'resnet50',
      readStateDictFile(classifyFixturePath(manifest.checkpoint.file)).tensors,
    );
    const tensors = tf.memory().numTensors;
    try {
      const features = await model.embed(photo('chelsea.png').path);
      expect(features.shape).toEqual([1, 2048]);
      const expected = npy('chelsea.png.pooled.npy');
      expect(compare(await features.data(), expected.data).relative).toBeLessThan(1e-4);
      features.dispose();

      const x = await model.preprocess(photo('chelsea.png').path);
      expect(x.shape).toEqual([1, 224, 224, 3]);
      expect(Array.from(await x.data())).toEqual(Array.from(nchwToNhwc(npy('chelsea.png.input.npy')).data));
      x.dispose();
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      model.dispose();
    }
  });

  it('a NAME resolves to torchvision’s file through the mirror, whose hash the test file does not have: refused, nothing kept', async () => {
    const tensors = tf.memory().numTensors;
    const error = await pretrained('resnet50', { weights: 'IMAGENET1K_V2', progress: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WeightsDownloadError);
    expect((error as WeightsDownloadError).failure).toBe('hash-mismatch');
    expect((error as Error).message).toContain(`${server.origin}/models/resnet50-11ad3fa6.pth`);
    expect(filesUnder(join(scratch, 'home')).filter((f) => f.includes('11ad3fa6'))).toEqual([]);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('a local file named as a torchvision checkpoint gets that entry (transforms, metadata)', async () => {
    const dir = mkdtempSync(join(scratch, 'local-'));
    for (const [name, resize] of [
      ['IMAGENET1K_V1', 256],
      ['IMAGENET1K_V2', 232],
    ] as const) {
      const entry = getWeights('resnet50', name);
      const path = join(dir, entry.fileName);
      copyFileSync(classifyFixturePath(manifest.checkpoint.file), path);
      const model = await pretrained('resnet50', { weights: path });
      expect(model.weights).toBe(entry);
      expect(model.transforms.resizeSize).toBe(resize);
      expect(model.origin).toEqual({ fileName: entry.fileName, url: null, path, sha256: null });
      model.dispose();
    }
  });

  it('loads strictly: weights of another architecture are refused and leave no tensors behind', async () => {
    const tensors = tf.memory().numTensors;
    const path = classifyFixturePath(manifest.checkpoint.file);
    await expect(pretrained('resnet101', { weights: path })).rejects.toThrow(WeightsMismatchError);
    await expect(pretrained('resnet101', { weights: path })).rejects.toThrow(/missing \d+ \(layer3\.6/);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('validates its arguments before downloading anything', async () => {
    const requests = server.total();
    await expect(pretrained('resnet50', { weigths: 'DEFAULT' } as never)).rejects.toThrow(
      /^options\.weigths: expected one of the known options \(weights, transforms, categories, mirror/,
    );
    await expect(pretrained('resnet500')).rejects.toThrow(/^arch: expected one of resnet18/);
    await expect(pretrained('resnet50', { transforms: { cropSize: 224 } as never })).rejects.toThrow(
      /^options\.transforms\.resizeSize: expected an integer/,
    );
    await expect(pretrained('resnet50', { categories: 'cat' as never })).rejects.toThrow(
      /^options\.categories: expected an array of class names/,
    );
    await expect(pretrained('resnet50', { weights: './no/such.pth' })).rejects.toThrow(/^weights: expected a NAME/);
    expect(server.total()).toBe(requests);
  });
});

describe('pretrainedFromStateDict', () => {
  it('reads the classes from fc.weight and labels them with the given names; refuses a wrong count', async () => {
    const stateDict = new Map(readStateDictFile(classifyFixturePath(manifest.checkpoint.file)).tensors);
    // A 3-class head: torchvision's rows 472, 356 and 547 (chelsea.png's top-3) in that order.
    const fc = stateDict.get('fc.weight') as HostTensor;
    const bias = stateDict.get('fc.bias') as HostTensor;
    const rows = [472, 356, 547];
    const weight = new Float32Array(3 * 2048);
    rows.forEach((r, i) => {
      weight.set(fc.data.subarray(r * 2048, (r + 1) * 2048) as Float32Array, i * 2048);
    });
    stateDict.set('fc.weight', { dtype: 'float32', shape: [3, 2048], data: weight });
    stateDict.set('fc.bias', {
      dtype: 'float32',
      shape: [3],
      data: Float32Array.from(rows, (r) => bias.data[r] as number),
    });
    expect(() => pretrainedFromStateDict('resnet50', stateDict, { categories: ['a', 'b'] })).toThrow(
      /^options\.categories: expected 3 class names, one per output; got "2 names"/,
    );
    const model = pretrainedFromStateDict('resnet50', stateDict, {
      categories: ['first', 'second', 'third'],
      transforms: imageClassification({ cropSize: 224, resizeSize: 232 }),
    });
    try {
      expect(model.outputChannels).toBe(3);
      const top = await model.classify(photo('chelsea.png').path);
      expect(top.map((p) => [p.index, p.label])).toEqual([
        [0, 'first'],
        [1, 'second'],
        [2, 'third'],
      ]);
      // The softmax over three of torchvision's logits.
      const logits = npy('chelsea.png.logits.npy').data;
      const z = rows.map((r) => Math.exp(logits[r] as number));
      const sum = z.reduce((a, b) => a + b);
      top.forEach((p, i) => {
        expect(Math.abs(p.probability - (z[i] as number) / sum)).toBeLessThan(PROBABILITY_TOLERANCE);
      });
      await expect(model.classify(photo('chelsea.png').path, { topk: 4 })).rejects.toThrow(
        /^options\.topk: expected an integer from 1 to 3 \(the number of classes\); got 4/,
      );
      await expect(model.classify([])).rejects.toThrow(/^images: expected a non-empty array of images/);
    } finally {
      model.dispose();
    }
  });
});

describe('decodePredictions', () => {
  it('gives torchvision’s softmax and topk for any logits: a vector, a batch, a host tensor or numbers', () => {
    const logits = npy('rocket.jpg.logits.npy');
    const expected = photo('rocket.jpg').top5;
    const check = (top: Prediction[]) => {
      expect(top.map((p) => [p.index, p.label])).toEqual(expected.map((p) => [p.index, p.label]));
      top.forEach((p, i) => {
        expect(Math.abs(p.probability - (expected[i] as Prediction).probability)).toBeLessThan(1e-6);
      });
    };
    const tensors = tf.memory().numTensors;
    const batch = tf.tensor2d(logits.data as Float32Array, [1, 1000]);
    const rows = decodePredictions(batch);
    expect(rows).toHaveLength(1);
    check(rows[0] as Prediction[]);
    const vector = tf.tensor1d(logits.data as Float32Array);
    check(decodePredictions(vector));
    check((decodePredictions(logits) as Prediction[][])[0] as Prediction[]); // a host tensor [1, 1000]
    check(decodePredictions(Array.from(logits.data)));
    expect(decodePredictions(vector, 2)).toHaveLength(2);
    tf.dispose([batch, vector]);
    expect(tf.memory().numTensors).toBe(tensors);
  });

  it('takes probabilities as they are, names classes from the list given, and says what is wrong', () => {
    const top = decodePredictions([0.1, 0.7, 0.2], 2, ['a', 'b', 'c'], { from: 'probabilities' });
    expect(top).toEqual([
      { index: 1, label: 'b', probability: 0.7 },
      { index: 2, label: 'c', probability: 0.2 },
    ]);
    expect(decodePredictions([1, 2, 3], 1)[0]?.label).toBe('2'); // no names for 3 classes: the index
    expect(() => decodePredictions([1, 2, 3], 4)).toThrow(ArgumentError);
    expect(() => decodePredictions([1, 2, 3], 0)).toThrow(/^topk: expected an integer from 1 to 3/);
    expect(() => decodePredictions([1, 2, 3], 1, ['a'])).toThrow(/^categories: expected 3 class names/);
    expect(() => decodePredictions([1, Number.NaN, 3])).toThrow(/NaN or infinite/);
    expect(() => decodePredictions('logits' as never)).toThrow(/^scores: expected logits/);
    expect(() => decodePredictions([1, 2], 1, null, { from: 'softmax' as never })).toThrow(/^options\.from/);
  });
});
