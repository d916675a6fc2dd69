/**
 * The one place where `resnet train --weights <NAME|URL|path>` becomes tensors: torchvision's
 * weights by name or URL (downloaded and verified by @resnet/zoo), a `.pth` or safetensors
 * state_dict (read by @resnet/core), or a training checkpoint of ours with its classifier info.
 */
import { existsSync, statSync } from 'node:fs';
import { type HostTensor, ResNetError } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import type { ImageTransforms } from '@resnet/images';
import { CHECKPOINT_FORMAT, type ClassifierInfo, checkpointStateDict, classifierInfoFromMetadata } from '@resnet/train';
import { weightsArgumentKind } from '@resnet/zoo';
import { resolveWeightsFile } from '@resnet/zoo/node';

/** Pretrained weights to fine-tune from, and what they say about their inputs. */
export interface PretrainedWeights {
  /** The model's tensors under torch's state_dict names. */
  stateDict: Map<string, HostTensor>;
  /** How the argument was read, for messages: `IMAGENET1K_V1 (ResNet18_Weights.IMAGENET1K_V1, cache: …)`. */
  description: string;
  /** A training checkpoint's preset, class names and transforms; null for other files. */
  classifier: ClassifierInfo | null;
  /** The eval transforms that come with the weights (torchvision's named weights, our checkpoints); null when unknown. */
  transforms: ImageTransforms | null;
}

const FILE_KINDS =
  'a torchvision weights name (IMAGENET1K_V1), a URL, a .pth or safetensors state_dict, or a checkpoint of resnet train';

/**
 * Reads `--weights` for `arch`: a NAME of torchvision's weights for it or an http(s) URL (through
 * @resnet/zoo's cache: verified against the SHA-256 prefix in the file name, downloaded when
 * missing, `RESNET_WEIGHTS_MIRROR` honoured), or a path to a `.pth` / safetensors state_dict or
 * to one of our training checkpoints (its model tensors and classifier info).
 */
export async function readPretrainedWeights(argument: string, arch: string): Promise<PretrainedWeights> {
  const kind = weightsArgumentKind(argument);
  let path = argument;
  let label = argument;
  let transforms: ImageTransforms | null = null;
  if (kind === 'path') {
    if (!existsSync(argument)) throw new ResNetError(`--weights ${argument}: no such file; expected ${FILE_KINDS}`);
    if (statSync(argument).isDirectory())
      throw new ResNetError(`--weights ${argument} is a folder; expected ${FILE_KINDS}`);
  } else {
    let file: Awaited<ReturnType<typeof resolveWeightsFile>>;
    try {
      file = await resolveWeightsFile(arch, argument);
    } catch (e) {
      // Named: which names exist for this arch; or why the download or the check failed.
      throw new ResNetError(`--weights ${argument} for ${arch}: ${(e as Error).message}`);
    }
    path = file.path;
    transforms = file.entry?.transforms ?? null;
    label = `${argument}${file.entry ? ` (${file.entry.torchvision})` : ''}, ${file.source === 'download' ? 'downloaded to' : 'from'} ${file.path}`;
  }
  let file: ReturnType<typeof readStateDictFile>;
  try {
    file = readStateDictFile(path);
  } catch (e) {
    throw new ResNetError(`--weights ${argument}: ${(e as Error).message}`);
  }
  const isCheckpoint = file.format === 'safetensors' && file.metadata.format === CHECKPOINT_FORMAT;
  const classifier = isCheckpoint ? classifierInfoFromMetadata(file.metadata) : null;
  return {
    stateDict: isCheckpoint ? checkpointStateDict(file.tensors) : file.tensors,
    description: isCheckpoint ? `checkpoint ${label}` : `${file.format} ${label}`,
    classifier,
    transforms: classifier?.transforms ?? transforms,
  };
}
