// The browser side of browser.test.ts, bundled by esbuild: resnet18 with torchvision's weights
// (fixture) on a backend chosen by the test, compared with torchvision's output.
import { hostToTensor, loadStateDict, optimizeForInference, parseNpy, parseSafetensors } from '@resnet/core';
import { createModel } from '../../src/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { type BackendName, initBackend, wasmKernelInfo } from '@resnet/backends';

async function bytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function runParity(backend: BackendName) {
  const warnings: string[] = [];
  const info = await initBackend({ prefer: backend, wasmPaths: '/wasm/', onWarning: (m) => warnings.push(m) });
  const model = createModel('resnet18');
  loadStateDict(model, parseSafetensors(await bytes('/fixtures/resnet18/weights.safetensors')).tensors);
  const input = parseNpy(await bytes('/fixtures/resnet18/input_224.npy'));
  const expected = parseNpy(await bytes('/fixtures/resnet18/output_224.npy'));
  const x = tf.tidy(() => tf.transpose(hostToTensor(input), [0, 2, 3, 1]));
  const t0 = performance.now();
  const y = model.predict(x);
  const actual = await y.data();
  const ms = performance.now() - t0;
  const relativeTo = (out: ArrayLike<number>) => {
    let maxDiff = 0;
    let maxRef = 0;
    for (let i = 0; i < expected.data.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((out[i] as number) - (expected.data[i] as number)));
      maxRef = Math.max(maxRef, Math.abs(expected.data[i] as number));
    }
    return maxDiff / maxRef;
  };
  // The inference form too (on WASM: our Winograd and residual kernels, on our threads).
  const fast = optimizeForInference(model);
  const z = fast.predict(x);
  const optimized = relativeTo(await z.data());
  tf.dispose([x, y, z]);
  fast.dispose();
  model.dispose();
  return {
    info,
    kernels: backend === 'wasm' ? wasmKernelInfo() : null,
    warnings,
    relative: relativeTo(actual),
    optimized,
    shape: y.shape,
    ms,
    tensors: tf.memory().numTensors,
    isolated: crossOriginIsolated,
  };
}

(globalThis as unknown as { runParity: typeof runParity }).runParity = runParity;
