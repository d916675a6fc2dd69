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

export interface ShippedOutcome {
  backend: string;
  sha256: string | null;
  url: string | null;
  shape: number[];
  top: Prediction[];
  tensorsBefore: number;
  tensorsAfter: number;
  fetched: string[];
}

/** resnet20's FASHION_MNIST (shipped in the package) on a grey image drawn on a canvas. */
async function runShipped(): Promise<ShippedOutcome> {
  const info = await initBackend({ prefer: 'wasm', wasmPaths: '/wasm/' });
  const fetched: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    fetched.push(String(input));
    return realFetch(input, init);
  };
  const tensorsBefore = tf.memory().numTensors;
  const model = await pretrained('resnet20', { weights: 'FASHION_MNIST' });
  globalThis.fetch = realFetch;
  const canvas = document.createElement('canvas');
  canvas.width = 28;
  canvas.height = 28;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.fillStyle = 'black';
  ctx.fillRect(0, 0, 28, 28);
  ctx.fillStyle = 'rgb(200, 200, 200)';
  ctx.fillRect(9, 2, 10, 24); // a bright vertical bar, trouser-like
  const x = await model.preprocess(canvas);
  const shape = x.shape;
  x.dispose();
  const top = await model.classify(canvas, { topk: 5 });
  const outcome = {
    backend: info.name,
    sha256: model.origin.sha256,
    url: model.origin.url,
    shape,
    top,
    tensorsBefore,
    tensorsAfter: 0,
    fetched,
  };
  model.dispose();
  outcome.tensorsAfter = tf.memory().numTensors;
  return outcome;
}

Object.assign(globalThis, { runClassify, runShipped });
