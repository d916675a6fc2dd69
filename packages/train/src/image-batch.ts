/**
 * Loading one batch of an image folder: read, decode (PNG/JPEG as PIL's convert('RGB')), transform
 * (torchvision's training or eval transforms) and stack, NHWC float32. Runs on the loader's worker
 * threads, or on the calling thread with `workers: 0`.
 */
import { readFileSync } from 'node:fs';
import {
  applyTrainTransforms,
  applyTransforms,
  decodeImage,
  type ImageTransforms,
  type TrainImageTransforms,
} from '@resnet/images';
import { Rng } from './rng.js';

// #region notebook:image-batch
export type BatchTransforms =
  | { kind: 'train'; transforms: TrainImageTransforms }
  | { kind: 'eval'; transforms: ImageTransforms };

export interface ImageBatchJob {
  id: number;
  paths: string[];
  labels: Int32Array;
  /** Each image's seed for the random transforms ('train'); empty for 'eval'. */
  seeds: Uint32Array;
  transforms: BatchTransforms;
}

export interface ImageBatchResult {
  id: number;
  /** The images that loaded, NHWC. */
  images: Float32Array;
  labels: Int32Array;
  /** The images that did not load, with why (the message starts with the path). */
  failures: { path: string; message: string }[];
}

/** Reads, decodes and transforms the job's images; an image that fails is reported, not thrown. */
export function loadImageBatch(job: ImageBatchJob): ImageBatchResult {
  const size = job.transforms.transforms.cropSize;
  const per = size * size * 3;
  const images = new Float32Array(job.paths.length * per);
  const labels = new Int32Array(job.paths.length);
  const failures: ImageBatchResult['failures'] = [];
  let n = 0;
  job.paths.forEach((path, i) => {
    let values: Float32Array;
    try {
      let bytes: Uint8Array;
      try {
        bytes = readFileSync(path);
      } catch (e) {
        throw new Error(`${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const image = decodeImage(bytes, path);
      if (job.transforms.kind === 'train') {
        const rng = new Rng(job.seeds[i] as number);
        values = applyTrainTransforms(image, job.transforms.transforms, () => rng.next());
      } else {
        values = applyTransforms(image, job.transforms.transforms).data as Float32Array;
      }
    } catch (e) {
      failures.push({ path, message: e instanceof Error ? e.message : String(e) });
      return;
    }
    images.set(values, n * per);
    labels[n++] = job.labels[i] as number;
  });
  return {
    id: job.id,
    images: n === job.paths.length ? images : images.slice(0, n * per),
    labels: labels.subarray(0, n),
    failures,
  };
}
// #endregion
