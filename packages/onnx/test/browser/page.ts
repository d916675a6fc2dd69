// The browser side of browser.test.ts, bundled by esbuild for the browser (so @resnet/onnx's main
// entry must not need Node): resnet18 with torchvision's weights (fixture) is exported to ONNX in the
// page, and onnxruntime-web (WASM, served from its npm package) runs the bytes.
import { initBackend } from '@resnet/backends';
import { loadStateDict, parseNpy, parseSafetensors } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import { exportOnnx } from '../../src/index.js';

async function bytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

interface OrtWeb {
  env: { wasm: { wasmPaths: string; numThreads: number } };
  Tensor: new (type: 'float32', data: Float32Array, dims: number[]) => unknown;
  InferenceSession: {
    create(
      model: Uint8Array,
      options: object,
    ): Promise<{
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: number[] }>>;
      release(): Promise<void>;
    }>;
  };
}

async function runExport() {
  await initBackend({ prefer: 'wasm', wasmPaths: '/wasm/', onWarning: () => {} });
  const model = createModel('resnet18');
  loadStateDict(model, parseSafetensors(await bytes('/fixtures/resnet18/weights.safetensors')).tensors);
  const onnx = exportOnnx(model, { weights: 'fixture' });
  model.dispose();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', onnx as Uint8Array<ArrayBuffer>));
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');

  // A URL in a variable: esbuild leaves the import to the browser.
  const ortUrl = '/ort/ort.wasm.min.mjs';
  const ort = (await import(ortUrl)) as OrtWeb;
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(onnx, { executionProviders: ['wasm'] });
  const input = parseNpy(await bytes('/fixtures/resnet18/input_224.npy'));
  const expected = parseNpy(await bytes('/fixtures/resnet18/output_224.npy'));
  const t0 = performance.now();
  const { logits } = await session.run({ input: new ort.Tensor('float32', input.data as Float32Array, input.shape) });
  const ms = performance.now() - t0;
  await session.release();
  if (!logits) throw new Error('onnxruntime-web returned no logits');
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.data.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs((logits.data[i] as number) - (expected.data[i] as number)));
    maxRef = Math.max(maxRef, Math.abs(expected.data[i] as number));
  }
  return { bytes: onnx.length, sha256, shape: logits.dims, relative: maxDiff / maxRef, ms };
}

(globalThis as unknown as { runExport: typeof runExport }).runExport = runExport;
