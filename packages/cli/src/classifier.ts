/**
 * The model `resnet classify` runs and the transforms `resnet preprocess` applies, for `--arch` and
 * `--weights`: torchvision's weights (a NAME, a URL, a `.pth`/`.safetensors` path), or a training
 * checkpoint of `resnet train`.
 */
import { ResNetError } from '@resnet/core';
import type { ImageTransforms, NodeImageInput } from '@resnet/images/node';
import { getWeights, type PretrainedResNet, weightsArgumentKind, weightsEntryOfFile } from '@resnet/zoo';
import { pretrainedFromStateDict } from '@resnet/zoo/node';
import { readWeightsArgument } from './weights-argument.js';

/** The classifier of `--arch` with `--weights` (default DEFAULT), loaded strictly and in eval mode. */
export async function loadClassifier(arch: string, weights = 'DEFAULT'): Promise<PretrainedResNet<NodeImageInput>> {
  const { file, tensors, checkpoint } = await readWeightsArgument(arch, weights);
  if (checkpoint) {
    // SEAM (training checkpoints). Classifying with a `resnet train` checkpoint needs what it records
    // about its classifier: the class names by index and the eval transforms. @resnet/train records
    // them from the `finetune` branch on (`readCheckpointWeights(path).classifier`: arch, classes,
    // transforms). Once that is in main: check `classifier.arch === arch`, then return
    // `pretrainedFromStateDict(arch, tensors, { categories: classes, transforms, origin })`, and let
    // `classifierTransforms` return the checkpoint's transforms.
    throw new ResNetError(
      `${file.path} is a checkpoint of resnet train, which does not record its class names and image transforms yet; classify with torchvision weights (a NAME, a URL or a .pth/.safetensors state_dict)`,
    );
  }
  return pretrainedFromStateDict(arch, tensors, {
    entry: file.entry ?? weightsEntryOfFile(arch, file.fileName),
    origin: { fileName: file.fileName, url: file.url, path: file.path, sha256: file.sha256 },
  });
}

/**
 * The transforms `loadClassifier(arch, weights)` applies, without downloading or reading anything:
 * a NAME's, those of a URL or path named as a torchvision checkpoint, else the architecture's DEFAULT.
 */
export function classifierTransforms(arch: string, weights = 'DEFAULT'): ImageTransforms {
  if (weightsArgumentKind(weights) === 'name') return getWeights(arch, weights).transforms;
  return (weightsEntryOfFile(arch, weights) ?? getWeights(arch)).transforms;
}
