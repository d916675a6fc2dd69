import { existsSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { type HostTensor, loadStateDict, ResNetError } from '@resnet/core';
import { writeFileAtomic } from '@resnet/core/node';
import { type OnnxExportOptions, onnxSignature, tritonConfig } from '@resnet/onnx';
import { writeOnnx } from '@resnet/onnx/node';
import { createModel, getPreset, type PresetOptions } from '@resnet/zoo';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { choiceFlag, type Command, intFlag, stringFlag, UsageError } from '../command.js';
import { readPretrainedWeights } from '../pretrained-weights.js';

const USAGE =
  'resnet export <arch> [--weights <NAME|URL|path>] --output <model.onnx> [--optimize] [--layout nchw|nhwc] [--static-batch N] [--num-classes N] [--image-size N|HxW] [--triton-config <config.pbtxt> [--max-batch N]]';

/**
 * The head and input the weights were trained with (a fine-tuned or `resnet train` model keeps its
 * class count and channels): classes from `fc.weight` ([classes, features]; none: a headless
 * model), channels from `conv1.weight` ([out, in, kh, kw]).
 */
function shapeOptions(tensors: Map<string, HostTensor>): PresetOptions {
  const fc = tensors.get('fc.weight');
  const conv1 = tensors.get('conv1.weight');
  const options: PresetOptions = { numClasses: fc?.shape.length === 2 ? (fc.shape[0] as number) : 0 };
  if (conv1?.shape.length === 4) options.inputChannels = conv1.shape[1] as number;
  return options;
}

function imageSizeFlag(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/.exec(value);
  const h = Number(m?.[1]);
  const w = Number(m?.[2] ?? m?.[1]);
  if (!m || h < 1 || w < 1 || h > 16384 || w > 16384) {
    throw new UsageError(
      `--image-size expects a size such as 224 or 160x192 (height x width), got ${JSON.stringify(value)}`,
    );
  }
  return [h, w];
}

/** A file to write: not a directory, in a directory that exists. */
function writablePath(flag: string, path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) throw new ResNetError(`--${flag} ${path} is a directory`);
  const dir = dirname(resolve(path));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ResNetError(`--${flag} ${path}: the directory ${dir} does not exist; create it first`);
  }
  return path;
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'writes a preset (with torchvision weights or a training checkpoint) as an ONNX model',
  usage: USAGE,
  help: `Exports a preset as an ONNX model (opset 13) for onnxruntime, Triton, TensorRT or OpenVINO:
one node per module, named as in torchvision (layer1.0.conv1), initializers named by torchvision's
state_dict keys, input "input" (NCHW like torch.onnx.export, or NHWC), output "logits" ("features"
for a model without a head), dynamic batch, height and width unless fixed. The file is written
atomically: a refused export writes nothing. Files above 2 GiB are refused (protobuf's limit).

Options:
  --weights W        a NAME of the preset's torchvision weights (IMAGENET1K_V2, DEFAULT) or a URL,
                     downloaded once, verified and cached; or a file: a torchvision state_dict
                     (.pth as torch.save writes it, or .safetensors) or a checkpoint of \`resnet train\`
                     (its class count and input channels are kept). Default: random weights (seed 0)
  --output FILE      the .onnx file to write (required)
  --optimize         export the inference form: every BatchNorm folded into its convolution
                     (Conv with bias, then Relu), as optimizeForInference runs it
  --layout L         nchw (default) or nhwc: the input's layout (a Transpose starts the graph)
  --static-batch N   a fixed batch size (default: dynamic)
  --num-classes N    classes of the head when the weights do not say (0: no head, pooled features)
  --image-size S     a fixed input size, 224 or 160x192 (default: dynamic; TensorRT and OpenVINO
                     plan faster with fixed shapes)
  --triton-config F  also write a Triton config.pbtxt for this file (its model name is F's folder)
  --max-batch N      Triton's max_batch_size with a dynamic batch (default 8)
${BACKEND_HELP}

Examples:
  resnet export resnet50 --weights IMAGENET1K_V2 --output resnet50.onnx
  resnet export resnet50 --weights r50.safetensors --output resnet50.onnx --optimize --static-batch 8
  resnet export resnet20 --weights runs/r20/checkpoint.safetensors --output r20.onnx --layout nhwc
  resnet export resnet50 --weights r50.safetensors --optimize \\
      --output models/resnet50/1/model.onnx --triton-config models/resnet50/config.pbtxt`,
  options: {
    weights: { type: 'string' },
    output: { type: 'string' },
    optimize: { type: 'boolean' },
    layout: { type: 'string' },
    'static-batch': { type: 'string' },
    'num-classes': { type: 'string' },
    'image-size': { type: 'string' },
    'triton-config': { type: 'string' },
    'max-batch': { type: 'string' },
    ...backendOption,
  },
  positionals: [1, 1],
  async run(args, io) {
    const arch = args.positionals[0] as string;
    getPreset(arch);
    const output = writablePath('output', stringFlag(args, 'output', true, USAGE));
    const layout = choiceFlag(args, 'layout', ['nchw', 'nhwc'] as const, 'nchw');
    const staticBatch =
      args.values['static-batch'] === undefined ? undefined : intFlag(args, 'static-batch', 1, 1, 1_000_000);
    const numClasses =
      args.values['num-classes'] === undefined ? undefined : intFlag(args, 'num-classes', 1, 0, 1_000_000);
    const imageSize = imageSizeFlag(stringFlag(args, 'image-size'));
    const tritonPath = stringFlag(args, 'triton-config');
    if (tritonPath !== undefined) writablePath('triton-config', tritonPath);
    if (args.values['max-batch'] !== undefined && tritonPath === undefined) {
      throw new UsageError('--max-batch sets the Triton config’s max_batch_size: it needs --triton-config');
    }
    if (args.values['max-batch'] !== undefined && staticBatch !== undefined) {
      throw new UsageError(
        '--max-batch is for a dynamic batch; with --static-batch the Triton config has max_batch_size 0 (Triton passes whole batches)',
      );
    }
    const maxBatch = args.values['max-batch'] === undefined ? undefined : intFlag(args, 'max-batch', 8, 1, 1_000_000);

    // Everything is read and checked before any weight is allocated or any file written.
    const spec = stringFlag(args, 'weights');
    const read = spec === undefined ? null : await readPretrainedWeights(spec, arch);
    const weights = {
      tensors: read?.stateDict ?? null,
      description: read?.description ?? 'random initialisation (seed 0)',
    };
    const fromWeights = weights.tensors ? shapeOptions(weights.tensors) : {};
    const presetOptions: PresetOptions = {
      ...fromWeights,
      ...(numClasses === undefined ? {} : { numClasses }),
      ...(weights.tensors ? {} : { seed: 0 }),
    };
    const options: OnnxExportOptions = {
      layout,
      optimize: args.values.optimize === true,
      weights: weights.description,
      ...(staticBatch === undefined ? {} : { staticBatch }),
      ...(imageSize === undefined ? {} : { imageSize }),
    };
    // The signature of a meta model (shapes only) checks the options and the 2 GiB limit.
    const meta = createModel(arch, { ...presetOptions, meta: true });
    const signature = onnxSignature(meta, options);
    const config =
      tritonPath === undefined
        ? undefined
        : tritonConfig(meta, {
            ...options,
            name: basename(dirname(resolve(tritonPath))),
            ...(maxBatch === undefined ? {} : { maxBatchSize: maxBatch }),
          });

    const backend = await startBackend(args);
    const model = createModel(arch, presetOptions);
    try {
      if (weights.tensors) {
        try {
          loadStateDict(model, weights.tensors);
        } catch (e) {
          throw new ResNetError(`${stringFlag(args, 'weights')}: ${(e as Error).message}`);
        }
      }
      const { bytes } = writeOnnx(output, model, options);
      if (config !== undefined && tritonPath !== undefined)
        writeFileAtomic(tritonPath, new TextEncoder().encode(config));
      const describe = (s: { name: string; dims: readonly (number | string | null)[] }) =>
        `${s.name} [${s.dims.map((d) => d ?? '?').join(', ')}]`;
      io.stderr(
        `${arch} (${weights.description}${options.optimize ? ', BatchNorm folded' : ''}, ${backend}) → ${output}: ` +
          `${(bytes / 1e6).toFixed(1)} MB, opset 13, ${describe(signature.input)} → ${signature.outputs.map(describe).join(', ')}` +
          `${tritonPath ? `; Triton config ${tritonPath}` : ''}\n`,
      );
    } finally {
      model.dispose();
    }
  },
};
