// The browser side of browser.test.ts, bundled by esbuild: each image read four ways (the bytes
// through our JS decoders, an HTMLImageElement, an ImageBitmap, tf.browser.fromPixels) and put
// through IMAGENET1K_V1's transforms; results go back to Node as base64 float32.
import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { type ImageInput, applyTransforms, imageClassification, preprocess, toRGB } from '../../src/index.js';

const V1 = imageClassification({ cropSize: 224 });

function base64(data: Float32Array): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

async function imageElement(url: string): Promise<HTMLImageElement> {
  const img = new Image();
  img.src = url;
  await img.decode();
  return img;
}

async function runImages(urls: string[]) {
  await initBackend({ prefer: 'cpu' });
  const results: Record<string, Record<string, string>> = {};
  for (const url of urls) {
    const blob = await (await fetch(url)).blob();
    const sources: Record<string, () => Promise<ImageInput>> = {
      bytes: async () => new Uint8Array(await blob.arrayBuffer()),
      element: () => imageElement(url),
      bitmap: () => createImageBitmap(blob, { premultiplyAlpha: 'none', colorSpaceConversion: 'none' }),
      fromPixels: async () => tf.browser.fromPixels(await imageElement(url)),
    };
    results[url] = {};
    for (const [how, make] of Object.entries(sources)) {
      const source = await make();
      (results[url] as Record<string, string>)[how] = base64(
        applyTransforms(await toRGB(source), V1).data as Float32Array,
      );
      if (source instanceof tf.Tensor) source.dispose();
    }
  }
  // preprocess makes exactly one tensor.
  const before = tf.memory().numTensors;
  const x = await preprocess(await imageElement(urls[0] as string), V1);
  const made = tf.memory().numTensors - before;
  x.dispose();
  return { results, made, left: tf.memory().numTensors - before };
}

(globalThis as unknown as { runImages: typeof runImages }).runImages = runImages;
