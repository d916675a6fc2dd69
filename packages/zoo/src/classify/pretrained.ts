/**
 * `pretrained` for browsers, workers and any runtime with `fetch`: the weights come through
 * `fetchWeights` (verified with SubtleCrypto, kept in the Cache API) and are parsed in memory.
 * Node has its own `pretrained` in `@resnet/zoo/node` (a disk cache, paths).
 */
import { FormatError, type HostTensor, parseStateDict, type StateDictFile } from '@resnet/core';
import { type ImageInput, preprocessBatch } from '@resnet/images';
import { FETCH_OPTION_KEYS, type FetchWeightsOptions, fetchWeights } from '../weights/browser.js';
import {
  buildPretrained,
  type FromStateDictOptions,
  type PretrainedModelOptions,
  type PretrainedResNet,
  pretrainedWith,
} from './pretrained-resnet.js';

export interface PretrainedOptions extends PretrainedModelOptions, FetchWeightsOptions {}

/**
 * A ResNet with torchvision's pretrained weights, in eval mode, ready to classify:
 * `const model = await pretrained('resnet50'); await model.classify(img)`. The weights are
 * downloaded once with `fetchWeights` (SHA-256 checked, kept in the Cache API), read as `.pth` or
 * safetensors and loaded strictly; the model carries their transforms, categories and metadata.
 */
export function pretrained(arch: string, options: PretrainedOptions = {}): Promise<PretrainedResNet<ImageInput>> {
  return pretrainedWith(
    arch,
    options,
    FETCH_OPTION_KEYS,
    async (weights, download: FetchWeightsOptions) => {
      const fetched = await fetchWeights(arch, weights, download);
      return {
        tensors: parseNamed(fetched.url, fetched.bytes).tensors,
        entry: fetched.entry,
        origin: { fileName: fetched.fileName, url: fetched.url, path: null, sha256: fetched.sha256 },
      };
    },
    preprocessBatch,
  );
}

/**
 * A `PretrainedResNet` from a state dict you already hold (`parseStateDict(bytes).tensors`): loaded
 * strictly, the number of classes read from `fc.weight`, the transforms and categories from
 * `options`, else the architecture's DEFAULT torchvision weights.
 */
export function pretrainedFromStateDict(
  arch: string,
  stateDict: ReadonlyMap<string, HostTensor>,
  options: FromStateDictOptions = {},
): PretrainedResNet<ImageInput> {
  return buildPretrained(arch, stateDict, options, preprocessBatch);
}

/** parseStateDict, naming the URL in a format error (what is wrong with which file). */
function parseNamed(url: string, bytes: Uint8Array): StateDictFile {
  try {
    return parseStateDict(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${url}: ${e.message}`);
    throw e;
  }
}
