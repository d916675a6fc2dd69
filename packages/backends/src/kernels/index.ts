import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputKernel } from './conv2d-backprop-input.js';
import { stridedSliceGradConfig } from './strided-slice-grad.js';

/** Kernels some backends lack for backpropagation, by kernel name. */
const GRADIENT_KERNELS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2dBackpropFilterKernel,
};

/**
 * Gradient kernels a backend has but runs slowly, replaced by ours, by backend. tfjs-wasm's
 * Conv2DBackpropInput is a direct loop (~13× slower than its forward Conv2D on ResNet-20);
 * ours is one forward convolution.
 */
const REPLACED_KERNELS: Record<string, Record<string, tf.KernelFunc>> = {
  wasm: { Conv2DBackpropInput: conv2dBackpropInputKernel },
};
const replaced = new Set<string>();

/** Gradient functions tfjs-core lacks for ops our layers use (they hold for every backend). */
const GRADIENTS: tf.GradConfig[] = [stridedSliceGradConfig];

/**
 * Registers, for `backendName`, every gradient kernel it lacks (a registration through tfjs's
 * kernel registry, not a fork), replaces the ones it runs slowly (WASM's Conv2DBackpropInput),
 * and registers the gradient functions tfjs-core lacks (StridedSlice). Returns the kernel names registered.
 */
export function registerMissingGradientKernels(backendName: string): string[] {
  registerMissingGradients();
  const added: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(GRADIENT_KERNELS)) {
    if (!tf.getKernel(kernelName, backendName)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
      added.push(kernelName);
    }
  }
  for (const [kernelName, kernelFunc] of Object.entries(REPLACED_KERNELS[backendName] ?? {})) {
    const key = `${backendName}/${kernelName}`;
    if (replaced.has(key)) continue;
    if (tf.getKernel(kernelName, backendName)) tf.unregisterKernel(kernelName, backendName);
    tf.registerKernel({ kernelName, backendName, kernelFunc });
    replaced.add(key);
    added.push(kernelName);
  }
  return added;
}

/** Registers the gradient functions tfjs-core lacks; returns the kernel names they cover. */
export function registerMissingGradients(): string[] {
  const added: string[] = [];
  for (const config of GRADIENTS) {
    if (!tf.getGradient(config.kernelName)) {
      tf.registerGradient(config);
      added.push(config.kernelName);
    }
  }
  return added;
}

registerMissingGradients();
