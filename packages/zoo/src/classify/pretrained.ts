/**
 * `pretrained` for browsers, workers and any runtime with `fetch`: the weights come through
 * `fetchWeights` (verified with SubtleCrypto, kept in the Cache API) and are parsed in memory.
 * Node has its own in `@resnet/zoo/node` (a disk cache; paths for weights and images).
 */
import { FormatError, parseStateDict, type StateDictFile } from '@resnet/core';
import { type ImageInput, preprocessBatch } from '@resnet/images';
import { FETCH_OPTION_KEYS, type FetchWeightsOptions, fetchWeights } from '../weights/browser.js';
import { type PretrainedModelOptions, pretrainedEntry } from './pretrained-resnet.js';

export interface PretrainedOptions extends PretrainedModelOptions, FetchWeightsOptions {}

export const { pretrained, pretrainedFromStateDict } = pretrainedEntry<ImageInput, FetchWeightsOptions>(
  preprocessBatch,
  FETCH_OPTION_KEYS,
  async (arch, weights, download) => {
    const fetched = await fetchWeights(arch, weights, download);
    return {
      tensors: parseNamed(fetched.url, fetched.bytes).tensors,
      entry: fetched.entry,
      origin: { fileName: fetched.fileName, url: fetched.url, path: null, sha256: fetched.sha256 },
    };
  },
);

/** parseStateDict, naming the URL in a format error (what is wrong with which file). */
function parseNamed(url: string, bytes: Uint8Array): StateDictFile {
  try {
    return parseStateDict(bytes);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${url}: ${e.message}`);
    throw e;
  }
}
