/**
 * `--weights` of the commands that run a preset (classify, export): a NAME of the preset's
 * torchvision weights or an http(s) URL (downloaded, verified and cached by @resnet/zoo), or a local
 * file: a torchvision state_dict (.pth or safetensors) or a `resnet train` checkpoint.
 */
import type { HostTensor } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import { type CheckpointContents, checkpointContents, isTrainingCheckpoint } from '@resnet/train/node';
import { resolveWeightsFile, type WeightsFile } from '@resnet/zoo/node';

export interface WeightsArgument {
  file: WeightsFile;
  /** The model's tensors under torchvision's names (a training checkpoint's `model.*`, unprefixed). */
  tensors: Map<string, HostTensor>;
  /** The checkpoint's contents when the file is one of `resnet train`'s. */
  checkpoint: CheckpointContents | null;
}

/** Resolves `spec` for `arch` to a local file and reads it once. */
export async function readWeightsArgument(arch: string, spec: string): Promise<WeightsArgument> {
  const file = await resolveWeightsFile(arch, spec);
  const dict = readStateDictFile(file.path);
  if (dict.format === 'safetensors' && isTrainingCheckpoint(dict.metadata)) {
    const checkpoint = checkpointContents(dict, file.path);
    return { file, tensors: checkpoint.weights, checkpoint };
  }
  return { file, tensors: dict.tensors, checkpoint: null };
}
