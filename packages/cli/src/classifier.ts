/**
 * The model `resnet classify` runs and the transforms `resnet preprocess` applies, for `--arch` and
 * `--weights`: torchvision's weights (a NAME, a URL, a `.pth`/`.safetensors` path), or a checkpoint
 * of `resnet train` (its class names and eval transforms come with it).
 */
import { existsSync } from 'node:fs';
import { ResNetError } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import type { ImageTransforms, NodeImageInput } from '@resnet/images/node';
import type { ClassifierInfo } from '@resnet/train';
import { checkpointContents, isTrainingCheckpoint } from '@resnet/train/node';
import { getWeights, type PretrainedResNet, weightsArgumentKind, weightsEntryOfFile } from '@resnet/zoo';
import { pretrainedFromStateDict } from '@resnet/zoo/node';
import { readPretrainedWeights } from './pretrained-weights.js';

/** The classifier of `--arch` with `--weights` (default DEFAULT), loaded strictly and in eval mode. */
export async function loadClassifier(arch: string, weights = 'DEFAULT'): Promise<PretrainedResNet<NodeImageInput>> {
  const read = await readPretrainedWeights(weights, arch);
  const { origin } = read;
  if (read.classifier) {
    const transforms = checkpointTransforms(read.classifier, arch, weights);
    return pretrainedFromStateDict(arch, read.stateDict, {
      transforms,
      categories: read.classifier.classes,
      origin,
    });
  }
  if (read.checkpoint) {
    throw new ResNetError(
      `${origin.path} is a checkpoint of resnet train saved without its class names and image transforms (by an older @resnet/train); train again (or continue it with --resume) to record them`,
    );
  }
  return pretrainedFromStateDict(arch, read.stateDict, {
    entry: read.entry ?? (origin.fileName === null ? null : weightsEntryOfFile(arch, origin.fileName)),
    origin,
  });
}

/**
 * The transforms `loadClassifier(arch, weights)` applies, without downloading anything: a NAME's,
 * a training checkpoint's own, those of a URL or path named as a torchvision checkpoint, else the
 * architecture's DEFAULT.
 */
export function classifierTransforms(arch: string, weights = 'DEFAULT'): ImageTransforms {
  const kind = weightsArgumentKind(weights);
  if (kind === 'name') return getWeights(arch, weights).transforms;
  if (kind === 'path' && existsSync(weights) && weights.endsWith('.safetensors')) {
    const dict = readStateDictFile(weights);
    if (dict.format === 'safetensors' && isTrainingCheckpoint(dict.metadata)) {
      const { info } = checkpointContents(dict, weights);
      if (info.classifier) return checkpointTransforms(info.classifier, arch, weights);
    }
  }
  return (weightsEntryOfFile(arch, weights) ?? getWeights(arch)).transforms;
}

/** A training checkpoint's eval transforms, checked against `--arch`; RGB checkpoints only. */
function checkpointTransforms(info: ClassifierInfo, arch: string, weights: string): ImageTransforms {
  if (info.arch !== arch) {
    throw new ResNetError(
      `--weights ${weights} is a checkpoint of ${info.arch}, not of --arch ${arch}: pass --arch ${info.arch}`,
    );
  }
  if (info.transforms === null || info.inputChannels !== 3) {
    throw new ResNetError(
      `--weights ${weights} was trained on ${info.data} (${info.inputChannels} input channel${info.inputChannels === 1 ? '' : 's'}) and records no RGB image transforms; resnet classify takes checkpoints trained on image folders (resnet train --data DIR)`,
    );
  }
  return info.transforms;
}
