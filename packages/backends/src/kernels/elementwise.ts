import * as tf from '@tensorflow/tfjs-core';
import { checkSameMemory, loadWasmKernels, offsetOf, type WasmBackend } from './wasm-kernels.js';

/**
 * Element-wise and layout kernels of our WASM SIMD module (csrc/elementwise.c) for tfjs's WASM
 * backend, where its own are several times slower on the full-size tensors of training:
 *   Relu, Add (same-shape float32; anything else goes to tfjs's kernel)   replace tfjs's
 *   ResNetReluGrad   dy where x > 0 (ReLU's gradient in one pass; tfjs's is Step then Multiply)
 *   ResNetToCHWN     [N, H, W, C] → [C, H, W, N]  (the weight gradient's input layout)
 *   ResNetSwap01     [A, B, ...] → [B, A, ...]
 */
export const RELU_GRAD = 'ResNetReluGrad';
export const TO_CHWN = 'ResNetToCHWN';
export const SWAP01 = 'ResNetSwap01';

const registered = new Set<string>();

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/** Registers the kernels for the WASM backend `backendName`; false when our module cannot load there. */
export async function registerElementwiseKernels(backendName = 'wasm'): Promise<boolean> {
  if (registered.has(backendName)) return true;
  const k = await loadWasmKernels(backendName);
  if (!k) return false;
  const unary = (
    name: string,
    run: (b: WasmBackend, x: tf.TensorInfo, out: tf.TensorInfo) => void,
    outShape: (s: number[]) => number[] = (s) => s,
  ): tf.KernelFunc => {
    return ({ inputs, backend }) => {
      const b = backend as unknown as WasmBackend;
      checkSameMemory(backendName, b, name);
      const x = (inputs as { x: tf.TensorInfo }).x;
      const out = b.makeOutput(outShape([...x.shape]), 'float32');
      if (size(x.shape) > 0) run(b, x, out);
      return out;
    };
  };

  const replace = (kernelName: string, ours: (original: tf.KernelFunc) => tf.KernelFunc): void => {
    const original = tf.getKernel(kernelName, backendName);
    if (!original) return;
    tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc: ours(original.kernelFunc) });
  };

  replace('Relu', (original) => (args) => {
    const x = (args.inputs as { x: tf.TensorInfo }).x;
    if (x.dtype !== 'float32') return original(args);
    return unary('Relu', (b, xi, y) => k.relu(offsetOf(b, xi, 'Relu'), size(xi.shape), offsetOf(b, y, 'Relu')))(args);
  });

  replace('Add', (original) => (args) => {
    const { a, b: bb } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const same = a.shape.length === bb.shape.length && a.shape.every((d, i) => d === bb.shape[i]);
    if (a.dtype !== 'float32' || bb.dtype !== 'float32' || !same) return original(args);
    const b = args.backend as unknown as WasmBackend;
    checkSameMemory(backendName, b, 'Add');
    const out = b.makeOutput([...a.shape], 'float32');
    if (size(a.shape) > 0) k.add(offsetOf(b, a, 'Add'), offsetOf(b, bb, 'Add'), size(a.shape), offsetOf(b, out, 'Add'));
    return out;
  });

  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const b = backend as unknown as WasmBackend;
      checkSameMemory(backendName, b, RELU_GRAD);
      const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
      const out = b.makeOutput([...x.shape], 'float32');
      const n = size(x.shape);
      if (n > 0) k.relu_grad(offsetOf(b, dy, RELU_GRAD), offsetOf(b, x, RELU_GRAD), n, offsetOf(b, out, RELU_GRAD));
      return out;
    },
  });

  tf.registerKernel({
    kernelName: TO_CHWN,
    backendName,
    kernelFunc: unary(
      TO_CHWN,
      (b, x, out) => {
        const [n, h, w, c] = x.shape as [number, number, number, number];
        k.to_chwn(offsetOf(b, x, TO_CHWN), n, h * w, c, offsetOf(b, out, TO_CHWN));
      },
      ([n, h, w, c]) => [c as number, h as number, w as number, n as number],
    ),
  });

  tf.registerKernel({
    kernelName: SWAP01,
    backendName,
    kernelFunc: unary(
      SWAP01,
      (b, x, out) => {
        const [a, bb, ...rest] = x.shape;
        k.swap01(offsetOf(b, x, SWAP01), a as number, bb as number, size(rest), offsetOf(b, out, SWAP01));
      },
      ([a, bb, ...rest]) => [bb as number, a as number, ...rest],
    ),
  });
  // ReLU's gradient (every backend): our one-pass kernel where the backend has it, else tfjs's dy·step(x).
  tf.registerGradient({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [tf.Tensor];
      const grad = dy as tf.Tensor;
      return {
        x: () =>
          x.dtype === 'float32' && tf.getKernel(RELU_GRAD, tf.getBackend())
            ? (tf.engine().runKernel(RELU_GRAD, { dy: grad, x }) as tf.Tensor)
            : tf.mul(grad, tf.cast(tf.step(x), 'float32')),
      };
    },
  });
  registered.add(backendName);
  return true;
}
