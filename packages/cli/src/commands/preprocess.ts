import { existsSync, statSync } from 'node:fs';
import { type HostTensor, ResNetError } from '@resnet/core';
import { writeNpyFile } from '@resnet/core/node';
import { preprocessToHost } from '@resnet/images/node';
import { getPreset } from '@resnet/zoo';
import { classifierTransforms } from '../classifier.js';
import { type Command, choiceFlag, stringFlag } from '../command.js';

const USAGE = 'resnet preprocess <image> --arch <name> [--weights <NAME>] --output <x.npy> [--layout nhwc|nchw]';

export const preprocessCommand: Command = {
  name: 'preprocess',
  summary: 'writes the tensor classify feeds the model for an image, as .npy (to compare with Python)',
  usage: USAGE,
  help: `Decodes a PNG or JPEG image and applies the eval transforms of the preset's weights, exactly as
resnet classify does before the model runs (torchvision's weights.transforms(): resize of the
shorter side with PIL's antialiased bilinear filter, centre crop, ÷255, normalise), and writes the
batch of one as a float32 .npy file. Nothing is downloaded: the transforms come from the registry.

Options:
  --arch NAME     the preset (required)
  --weights NAME  the weights whose transforms to apply: IMAGENET1K_V1, IMAGENET1K_V2 or DEFAULT
                  (the default); a URL or path named as a torchvision checkpoint uses that entry's
  --output FILE   the .npy file to write (required)
  --layout L      nhwc (default: [1, 224, 224, 3], as @resnet models take it) or nchw
                  ([1, 3, 224, 224], as torchvision's transforms(img).unsqueeze(0) gives it)

In Python: np.load("x.npy") equals ResNet50_Weights.DEFAULT.transforms()(Image.open(p).convert("RGB"))
with --layout nchw (bit for bit for PNG; JPEG decoders differ by a few levels).

Examples:
  resnet preprocess cat.jpg --arch resnet50 --output x.npy --layout nchw
  resnet preprocess cat.png --arch resnet18 --weights IMAGENET1K_V1 --output x.npy`,
  options: {
    arch: { type: 'string' },
    weights: { type: 'string' },
    output: { type: 'string' },
    layout: { type: 'string' },
  },
  positionals: [1, 1],
  async run(args, io) {
    const image = args.positionals[0] as string;
    const arch = stringFlag(args, 'arch', true, USAGE);
    const output = stringFlag(args, 'output', true, USAGE);
    const layout = choiceFlag(args, 'layout', ['nhwc', 'nchw'] as const, 'nhwc');
    getPreset(arch);
    const transforms = classifierTransforms(arch, stringFlag(args, 'weights'));
    if (existsSync(output) && statSync(output).isDirectory()) {
      throw new ResNetError(`cannot write ${output}: it is a directory`);
    }
    const nhwc = await preprocessToHost(image, transforms);
    const tensor = layout === 'nchw' ? nhwcToNchw(nhwc) : nhwc;
    writeNpyFile(output, tensor);
    io.stderr(
      `${image} → ${output}: [${tensor.shape.join(', ')}] float32 ${layout.toUpperCase()} (resize ${transforms.resizeSize}, crop ${transforms.cropSize})\n`,
    );
  },
};

/** A float32 NHWC host tensor in NCHW order. */
function nhwcToNchw(t: HostTensor): HostTensor {
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const out = new Float32Array(t.data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let ch = 0; ch < c; ch++)
          out[((b * c + ch) * h + y) * w + x] = t.data[((b * h + y) * w + x) * c + ch] as number;
  return { dtype: 'float32', shape: [n, c, h, w], data: out };
}
