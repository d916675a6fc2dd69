import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { encodePng, type PixelArray } from '@resnet/images';
import { getWeights } from '@resnet/zoo';
import { pretrained } from '@resnet/zoo/node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../src/node.js';

// The model we trained and ship, `pretrained('resnet20', { weights: 'FASHION_MNIST' })`, on the real
// Fashion-MNIST test images of the `fashion-mnist` package (read here from the package's own JSON,
// independently of the loader): the target is ≥ 91 % top-1 on the 10,000 test images.
// torchvision's FashionMNIST.classes spelling is checked in @resnet/zoo's registry test.

const pkg = dirname(createRequire(import.meta.url).resolve('fashion-mnist/package.json'));
/** The package's images of each class, empty entries skipped (as the loader documents). */
const byClass = Array.from({ length: 10 }, (_, c) =>
  (JSON.parse(readFileSync(join(pkg, `src/clothes/${c}.json`), 'utf8')) as { data: number[][] }).data.filter(
    (r) => r.length > 0,
  ),
);
/** Test image j of our split: class j mod 10, the class's image 6,000 + ⌊j / 10⌋, as a 28×28 grey image. */
const testImage = (j: number): { image: PixelArray; label: number } => ({
  image: { width: 28, height: 28, channels: 1, data: Uint8Array.from(byClass[j % 10]?.[6000 + Math.floor(j / 10)] as number[]) },
  label: j % 10,
});

type Model = Awaited<ReturnType<typeof pretrained>>;
let model: Model;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  model = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
});

describe("pretrained('resnet20', { weights: 'FASHION_MNIST' }) on the real test images", () => {
  it('reaches ≥ 91 % top-1 on the 10,000 test images (the issue’s target), through preprocess', async () => {
    const n = 10000;
    const batch = 1000;
    let correct = 0;
    const start = performance.now();
    for (let i = 0; i < n; i += batch) {
      const items = Array.from({ length: batch }, (_, k) => testImage(i + k));
      const x = await model.preprocess(items.map((t) => t.image));
      const predicted = tf.tidy(() => tf.argMax(model.predict(x), 1));
      const classes = await predicted.data();
      x.dispose();
      predicted.dispose();
      items.forEach((t, k) => {
        if (classes[k] === t.label) correct++;
      });
    }
    const accuracy = (100 * correct) / n;
    const p = getWeights('resnet20', 'FASHION_MNIST').provenance;
    console.log(
      `FASHION_MNIST (float16, as shipped): ${accuracy.toFixed(2)} % top-1 on ${n} test images in ${((performance.now() - start) / 1000).toFixed(1)} s; ` +
        `the float32 checkpoint: ${p?.float32.acc1} % (float16 − float32: ${(accuracy - (p?.float32.acc1 ?? Number.NaN)).toFixed(2)} points, ` +
        `${p?.float16.changedPredictions} predictions changed, largest |logit difference| ${p?.float16.maxLogitDifference}, measured when generated)`,
    );
    expect(accuracy).toBeGreaterThanOrEqual(91);
  }, 300_000);

  it('preprocess of a test image (28×28 grey PNG) is the loader’s tensor for it, exactly', async () => {
    const data = loadFashionMnist({ trainLimit: 10, testLimit: 30 });
    for (const j of [0, 7, 13, 29]) {
      const { image } = testImage(j);
      const png = encodePng({ width: 28, height: 28, data: image.data as Uint8Array, channels: 1 });
      const x = await model.preprocess(png);
      expect(x.shape).toEqual([1, 32, 32, 1]);
      const ours = await x.data();
      x.dispose();
      const loader = data.test.images.subarray(j * 1024, (j + 1) * 1024);
      let differing = 0;
      for (let k = 0; k < 1024; k++) if (ours[k] !== loader[k]) differing++;
      expect([j, differing]).toEqual([j, 0]);
    }
  });

  it('classify names most test images right, with probabilities that sum to 1', async () => {
    const items = Array.from({ length: 20 }, (_, j) => testImage(j * 37));
    const tops = await model.classify(
      items.map((t) => t.image),
      { topk: 10 },
    );
    let right = 0;
    tops.forEach((top, k) => {
      const label = items[k]?.label as number;
      expect(top).toHaveLength(10);
      expect(top.reduce((s, p) => s + p.probability, 0)).toBeCloseTo(1, 5);
      if (top[0]?.index === label) right++;
      expect(top[0]?.label).toBe(model.categories?.[top[0]?.index as number]);
    });
    console.log(`classify: ${right} of ${items.length} test images named right (top-1)`);
    expect(right).toBeGreaterThanOrEqual(16);
    const one = await model.classify(testImage(1).image, { topk: 5 });
    expect(one.map((p) => p.label)[0]).toBe('Trouser'); // test image 1 is a trouser (class 1)
  });
});
