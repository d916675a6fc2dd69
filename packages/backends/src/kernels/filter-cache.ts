import type * as tf from '@tensorflow/tfjs-core';
import type { WasmBackend } from './wasm-kernels.js';

interface Entry {
  offset: number;
  bytes: number;
}

/**
 * Filters in the forms our convolution kernels compute with (Winograd-transformed, packed in
 * panels, flipped for the input gradient), on the WASM heap, one per weight tensor and form.
 *
 * A weight's data never changes in place in tfjs: an optimiser step `assign`s a new tensor, with
 * a new dataId. So the key is the dataId (its identity is the weight's version): an inference
 * model transforms each filter once, training transforms again after each step, and an entry is
 * freed when the backend frees the weight's data (the cache wraps the backend's `disposeData`).
 */
export class FilterCache {
  private readonly entries = new Map<tf.DataId, Map<string, Entry>>();
  private totalBytes = 0;

  constructor(private readonly backend: WasmBackend) {
    const dispose = backend.disposeData.bind(backend);
    backend.disposeData = (dataId: tf.DataId, force?: boolean): boolean => {
      const released = dispose(dataId, force);
      if (this.entries.has(dataId) && !backend.dataIdMap.has(dataId)) this.release(dataId);
      return released;
    };
  }

  /** The heap offset of `filter`'s form `form` (`bytes` long), made by `fill(offset)` on first use. */
  get(filter: tf.TensorInfo, form: string, bytes: number, fill: (offset: number) => void): number {
    let forms = this.entries.get(filter.dataId);
    const known = forms?.get(form);
    if (known) return known.offset;
    const offset = this.backend.wasm._malloc(bytes);
    if (!offset) throw new Error(`filter cache: cannot allocate ${bytes} bytes on the WASM heap`);
    try {
      fill(offset);
    } catch (e) {
      this.backend.wasm._free(offset);
      throw e;
    }
    if (!forms) {
      forms = new Map();
      this.entries.set(filter.dataId, forms);
    }
    forms.set(form, { offset, bytes });
    this.totalBytes += bytes;
    return offset;
  }

  /** Bytes held for transformed filters, and by how many weight tensors. */
  stats(): { bytes: number; tensors: number } {
    return { bytes: this.totalBytes, tensors: this.entries.size };
  }

  private release(dataId: tf.DataId): void {
    for (const entry of this.entries.get(dataId)?.values() ?? []) {
      this.backend.wasm._free(entry.offset);
      this.totalBytes -= entry.bytes;
    }
    this.entries.delete(dataId);
  }
}
