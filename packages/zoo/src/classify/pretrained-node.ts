/**
 * `pretrained` for Node: the weights come through `resolveWeightsFile` (a verified download into
 * the disk cache, torch's cache, or a local path) and are read from disk; images may be paths.
 */
import type { HostTensor } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import { type NodeImageInput, preprocessBatch } from '@resnet/images/node';
import { RESOLVE_OPTION_KEYS, type ResolveWeightsOptions, resolveWeightsFile } from '../weights/node-files.js';
import {
  buildPretrained,
  type FromStateDictOptions,
  type PretrainedModelOptions,
  type PretrainedResNet,
  pretrainedWith,
} from './pretrained-resnet.js';

export interface NodePretrainedOptions extends PretrainedModelOptions, ResolveWeightsOptions {}

/**
 * A ResNet with torchvision's pretrained weights, in eval mode, ready to classify images given as
 * paths, Buffers or pixels: `const model = await pretrained('resnet50'); await
 * model.classify('cat.jpg')`. The first call downloads the file into `$RESNET_HOME/checkpoints`
 * (verified against the SHA-256 prefix in its name, as torch.hub does); later calls read it from
 * there, or from torch's cache. The weights are loaded strictly; the model carries their
 * transforms, categories and metadata.
 */
export function pretrained(
  arch: string,
  options: NodePretrainedOptions = {},
): Promise<PretrainedResNet<NodeImageInput>> {
  return pretrainedWith(
    arch,
    options,
    RESOLVE_OPTION_KEYS,
    async (weights, download: ResolveWeightsOptions) => {
      const file = await resolveWeightsFile(arch, weights, download);
      return {
        tensors: readStateDictFile(file.path).tensors,
        entry: file.entry,
        origin: { fileName: file.fileName, url: file.url, path: file.path, sha256: file.sha256 },
      };
    },
    preprocessBatch,
  );
}

/** `pretrainedFromStateDict` of the main entry, with images given as paths too. */
export function pretrainedFromStateDict(
  arch: string,
  stateDict: ReadonlyMap<string, HostTensor>,
  options: FromStateDictOptions = {},
): PretrainedResNet<NodeImageInput> {
  return buildPretrained(arch, stateDict, options, preprocessBatch);
}
