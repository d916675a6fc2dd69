import { existsSync, statSync } from 'node:fs';
import {
  gradientsToTorch,
  type HostTensor,
  hostToTensor,
  loadStateDict,
  optimizeForInference,
  ResNetError,
  tensorToHost,
} from '@resnet/core';
import { readNpyFile, readStateDictFile, writeNpyFile, writeSafetensorsFile } from '@resnet/core/node';
import { createModel, getPreset } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { choiceFlag, type Command, intFlag, stringFlag, UsageError } from '../command.js';

const USAGE =
  'resnet run <arch> --weights <state_dict.pth|.safetensors> --input <x.npy> --output <y.npy> [--layout nhwc|nchw] [--mode eval|train] [--num-classes N] [--backend NAME] [--optimize] [--labels <int.npy> --grads <out.safetensors>]';

export const runCommand: Command = {
  name: 'run',
  summary: 'a forward pass (and optionally gradients) with torchvision weights on .npy data',
  usage: USAGE,
  help: `Runs a preset on a float32 .npy batch with weights from a torchvision state_dict (a .pth file as
torch.save writes it, torchvision's own checkpoints included, or safetensors), and writes the
output as .npy. With --labels, also writes the gradient of the mean
cross-entropy for every parameter, under torchvision's names and layouts (OIHW convolutions).

Options:
  --weights FILE     torchvision state_dict, .pth or .safetensors (required)
  --input FILE       float32 .npy batch (required), NHWC unless --layout nchw
  --output FILE      where to write the output .npy (required)
  --layout L         nhwc (default) or nchw: nchw takes and returns torch's layout
  --mode M           eval (default: running statistics) or train (batch statistics)
  --num-classes N    classes of the head, when the weights are not the preset's default
${BACKEND_HELP}
  --optimize         run the inference form: BatchNorm folded into the convolutions, fused
                     conv + bias + ReLU kernels (eval mode only; same outputs within 1e-4)
  --labels FILE      int .npy of class indices [batch]; needs --grads
  --grads FILE       where to write the gradients (.safetensors); needs --labels

Examples:
  resnet run resnet50 --weights resnet50-11ad3fa6.pth --input x.npy --output y.npy --layout nchw
  resnet run resnet50 --weights r50.safetensors --input x.npy --output y.npy --optimize
  resnet run resnet18 --weights r18.safetensors --input x.npy --output y.npy \\
      --layout nchw --mode train --labels labels.npy --grads grads.safetensors`,
  options: {
    weights: { type: 'string' },
    input: { type: 'string' },
    output: { type: 'string' },
    layout: { type: 'string' },
    mode: { type: 'string' },
    'num-classes': { type: 'string' },
    labels: { type: 'string' },
    grads: { type: 'string' },
    optimize: { type: 'boolean' },
    ...backendOption,
  },
  positionals: [1, 1],
  async run(args, io) {
    const arch = args.positionals[0] as string;
    getPreset(arch);
    const weightsPath = stringFlag(args, 'weights', true, USAGE);
    const inputPath = stringFlag(args, 'input', true, USAGE);
    const outputPath = stringFlag(args, 'output', true, USAGE);
    const layout = choiceFlag(args, 'layout', ['nhwc', 'nchw'] as const, 'nhwc');
    const mode = choiceFlag(args, 'mode', ['eval', 'train'] as const, 'eval');
    const numClasses =
      args.values['num-classes'] === undefined ? undefined : intFlag(args, 'num-classes', 1, 1, 1_000_000);
    const labelsPath = stringFlag(args, 'labels');
    const gradsPath = stringFlag(args, 'grads');
    const optimize = args.values.optimize === true;
    if (optimize && (mode === 'train' || labelsPath !== undefined)) {
      throw new UsageError(
        '--optimize runs the inference form (BatchNorm folded into the convolutions), which has eval-mode outputs and no gradients; drop --mode train and --labels',
      );
    }
    if ((labelsPath === undefined) !== (gradsPath === undefined)) {
      throw new UsageError(
        '--labels and --grads go together: the gradients need labels, and labels are only used for gradients',
      );
    }
    for (const out of [outputPath, gradsPath]) {
      if (out !== undefined && existsSync(out) && statSync(out).isDirectory()) {
        throw new ResNetError(`cannot write ${out}: it is a directory`);
      }
    }

    // Read and check every input before any computation; nothing is written until all succeeded.
    const weights = readStateDictFile(weightsPath).tensors;
    const input = await readNpyFile(inputPath);
    if (input.dtype !== 'float32') {
      throw new ResNetError(`${inputPath}: the input must be a float .npy array, got integers`);
    }
    if (input.shape.length !== 4) {
      throw new ResNetError(
        `${inputPath}: the input must have rank 4 (${layout === 'nchw' ? 'N, C, H, W' : 'N, H, W, C'}); got shape [${input.shape.join(', ')}]`,
      );
    }
    const labels = labelsPath === undefined ? undefined : await readNpyFile(labelsPath);

    const backend = await startBackend(args);
    const model = createModel(arch, numClasses === undefined ? {} : { numClasses });
    try {
      loadStateDict(model, weights);
      model.train(mode === 'train');
      const nhwcShape =
        layout === 'nchw' ? [input.shape[0], input.shape[2], input.shape[3], input.shape[1]] : input.shape;
      try {
        model.checkInputShape(nhwcShape as number[]);
      } catch (e) {
        throw new ResNetError(
          `${inputPath}: ${(e as Error).message}${layout === 'nhwc' ? ' (reading it as NHWC; pass --layout nchw for torch order)' : ''}`,
        );
      }
      if (labels) checkLabels(labels, labelsPath as string, input.shape[0] as number, model.outputChannels);

      const x = tf.tidy(() => {
        const t = hostToTensor(input);
        return layout === 'nchw' ? tf.transpose(t, [0, 2, 3, 1]) : t;
      });
      let output: HostTensor;
      let grads: Map<string, HostTensor> | undefined;
      try {
        if (labels) {
          const result = forwardAndGradients(model, x, labels, model.config.output === 'softmax');
          output = result.output;
          grads = result.grads;
        } else if (optimize) {
          const fast = optimizeForInference(model, { disposeSource: true });
          try {
            const y = fast.predict(x);
            output = toLayout(y, layout);
            y.dispose();
          } finally {
            fast.dispose();
          }
        } else {
          const y = model.predict(x);
          output = toLayout(y, layout);
          y.dispose();
        }
      } finally {
        x.dispose();
      }
      writeNpyFile(outputPath, output);
      if (grads && gradsPath) writeSafetensorsFile(gradsPath, grads);
      io.stderr(
        `${arch} (${mode}${optimize ? ', optimised' : ''}, ${backend}): input [${input.shape.join(', ')}] ${layout.toUpperCase()} → output [${output.shape.join(', ')}]${grads ? `, ${grads.size} gradients` : ''}\n`,
      );
    } finally {
      model.dispose();
    }

    function toLayout(y: tf.Tensor, l: 'nhwc' | 'nchw'): HostTensor {
      if (y.rank === 4 && l === 'nchw') {
        const t = tf.transpose(y, [0, 3, 1, 2]);
        const h = tensorToHost(t);
        t.dispose();
        return h;
      }
      return tensorToHost(y);
    }

    function forwardAndGradients(
      m: ReturnType<typeof createModel>,
      x: tf.Tensor,
      y: HostTensor,
      probabilities: boolean,
    ): { output: HostTensor; grads: Map<string, HostTensor> } {
      let out: tf.Tensor | undefined;
      const trainable = m.namedParameters().filter(([, v]) => v.trainable);
      const { value, grads } = tf.variableGrads(
        () => {
          const logits = m.call(x) as tf.Tensor2D;
          out = tf.keep(logits);
          const oneHot = tf.oneHot(tf.tensor1d(y.data as Int32Array, 'int32'), logits.shape[1]);
          const logp = probabilities ? tf.log(tf.maximum(logits, 1e-30)) : tf.logSoftmax(logits);
          return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logp), 1))) as tf.Scalar;
        },
        trainable.map(([, v]) => v),
      );
      value.dispose();
      const byVariable = new Map(trainable.map(([name, v]) => [v.name, name]));
      const named: Record<string, tf.Tensor> = {};
      for (const [varName, g] of Object.entries(grads)) {
        const name = byVariable.get(varName);
        if (name) named[name] = g;
      }
      const result = { output: toLayout(out as tf.Tensor, layout), grads: gradientsToTorch(m, named) };
      out?.dispose();
      for (const g of Object.values(grads)) g.dispose();
      return result;
    }
  },
};

function checkLabels(labels: HostTensor, path: string, batch: number, classes: number): void {
  if (labels.dtype !== 'int32')
    throw new ResNetError(`${path}: labels must be an integer .npy array (int64 or int32), got floats`);
  if (labels.shape.length !== 1 || labels.shape[0] !== batch) {
    throw new ResNetError(
      `${path}: labels must have shape [${batch}] (one class index per input); got [${labels.shape.join(', ')}]`,
    );
  }
  labels.data.forEach((v, i) => {
    if (v < 0 || v >= classes)
      throw new ResNetError(`${path}: label ${v} at index ${i} is outside [0, ${classes - 1}]`);
  });
}
