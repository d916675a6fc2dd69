// A TypeScript consumer (ESM, moduleResolution nodenext): must type-check against the packed types.
import { type BackendInfo, initBackend } from '@resnet/backends';
import { COMMANDS, type Command } from '@resnet/cli';
import { ResNet, type ResNetConfig } from '@resnet/core';
import { loadTorchvisionWeights } from '@resnet/core/node';
import { formatSummary, summary } from '@resnet/summary';
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
// @ts-expect-error: an unknown preset option is a type error
createModel('resnet18', { numClases: 10 });
export { info, y, rows, commands, text, load };
