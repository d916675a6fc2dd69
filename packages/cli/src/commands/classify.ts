import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { ResNetError } from '@resnet/core';
import { sniffFormat } from '@resnet/images';
import type { Prediction } from '@resnet/zoo';
import { BACKEND_HELP, backendOption, startBackend } from '../backend.js';
import { classifierTransforms, loadClassifier } from '../classifier.js';
import { type Command, intFlag, stringFlag } from '../command.js';

const USAGE =
  'resnet classify <image...> --arch <name> [--weights <NAME|URL|path>] [--topk K] [--json] [--backend NAME]';

/** Images classified per forward pass. */
const BATCH = 8;

export const classifyCommand: Command = {
  name: 'classify',
  summary: 'names what PNG/JPEG photos show, with torchvision’s pretrained weights',
  usage: USAGE,
  help: `Classifies PNG and JPEG images with a preset and its weights, as torchvision does: each image is
decoded as PIL decodes it, transformed with the weights' eval transforms (resize, centre crop,
normalise), and the softmax of the model's output gives the top classes with their probabilities.

Weights (--weights):
  NAME           a torchvision entry of the preset: IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT (the
                 default). Downloaded once from download.pytorch.org into $RESNET_HOME/checkpoints
                 (default ~/.cache/resnet), verified against the SHA-256 prefix in the file name;
                 a copy in torch's cache ($TORCH_HOME/hub/checkpoints) is used without a download.
                 RESNET_WEIGHTS_MIRROR replaces https://download.pytorch.org/models/.
                 resnet20's FASHION_MNIST (also its DEFAULT) is ours, trained with resnet train
                 on Fashion-MNIST and shipped inside @resnet/zoo: nothing to download; it takes
                 grey 28×28 images of clothes (one of its 10 Fashion-MNIST classes)
  URL            an http(s) URL whose file name carries its SHA-256 prefix (<name>-<hex>.pth)
  path           a .pth (torch.save) or .safetensors state_dict, read as it is

Options:
  --arch NAME    the preset (required): resnet18, resnet50, wide_resnet50_2, resnext50_32x4d, ...
  --topk K       classes per image (default 5)
  --json         print the result as JSON: its last stdout line is an array with one object per
                 image, { "image": "<path>", "top": [{ "index", "label", "probability" }, ...] }
${BACKEND_HELP}

EXIF orientation is ignored, as PIL and torchvision ignore it.

Examples:
  resnet classify cat.jpg --arch resnet50
  resnet classify photos/a.png photos/b.jpg --arch resnet18 --topk 3 --json
  resnet classify cat.jpg --arch resnet50 --weights IMAGENET1K_V1
  resnet classify cat.jpg --arch resnet50 --weights ./resnet50-11ad3fa6.pth
  resnet classify shoe.png --arch resnet20 --weights FASHION_MNIST`,
  options: {
    arch: { type: 'string' },
    weights: { type: 'string' },
    topk: { type: 'string' },
    json: { type: 'boolean' },
    ...backendOption,
  },
  positionals: [1, Number.MAX_SAFE_INTEGER],
  async run(args, io) {
    const images = args.positionals;
    const arch = stringFlag(args, 'arch', true, USAGE);
    const weights = stringFlag(args, 'weights');
    const topk = intFlag(args, 'topk', 5, 1, 1_000_000);
    // Everything that can be checked without the weights fails before a download.
    classifierTransforms(arch, weights);
    for (const image of images) checkImageFile(image);

    const backend = await startBackend(args);
    const model = await loadClassifier(arch, weights);
    try {
      if (topk > model.outputChannels) {
        throw new ResNetError(`--topk ${topk} is more than the ${model.outputChannels} classes of the model`);
      }
      const results: { image: string; top: Prediction[] }[] = [];
      for (let i = 0; i < images.length; i += BATCH) {
        const batch = images.slice(i, i + BATCH);
        const tops = await model.classify(batch, { topk });
        batch.forEach((image, j) => {
          results.push({ image, top: tops[j] as Prediction[] });
        });
      }
      const w = model.weights;
      const source = w ? (w.torchvision ?? `${w.name}, trained by resnet train`) : (model.origin.fileName ?? 'state dict');
      const where = model.origin.path ?? model.origin.url ?? `shipped in @resnet/zoo as ${model.origin.fileName}`;
      io.stderr(
        `${arch} with ${source} (${where}), ${backend}: ${images.length} image${images.length === 1 ? '' : 's'}\n`,
      );
      if (args.values.json) {
        io.stdout(`${JSON.stringify(results)}\n`);
        return;
      }
      io.stdout(results.map((r) => `${r.image}\n${formatTop(r.top)}`).join('\n\n') + '\n');
    } finally {
      model.dispose();
    }
  },
};

/** A readable PNG or JPEG file, by its first bytes (decoding comes later, one batch at a time). */
function checkImageFile(path: string): void {
  let head: Uint8Array;
  try {
    if (!statSync(path).isFile()) throw new ResNetError(`${path} is not a file; pass PNG or JPEG files`);
    const fd = openSync(path, 'r');
    try {
      head = new Uint8Array(16);
      head = head.subarray(0, readSync(fd, head, 0, 16, 0));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if (e instanceof ResNetError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ResNetError(code === 'ENOENT' ? `no image at ${path}; check the path` : `cannot read ${path} (${code})`);
  }
  const format = sniffFormat(head);
  if (format !== 'png' && format !== 'jpeg') {
    throw new ResNetError(
      `${path}: expected a PNG or JPEG file; got ${format === 'unknown' ? 'something else' : `a ${format.toUpperCase()} file`}. Convert it to PNG or JPEG first`,
    );
  }
}

/** `  1. Egyptian cat (285)   93.12%` lines, the labels padded to one width. */
function formatTop(top: readonly Prediction[]): string {
  const names = top.map((p, i) => `${String(i + 1).padStart(3)}. ${p.label} (${p.index})`);
  const width = Math.max(...names.map((n) => n.length));
  return top
    .map((p, i) => `${(names[i] as string).padEnd(width)}  ${(p.probability * 100).toFixed(2).padStart(6)}%`)
    .join('\n');
}
