import { ArgumentError, type HostTensor, ResNetError } from '@resnet/core';
import { checkImageTransforms, type ImageTransforms } from '@resnet/images';

/**
 * What a trained classifier needs besides its weights, kept in its checkpoint: which preset, the
 * class names in index order, and how images must be prepared (torchvision's eval transforms for
 * RGB image folders; for Fashion-MNIST's grey images, the padding to 32×32 and their mean and std).
 */
export interface ClassifierInfo {
  /** The preset (`resnet20`, `resnet50`). */
  arch: string;
  /** Class names, by class index (an image folder's subfolders, sorted). */
  classes: string[];
  /** Channels of the model's input: 3 (RGB) for image folders, 1 for Fashion-MNIST. */
  inputChannels: number;
  /** The eval transforms (resize, centre crop, mean, std) for RGB inputs; null for Fashion-MNIST. */
  transforms: ImageTransforms | null;
  /** The data it was trained on: an image folder, or `fashion-mnist` (28×28 grey padded to 32×32). */
  data: 'image-folder' | 'fashion-mnist';
  /** Per-channel mean and std of the normalisation (0–1 scale): the transforms' for RGB inputs. */
  mean: number[];
  std: number[];
}

/** The safetensors metadata key that holds a checkpoint's ClassifierInfo (JSON). */
export const CLASSIFIER_METADATA_KEY = 'classifier';
/** The metadata marker of a training checkpoint written by `saveCheckpoint`. */
export const CHECKPOINT_FORMAT = 'resnet-train-checkpoint';

/** Checks a ClassifierInfo value, naming the first bad field. */
export function checkClassifierInfo(argument: string, value: unknown): ClassifierInfo {
  const v = value as Partial<ClassifierInfo> | null;
  if (typeof v !== 'object' || v === null)
    throw new ArgumentError(argument, '{ arch, classes, inputChannels, transforms, data, mean, std }', value);
  if (typeof v.arch !== 'string' || v.arch === '') throw new ArgumentError(`${argument}.arch`, 'a preset name', v.arch);
  if (!Array.isArray(v.classes) || v.classes.length === 0 || v.classes.some((c) => typeof c !== 'string'))
    throw new ArgumentError(`${argument}.classes`, 'a non-empty array of class names', v.classes);
  if (v.inputChannels !== 1 && v.inputChannels !== 3)
    throw new ArgumentError(`${argument}.inputChannels`, '1 or 3', v.inputChannels);
  if (v.transforms !== null) checkImageTransforms(`${argument}.transforms`, v.transforms);
  if (v.data !== 'image-folder' && v.data !== 'fashion-mnist')
    throw new ArgumentError(`${argument}.data`, "'image-folder' or 'fashion-mnist'", v.data);
  for (const key of ['mean', 'std'] as const) {
    const a = v[key];
    if (
      !Array.isArray(a) ||
      a.length !== v.inputChannels ||
      a.some((x) => typeof x !== 'number' || !Number.isFinite(x))
    )
      throw new ArgumentError(`${argument}.${key}`, `${v.inputChannels} finite numbers`, a);
  }
  return v as ClassifierInfo;
}

/**
 * A training checkpoint's classifier info from its safetensors metadata (as `readSafetensorsFile`
 * or core's state-dict readers return it), or null when the file is not a training checkpoint or
 * predates the info (checkpoints of @resnet/train before fine-tuning). Browser-safe: pass the
 * metadata of a file you fetched.
 */
export function classifierInfoFromMetadata(metadata: Readonly<Record<string, string>>): ClassifierInfo | null {
  if (metadata === null || typeof metadata !== 'object')
    throw new ArgumentError('metadata', "a safetensors file's metadata (string → string)", metadata);
  if (metadata.format !== CHECKPOINT_FORMAT) return null;
  const text = metadata[CLASSIFIER_METADATA_KEY];
  if (text === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ResNetError(`the checkpoint's ${CLASSIFIER_METADATA_KEY} metadata is damaged (not JSON)`);
  }
  return checkClassifierInfo(`metadata.${CLASSIFIER_METADATA_KEY}`, value);
}

/**
 * The model's weights inside a training checkpoint's tensors (names `model.<torch name>`, beside
 * the optimiser's `optimizer.…`), under their torch names: what `loadStateDict` takes.
 */
export function checkpointStateDict(tensors: ReadonlyMap<string, HostTensor>): Map<string, HostTensor> {
  if (!(tensors instanceof Map)) throw new ArgumentError('tensors', "a checkpoint's tensors (a Map)", tensors);
  const out = new Map<string, HostTensor>();
  for (const [name, t] of tensors) if (name.startsWith('model.')) out.set(name.slice(6), t);
  return out;
}
