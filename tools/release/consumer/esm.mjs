// ESM consumer of the packed packages: imports every package and runs resnet18 on WASM.
import assert from 'node:assert/strict';
import { describeBackend, initBackend } from '@resnet/backends';
import { main } from '@resnet/cli';
import { exportStateDict, ResNet } from '@resnet/core';
import { readSafetensorsFile } from '@resnet/core/node';
import { imageClassification, preprocess, toRGB } from '@resnet/images/node';
import { exportOnnx } from '@resnet/onnx';
import { writeOnnx } from '@resnet/onnx/node';
import { formatSummary, summary } from '@resnet/summary';
import { Sgd, trainStep } from '@resnet/train';
import { loadCheckpoint } from '@resnet/train/node';
import { createModel, IMAGENET_CATEGORIES, listPresets } from '@resnet/zoo';
import { pretrainedFromStateDict } from '@resnet/zoo/node';
import * as tf from '@tensorflow/tfjs-core';

const expectedParams = Number(process.env.EXPECTED_RESNET18_PARAMS);
assert.equal(typeof ResNet, 'function');
assert.equal(typeof readSafetensorsFile, 'function');
assert.equal(typeof main, 'function');

await initBackend({ prefer: 'wasm' });
assert.equal(describeBackend().name, 'wasm');
const before = tf.memory().numTensors;
const model = createModel('resnet18', { seed: 0 });
assert.equal(model.countParameters(), expectedParams);
const x = tf.randomNormal([1, 224, 224, 3], 0, 1, 'float32', 1);
const t0 = performance.now();
const y = model.predict(x);
const values = await y.data();
const ms = performance.now() - t0;
assert.deepEqual(y.shape, [1, 1000]);
assert.ok(values.every(Number.isFinite), 'finite logits');
tf.dispose([x, y]);
// resnet18 as ONNX: torchvision's 11.7 M parameters as float32 initializers, plus the graph.
const onnxBytes = exportOnnx(model, { optimize: true });
assert.ok(
  onnxBytes.length > expectedParams * 4 * 0.99 && onnxBytes.length < expectedParams * 4 * 1.01,
  `ONNX size ${onnxBytes.length}`,
);
assert.equal(typeof writeOnnx, 'function');
model.dispose();
assert.equal(tf.memory().numTensors, before, 'no tensor leaked');

const text = formatSummary(summary(createModel('resnet18', { meta: true }), [1, 3, 224, 224], { layout: 'nchw' }));
assert.match(text, new RegExp(`Total params: ${expectedParams.toLocaleString('en-US')}`));
assert.ok(listPresets().length >= 20);
// One SGD step of resnet20 on WASM: the gradient kernels @resnet/backends registers are there.
assert.equal(typeof loadCheckpoint, 'function');
const small = createModel('resnet20', { numClasses: 10, seed: 0 });
small.train();
const optimizer = new Sgd(small.namedParameters(), { lr: 0.1, momentum: 0.9 });
const batch = {
  images: Float32Array.from({ length: 2 * 16 * 16 * 3 }, (_, i) => Math.sin(i)),
  labels: Int32Array.from([3, 7]),
  shape: [2, 16, 16, 3],
};
const step = trainStep(small, optimizer, batch);
assert.ok(Number.isFinite(step.loss) && step.loss > 0, `finite loss, got ${step.loss}`);
small.dispose();
optimizer.dispose(); // its momentum buffers

// @resnet/images: a 2×1 PNG (written by PIL: RGB 200, 100, 50) decoded and preprocessed.
const png = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGM8kWLEwMAAAAd6AWCUFlkyAAAAAElFTkSuQmCC',
  'base64',
);
assert.deepEqual(Array.from((await toRGB(png)).data), [200, 100, 50, 200, 100, 50]);
const beforeImages = tf.memory().numTensors;
const pixels = await preprocess(png, imageClassification({ cropSize: 8, resizeSize: 8 }));
assert.deepEqual(pixels.shape, [1, 8, 8, 3]);
assert.ok(Math.abs((await pixels.data())[0] - (200 / 255 - 0.485) / 0.229) < 1e-6, 'normalised red');
pixels.dispose();
assert.equal(tf.memory().numTensors, beforeImages, 'no tensor leaked by preprocess');

// @resnet/zoo's classifier over @resnet/images: a resnet18 state dict, the PNG, three named classes.
const seeded = createModel('resnet18', { seed: 0 });
const classifier = pretrainedFromStateDict('resnet18', exportStateDict(seeded));
seeded.dispose();
const top = await classifier.classify(png, { topk: 3 });
assert.equal(top.length, 3);
assert.ok(top.every((p) => p.label === IMAGENET_CATEGORIES[p.index] && p.probability > 0 && p.probability < 1));
classifier.dispose();
assert.equal(tf.memory().numTensors, before, 'no tensor leaked by classify');

console.log(
  `esm: ok (resnet18 forward on wasm: [${y.shape.join(', ')}] in ${ms.toFixed(0)} ms; resnet20 SGD step, loss ${step.loss.toFixed(3)}; resnet18 ONNX ${(onnxBytes.length / 1e6).toFixed(1)} MB)`,
);
