// The browser side of classify-browser.test.ts, bundled by esbuild: pretrained('resnet50') from
// the test's weights server (same origin), classifying a photo given as an image element (the
// browser's decoder) and as the file's bytes (our decoders), reported as plain data.
import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { type Prediction, pretrained } from '../../src/index.js';

export interface ClassifyOutcome {
  backend: string;
  progress: number;
  fileName: string | null;
  sha256: string | null;
  resizeSize: number;
  /** Per image path: the top-5 from the element and from the bytes. */
  results: Record<string, { element: Prediction[]; bytes: Prediction[] }>;
  tensorsBefore: number;
  tensorsAfter: number;
}

async function runClassify(weights: string, images: string[]): Promise<ClassifyOutcome> {
  const info = await initBackend({ prefer: 'wasm', wasmPaths: '/wasm/' });
  const tensorsBefore = tf.memory().numTensors;
  let progress = 0;
  const model = await pretrained('resnet50', { weights, cache: false, onProgress: () => void progress++ });
  const results: ClassifyOutcome['results'] = {};
  for (const path of images) {
    const img = new Image();
    img.src = path;
    await img.decode();
    const bytes = new Uint8Array(await (await fetch(path)).arrayBuffer());
    results[path] = { element: await model.classify(img), bytes: await model.classify(bytes) };
  }
  const outcome = {
    backend: info.name,
    progress,
    fileName: model.origin.fileName,
    sha256: model.origin.sha256,
    resizeSize: model.transforms.resizeSize,
    results,
    tensorsBefore,
    tensorsAfter: 0,
  };
  model.dispose();
  outcome.tensorsAfter = tf.memory().numTensors;
  return outcome;
}

Object.assign(globalThis, { runClassify });
