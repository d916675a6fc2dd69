/**
 * torchvision's classification of real photos (tools/weights/classify_reference.py, Debian's torch,
 * torchvision and PIL): a resnet50 checkpoint named `resnet50-<sha256[:8]>.pth`, and per photo the
 * transformed input, the logits, the pooled features and the top-5. `pnpm fixtures` generates them
 * into `<fixtures>/classify` (or $RESNET_CLASSIFY_FIXTURES); a test that finds them missing or stale
 * generates them itself.
 */
import { join, resolve } from 'node:path';
import { FIXTURES, generatedFixtures, REPO_ROOT } from './fixtures.js';

export interface TorchPrediction {
  index: number;
  label: string;
  probability: number;
}

export interface ClassifyPhoto {
  /** File name (`chelsea.png`); `<name>.input.npy`, `.logits.npy`, `.pooled.npy` hold torch's tensors. */
  name: string;
  /** The photo as a Debian package ships it. */
  path: string;
  /** PIL's mode of the file (`RGB`, `L`, `RGBA`). */
  mode: string;
  /** torchvision's top-5 with `ResNet50_Weights.DEFAULT.transforms()`. */
  top5: TorchPrediction[];
}

export interface ClassifyManifest {
  version: number;
  torch: string;
  torchvision: string;
  pil: string;
  arch: 'resnet50';
  /** The torchvision entry whose transforms made the inputs (`ResNet50_Weights.IMAGENET1K_V2`). */
  transforms: string;
  checkpoint: { file: string; sha256: string; size: number };
  photos: ClassifyPhoto[];
}

export const CLASSIFY_FIXTURES = resolve(REPO_ROOT, process.env.RESNET_CLASSIFY_FIXTURES ?? join(FIXTURES, 'classify'));

/** The manifest of the classify fixtures, generating them first when they are missing or stale. */
export function classifyManifest(): ClassifyManifest {
  return generatedFixtures<ClassifyManifest>(
    'tools/weights/classify_reference.py',
    'CLASSIFY_VERSION',
    CLASSIFY_FIXTURES,
  );
}

/** Absolute path of a file of the classify fixtures (the checkpoint, a photo's .npy). */
export function classifyFixturePath(file: string): string {
  return join(CLASSIFY_FIXTURES, file);
}
