/**
 * The model `resnet classify` runs and the transforms `resnet preprocess` applies, for `--arch` and
 * `--weights`: torchvision's weights (a NAME, a URL, a `.pth`/`.safetensors` path) through
 * `@resnet/zoo/node`'s `pretrained`, or a training checkpoint of `resnet train`.
 */
import { existsSync, statSync } from 'node:fs';
import { ResNetError } from '@resnet/core';
import { readSafetensorsFile } from '@resnet/core/node';
import type { ImageTransforms, NodeImageInput } from '@resnet/images/node';
import { getWeights, type PretrainedResNet, weightsArgumentKind, weightsEntryOfFile } from '@resnet/zoo';
import { pretrained } from '@resnet/zoo/node';

/**
 * SEAM (training checkpoints). A checkpoint of `resnet train` keeps the model under `model.*`
 * beside the optimiser's state. Classifying with one needs what the checkpoint records about its
 * classifier: the preset, the class names by index and the eval transforms. @resnet/train gains
 * `readCheckpointWeights(path)` → `{ stateDict, classifier: { arch, classes, transforms, … } }` on
 * the `finetune` branch; once it is in main, this function becomes: read it, check `arch`, and
 * return `pretrainedFromStateDict(arch, stateDict, { categories: classes, transforms })` from
 * `@resnet/zoo/node` (and `classifierTransforms` returns its `transforms`). Until then a training
 * checkpoint is recognised by its format marker and refused with that explanation.
 */
export function refuseTrainingCheckpoint(
  path: string,
  instead = 'classify with torchvision weights (a NAME, a URL or a .pth/.safetensors state_dict)',
): void {
  if (!path.endsWith('.safetensors') || !existsSync(path) || !statSync(path).isFile()) return;
  let format: string | undefined;
  try {
    format = readSafetensorsFile(path).metadata.format;
  } catch {
    return; // not readable as safetensors: `pretrained` says why
  }
  if (format === 'resnet-train-checkpoint') {
    throw new ResNetError(
      `${path} is a checkpoint of resnet train, which does not record its class names and image transforms yet; ${instead}`,
    );
  }
}

/** The classifier of `--arch` with `--weights` (default DEFAULT), loaded and in eval mode. */
export async function loadClassifier(
  arch: string,
  weights: string | undefined,
): Promise<PretrainedResNet<NodeImageInput>> {
  if (weights !== undefined && weightsArgumentKind(weights) === 'path') refuseTrainingCheckpoint(weights);
  return pretrained(arch, { weights: weights ?? 'DEFAULT' });
}

/**
 * The transforms `loadClassifier(arch, weights)` would apply, without downloading anything: a
 * NAME's, those of a file named as a torchvision checkpoint, else the architecture's DEFAULT.
 */
export function classifierTransforms(arch: string, weights: string | undefined): ImageTransforms {
  if (weights === undefined || weightsArgumentKind(weights) === 'name') return getWeights(arch, weights).transforms;
  refuseTrainingCheckpoint(weights);
  return (weightsEntryOfFile(arch, weights) ?? getWeights(arch)).transforms;
}
