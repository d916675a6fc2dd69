/** Messages between the data-parallel trainer and its worker threads. */

export interface ReplicaSetup {
  backend: 'wasm' | 'cpu';
  preset: string;
  presetOptions: Record<string, unknown>;
}

export type ToReplica =
  | {
      type: 'step';
      id: number;
      images: Float32Array;
      labels: Int32Array;
      shape: [number, number, number, number];
      labelSmoothing: number;
      /** The current trainable parameters, by name (the replica copies them before the step). */
      params: [string, Float32Array][];
    }
  | {
      /** The frozen part of the model (parameters and BatchNorm layers in eval mode) and every tensor's value. */
      type: 'sync';
      id: number;
      tensors: [string, Float32Array | Int32Array][];
      frozen: string[];
      evalModules: string[];
    }
  | { type: 'close' };

export type FromReplica =
  | { type: 'ready'; backend: string }
  | { type: 'failed'; message: string }
  | {
      type: 'grads';
      id: number;
      loss: number;
      top1: number;
      top5: number;
      grads: [string, Float32Array][];
    }
  | { type: 'synced'; id: number }
  | { type: 'error'; id: number; message: string };
