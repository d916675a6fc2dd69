/**
 * The one place where a `--weights <NAME|URL|path>` argument becomes tensors (`resnet train`,
 * `resnet export`): torchvision's weights by name or URL (downloaded, verified and cached by
 * @resnet/zoo), a `.pth` or safetensors state_dict (read by @resnet/core), or a checkpoint of
 * `resnet train` with what it records about its classes and inputs.
 */
import { type HostTensor, ResNetError } from '@resnet/core';
import { readStateDictFile } from '@resnet/core/node';
import type { ImageTransforms } from '@resnet/images';
import type { ClassifierInfo } from '@resnet/train';
import { checkpointContents, isTrainingCheckpoint } from '@resnet/train/node';
import { getWeights, shippedStateDict, WEIGHTS, type WeightsEntry, type WeightsOrigin, weightsArgumentKind } from '@resnet/zoo';
import { resolveWeightsFile, type WeightsFile } from '@resnet/zoo/node';

/** Weights read from a `--weights` argument, and what they say about their inputs. */
export interface PretrainedWeights {
  /** The model's tensors under torch's state_dict names. */
  stateDict: Map<string, HostTensor>;
  /** What they are, for messages: `ResNet18_Weights.IMAGENET1K_V1 (resnet18-f37072fd.pth)`. */
  description: string;
  /**
   * The local file, where it came from (`local`, `cache`, `torch-cache`, `download`) and its URL;
   * null for weights shipped inside @resnet/zoo (resnet20's FASHION_MNIST), which have no file.
   */
  file: WeightsFile | null;
  /** Where the weights came from, as a pretrained model records it. */
  origin: WeightsOrigin;
  /** The registry entry when the weights were named. */
  entry: WeightsEntry | null;
  /** Whether the file is a checkpoint of `resnet train`. */
  checkpoint: boolean;
  /** A training checkpoint's preset, class names and transforms; null for other files (and older checkpoints). */
  classifier: ClassifierInfo | null;
  /** The eval transforms that come with the weights (torchvision's named weights, our checkpoints); null when unknown. */
  transforms: ImageTransforms | null;
}

/**
 * Reads a `--weights` argument for `arch`: a NAME of torchvision's weights for it or an http(s)
 * URL (through @resnet/zoo's cache: verified against the SHA-256 prefix in the file name,
 * downloaded when missing, `RESNET_WEIGHTS_MIRROR` honoured), or a path to a `.pth` or
 * safetensors state_dict or to a checkpoint of `resnet train` (its model tensors and classifier info).
 */
export async function readPretrainedWeights(argument: string, arch: string): Promise<PretrainedWeights> {
  const shipped = shippedEntry(argument, arch);
  if (shipped) {
    // Weights we trained and ship inside @resnet/zoo: read from the package, nothing to download.
    const { tensors, sha256 } = await shippedStateDict(shipped);
    return {
      stateDict: tensors,
      description: `${arch} ${shipped.name} (trained by resnet train, shipped in @resnet/zoo as ${shipped.fileName})`,
      file: null,
      origin: { fileName: shipped.fileName, url: null, path: null, sha256 },
      entry: shipped,
      checkpoint: false,
      classifier: null,
      transforms: shipped.transforms,
    };
  }
  const file = await resolveWeightsFile(arch, argument);
  const origin = { fileName: file.fileName, url: file.url, path: file.path, sha256: file.sha256 };
  let dict: ReturnType<typeof readStateDictFile>;
  try {
    dict = readStateDictFile(file.path);
  } catch (e) {
    throw new ResNetError(`${argument}: ${(e as Error).message}`);
  }
  if (dict.format === 'safetensors' && isTrainingCheckpoint(dict.metadata)) {
    const { weights, info } = checkpointContents(dict, file.path);
    const classifier = info.classifier ?? null;
    return {
      stateDict: weights,
      description: `training checkpoint ${file.fileName} (epoch ${info.epoch})`,
      file,
      origin,
      entry: null,
      checkpoint: true,
      classifier,
      transforms: classifier?.transforms ?? null,
    };
  }
  return {
    stateDict: dict.tensors,
    description: file.entry ? `${file.entry.torchvision} (${file.fileName})` : (file.url ?? file.fileName),
    file,
    origin,
    entry: file.entry,
    checkpoint: false,
    classifier: null,
    transforms: file.entry?.transforms ?? null,
  };
}

/** The shipped entry (`source: 'resnet'`) a NAME argument means for `arch`, or null. */
function shippedEntry(argument: string, arch: string): WeightsEntry | null {
  if (weightsArgumentKind(argument) !== 'name' || !Object.hasOwn(WEIGHTS, arch)) return null;
  const entry = getWeights(arch, argument);
  return entry.source === 'resnet' ? entry : null;
}
