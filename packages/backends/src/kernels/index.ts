import * as tf from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterKernel } from './conv2d-backprop-filter.js';

/** Kernels some backends lack for backpropagation, by kernel name. */
const GRADIENT_KERNELS: Record<string, tf.KernelFunc> = {
  Conv2DBackpropFilter: conv2dBackpropFilterKernel,
};

/**
 * Registers, for `backendName`, every gradient kernel it lacks (a registration through tfjs's
 * kernel registry, not a fork). Returns the names registered.
 */
export function registerMissingGradientKernels(backendName: string): string[] {
  const added: string[] = [];
  for (const [kernelName, kernelFunc] of Object.entries(GRADIENT_KERNELS)) {
    if (!tf.getKernel(kernelName, backendName)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
      added.push(kernelName);
    }
  }
  return added;
}
