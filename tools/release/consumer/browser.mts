// A browser-side TypeScript consumer (moduleResolution Bundler, no Node types): the main entry
// points of the packages that run in browsers type-check without @types/node.
import { initBackend } from '@resnet/backends';
import { type ResNet, parseSafetensors } from '@resnet/core';
import { imageClassification, preprocess } from '@resnet/images';
import { exportOnnx } from '@resnet/onnx';
import { formatSummary, summary } from '@resnet/summary';
import { Sgd } from '@resnet/train';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

await initBackend({ prefer: ['webgl', 'wasm'] });
const model: ResNet = createModel('resnet50', { seed: 0 });
const logits: tf.Tensor = model.predict(tf.zeros([1, 224, 224, 3]));
const html: string = formatSummary(summary(model, [1, 224, 224, 3]), 'html');
const parse: (bytes: Uint8Array) => unknown = parseSafetensors;
const optimizer = new Sgd(model.namedParameters(), { lr: 0.01, momentum: 0.9 });
const onnx: Uint8Array = exportOnnx(model, { layout: 'nhwc' });
const image = document.createElement('img');
const input: tf.Tensor4D = await preprocess(image, imageClassification({ cropSize: 224 }));
export { logits, html, parse, optimizer, input, onnx };
