// What the demo's panels share: one tfjs backend at a time (switched with @resnet/backends'
// initBackend, the WASM binaries served by this site), one model operation at a time (a queue, so
// that two panels never run on a backend the other just switched away from), user-facing error
// messages that say what to do, and the live tensor count the browser test reads.
import { withBase } from 'vitepress';
import { ref, shallowRef } from 'vue';

export type DemoBackend = 'webgl' | 'wasm';

/** tf.memory().numTensors after the last queued operation (shown in the page, read by the test). */
export const liveTensors = ref<number | null>(null);

let queue: Promise<unknown> = Promise.resolve();

/** The tfjs module, loaded on first use (tfjs is large; only the demo page loads it). */
export async function tfjs(): Promise<typeof import('@tensorflow/tfjs-core')> {
  return import('@tensorflow/tfjs-core');
}

/** A short description of the running backend: "WASM, 32-bit floats, SIMD, 1 thread". */
export async function backendInfo(): Promise<string> {
  const { describeBackend } = await import('@resnet/backends');
  const info = describeBackend();
  const name = info.name === 'wasm' ? 'WASM' : info.name === 'webgl' ? 'WebGL' : info.name;
  const wasm =
    info.name === 'wasm'
      ? `, ${info.simd ? 'SIMD' : 'no SIMD'}, ${info.threads} thread${info.threads === 1 ? '' : 's'}`
      : '';
  return `${name}, ${info.floatPrecision}-bit floats${wasm}`;
}

/**
 * Runs `task` after every operation queued before it (the panels share one tfjs engine, whose
 * backend is global): a failure rejects this call only. The tensor count is updated after.
 */
export function exclusive<T>(task: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    try {
      return await task();
    } finally {
      liveTensors.value = (await tfjs()).memory().numTensors;
    }
  };
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

/** `exclusive(task)` on `backend`: the backend is started (or switched to) first. */
export function onBackend<T>(backend: DemoBackend, task: () => Promise<T>): Promise<T> {
  return exclusive(async () => {
    const tf = await tfjs();
    if (tf.getBackend() !== backend) {
      const { initBackend } = await import('@resnet/backends');
      await initBackend({ prefer: backend, wasmPaths: wasmPaths(), onWarning: () => undefined });
    }
    return task();
  });
}

/** Where the tfjs WASM binaries are: static assets of this site (see scripts/generate.mjs). */
export function wasmPaths(): string {
  return new URL(withBase('/tfjs-wasm/'), window.location.href).href;
}

/**
 * The message the page shows for an error: the library's own message (which names the argument,
 * what was expected and how to fix it), after a line saying what to do in this page.
 */
export function explain(e: unknown, context: 'weights' | 'image' | 'backend' | 'train'): string {
  const message = e instanceof Error ? e.message : String(e);
  const name = e instanceof Error ? (e as Error & { failure?: string }).name : '';
  const failure = (e as { failure?: string } | null)?.failure;
  let what: string;
  if (name === 'WeightsDownloadError' && failure === 'hash-mismatch')
    what =
      'The file downloaded does not match the SHA-256 prefix in its name: it is corrupted, or another file under that name. Use the official file, or rename your own to name-<first 8 hex digits of its SHA-256>.pth.';
  else if (name === 'WeightsDownloadError' && failure === 'offline')
    what =
      'The weights could not be fetched: check the URL and your connection; a server on another origin must allow this page (CORS), or download the file and pick it with the file picker.';
  else if (name === 'WeightsDownloadError')
    what = 'The download was refused and nothing was kept: check the URL, then try again.';
  else if (name === 'WeightsMismatchError')
    what =
      'These weights do not fit the architecture chosen: pick the architecture the checkpoint was saved from (torchvision names it in the file name, e.g. resnet50-….pth).';
  else if (name === 'FormatError')
    what =
      context === 'image'
        ? 'This file is not an image we can read: use a PNG or JPEG file.'
        : "This file is not a PyTorch checkpoint (.pth, torch.save of a state_dict) or a safetensors file: pick torchvision's weights file.";
  else if (name === 'ArgumentError' && context === 'image')
    what = 'This is not an image we can read: use a PNG or JPEG file, or a URL of one.';
  else if (name === 'BackendError') what = 'This backend cannot start in this browser: choose the other one.';
  else if (context === 'image' && /fetch|network/i.test(message))
    what =
      'The image could not be fetched: check the URL; a server on another origin must allow this page (CORS), or download the image and upload it.';
  else what = 'Something went wrong: the details below say what.';
  return `${what}\n${message}`;
}

/** Milliseconds as the page prints them: "123 ms", "1.2 s". */
export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

type Model = import('@resnet/zoo').PretrainedResNet<import('@resnet/images').ImageInput>;

const fashionModels = new Map<DemoBackend, Promise<Model>>();

/**
 * The shipped Fashion-MNIST ResNet-20 (`pretrained('resnet20', { weights: 'FASHION_MNIST' })`,
 * weights inside @resnet/zoo: nothing is downloaded), one per backend, loaded once. Call it inside
 * `onBackend(backend, ...)`: weights live on the backend that creates them.
 */
export function fashionModel(backend: DemoBackend): Promise<Model> {
  let model = fashionModels.get(backend);
  if (!model) {
    model = import('@resnet/zoo').then(({ pretrained }) => pretrained('resnet20', { weights: 'FASHION_MNIST' }));
    fashionModels.set(backend, model);
    model.catch(() => fashionModels.delete(backend));
  }
  return model;
}

/** The torchvision checkpoint loaded in the second panel (on WASM), which the third can use as its backbone. */
export const checkpoint = shallowRef<{ model: Model; description: string } | null>(null);

export interface Classified {
  rows: import('@resnet/zoo').Prediction[];
  /** Time of the forward pass (model.predict and reading its output), ms. */
  forwardMs: number;
  /** Time of decoding and transforming the image, ms. */
  preprocessMs: number;
}

/**
 * What `model.classify(image)` does, with the forward pass timed on its own: the model's eval
 * transforms, `predict`, the softmax top-5 (`decodePredictions`). Every tensor is disposed.
 */
export async function classifyTimed(
  model: Model,
  image: import('@resnet/images').ImageInput,
  topk = 5,
): Promise<Classified> {
  const { decodePredictions } = await import('@resnet/zoo');
  let t0 = performance.now();
  const x = await model.preprocess(image);
  const preprocessMs = performance.now() - t0;
  try {
    t0 = performance.now();
    const y = model.predict(x);
    try {
      const data = (await y.data()) as Float32Array;
      const forwardMs = performance.now() - t0;
      const rows = decodePredictions({ dtype: 'float32', shape: y.shape, data }, topk, model.categories, {
        from: model.config.output === 'softmax' ? 'probabilities' : 'logits',
      })[0] as import('@resnet/zoo').Prediction[];
      return { rows, forwardMs, preprocessMs };
    } finally {
      y.dispose();
    }
  } finally {
    x.dispose();
  }
}

/** The bytes of an image at a URL, as a Blob (decoded by @resnet/images as Node decodes files). */
export async function fetchImage(url: string): Promise<Blob> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch ${url} (${e instanceof Error ? e.message : String(e)}): network error`);
  }
  if (!response.ok) throw new Error(`cannot fetch ${url}: HTTP ${response.status} (network)`);
  return response.blob();
}
