// A TypeScript consumer (ESM, moduleResolution nodenext): must type-check against the packed types.
import { type BackendInfo, initBackend } from '@resnet/backends';
import { COMMANDS, type Command } from '@resnet/cli';
import { ResNet, type ResNetConfig } from '@resnet/core';
import { loadTorchvisionWeights } from '@resnet/core/node';
import { type ImageTransforms, type RgbImage, applyTransforms, imageClassification } from '@resnet/images';
import { readImage } from '@resnet/images/node';
import { exportOnnx, type OnnxSignature, onnxSignature, tritonConfig } from '@resnet/onnx';
import { writeOnnx } from '@resnet/onnx/node';
import { formatSummary, summary } from '@resnet/summary';
import { type Optimizer, Rng, Sgd, type StepResult, trainStep } from '@resnet/train';
import { type CheckpointInfo, saveCheckpoint } from '@resnet/train/node';
import { createModel, type PresetName, type ZooEntry, listPresets } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';

const config: ResNetConfig = { block: 'basic', depths: [2, 2, 2, 2], widths: [64, 128, 256, 512] };
const info: BackendInfo = await initBackend({ prefer: 'wasm' });
const name: PresetName = 'resnet18';
const model: ResNet = createModel(name, { numClasses: 10 });
const built = new ResNet(config);
const y: tf.Tensor = model.predict(tf.zeros([1, 64, 64, 3]));
const rows: ZooEntry[] = listPresets();
const commands: Command[] = COMMANDS;
const text: string = formatSummary(summary(built, [1, 224, 224, 3]));
const load: (m: ResNet, path: string) => unknown = loadTorchvisionWeights;
const optimizer: Optimizer = new Sgd(model.namedParameters(), { lr: 0.1 });
const step: StepResult = trainStep(model, optimizer, {
  images: new Float32Array(64 * 64 * 3),
  labels: Int32Array.from([1]),
  shape: [1, 64, 64, 3],
});
const info2: CheckpointInfo = { epoch: 1, rng: new Rng(0).getState() };
saveCheckpoint('x.ckpt', model, optimizer, info2);
const transforms: ImageTransforms = imageClassification({ cropSize: 224 });
const read: (path: string) => RgbImage = readImage;
const host = applyTransforms({ width: 1, height: 1, data: new Uint8Array(3) }, transforms);
const onnx: Uint8Array = exportOnnx(model, { layout: 'nhwc', optimize: true });
const signature: OnnxSignature = onnxSignature(model, { staticBatch: 4 });
const triton: string = tritonConfig(model, { name: 'resnet18', maxBatchSize: 8 });
const write: typeof writeOnnx = writeOnnx;
// @ts-expect-error: an unknown preset option is a type error
createModel('resnet18', { numClases: 10 });
export { info, y, rows, commands, text, load, step, read, host, onnx, signature, triton, write };
