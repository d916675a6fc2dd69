/**
 * `pretrained` for Node: the weights come through `resolveWeightsFile` (a verified download into
 * the disk cache, torch's cache, or a local path) and are read from disk; images may be paths.
 */
import { readStateDictFile } from '@resnet/core/node';
import { type NodeImageInput, preprocessBatch } from '@resnet/images/node';
import { RESOLVE_OPTION_KEYS, type ResolveWeightsOptions, resolveWeightsFile } from '../weights/node-files.js';
import { type PretrainedModelOptions, pretrainedEntry } from './pretrained-resnet.js';

export interface NodePretrainedOptions extends PretrainedModelOptions, ResolveWeightsOptions {}

export const { pretrained, pretrainedFromStateDict } = pretrainedEntry<NodeImageInput, ResolveWeightsOptions>(
  preprocessBatch,
  RESOLVE_OPTION_KEYS,
  async (arch, weights, download) => {
    const file = await resolveWeightsFile(arch, weights, download);
    return {
      tensors: readStateDictFile(file.path).tensors,
      entry: file.entry,
      origin: { fileName: file.fileName, url: file.url, path: file.path, sha256: file.sha256 },
    };
  },
);
