import type { HostTensor } from '@resnet/core';

/** What a pool worker is started with. */
export interface WorkerSetup {
  arch: string;
  numClasses: number | undefined;
  /** A torchvision state_dict file (.safetensors), a state dict, or none (seeded initialisation). */
  weights:
    | { kind: 'file'; path: string }
    | { kind: 'state'; tensors: [string, HostTensor][] }
    | { kind: 'seed'; seed: number };
  optimize: boolean;
  backend: 'wasm' | 'cpu';
}

export type ToWorker = { type: 'run'; id: number; shape: number[]; data: Float32Array } | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; backend: string; simd: boolean }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; shape: number[]; data: Float32Array }
  | { type: 'error'; id: number; message: string };
