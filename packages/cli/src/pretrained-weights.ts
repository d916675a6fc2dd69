/**
 * The one place where `resnet train --weights <NAME|URL|path>` becomes tensors: a training
 * checkpoint of ours (its classifier info included), or a torch state_dict file.
 */
import { existsSync, statSync } from 'node:fs';
import { type HostTensor, ResNetError } from '@resnet/core';
import { readSafetensorsFile } from '@resnet/core/node';
import type { ImageTransforms } from '@resnet/images';
import { CHECKPOINT_FORMAT, type ClassifierInfo, checkpointStateDict, classifierInfoFromMetadata } from '@resnet/train';

/** Pretrained weights to fine-tune from, and what they say about their inputs. */
export interface PretrainedWeights {
  /** The model's tensors under torch's state_dict names. */
  stateDict: Map<string, HostTensor>;
  /** How the argument was read, for messages: `checkpoint runs/a/checkpoint.safetensors`. */
  description: string;
  /** A training checkpoint's preset, class names and transforms; null for other files. */
  classifier: ClassifierInfo | null;
  /** The eval transforms published with the weights (torchvision's named weights); null when unknown. */
  transforms: ImageTransforms | null;
}

const SAFETENSORS_HINT =
  'a training checkpoint of resnet train (--checkpoint DIR/checkpoint.safetensors) or a torch state_dict saved as safetensors';

/**
 * Reads `--weights`: a path to one of our training checkpoints (its model tensors and classifier
 * info) or to a torch state_dict saved as safetensors (`safetensors.torch.save_file(model.state_dict(), f)`).
 * torchvision's weight names (`IMAGENET1K_V1`), URLs and `.pth` files are read through
 * @resnet/zoo's verified downloads and @resnet/core's `.pth` reader where those are available.
 */
export function readPretrainedWeights(argument: string, arch: string): PretrainedWeights {
  if (!existsSync(argument)) {
    const looksLikeName = /^[A-Z][A-Z0-9_]*$/.test(argument) || /^[a-z][a-z0-9+.-]*:\/\//i.test(argument);
    throw new ResNetError(
      looksLikeName
        ? `--weights ${argument}: torchvision's weight names and URLs are not available in this build of resnet train; download the file and pass its path (${SAFETENSORS_HINT})`
        : `--weights ${argument}: no such file; expected ${SAFETENSORS_HINT} for ${arch}`,
    );
  }
  if (statSync(argument).isDirectory())
    throw new ResNetError(`--weights ${argument} is a folder; expected ${SAFETENSORS_HINT}`);
  let file: { tensors: Map<string, HostTensor>; metadata: Record<string, string> };
  try {
    file = readSafetensorsFile(argument);
  } catch (e) {
    throw new ResNetError(`--weights ${argument}: ${(e as Error).message}; expected ${SAFETENSORS_HINT}`);
  }
  const classifier = classifierInfoFromMetadata(file.metadata);
  const isCheckpoint = file.metadata.format === CHECKPOINT_FORMAT;
  return {
    stateDict: isCheckpoint ? checkpointStateDict(file.tensors) : file.tensors,
    description: `${isCheckpoint ? 'checkpoint' : 'state_dict'} ${argument}`,
    classifier,
    transforms: classifier?.transforms ?? null,
  };
}
