import type { Module } from '../module.js';
import type { ByteSource } from './byte-source.js';
import {
  decodeSafetensorsEntry,
  readSafetensorsHeader,
  type SafetensorsEntry,
  safetensorsEntryDtype,
} from './safetensors.js';
import { assignTorchValue, type LoadReport, type LoadStateDictOptions, planLoad, stagingBuffer } from './state-dict.js';

/**
 * Loads a safetensors state_dict from a ByteSource into a model without holding the file: the
 * header is checked against the model (names, shapes, dtypes); every tensor is read once and
 * decoded (a short read, an I/O error or an integer outside int32 fails here, the model
 * untouched); then each is read again and replaces the model's value, one at a time. With a
 * source that can `readInto`, all reads go through one reused buffer.
 */
export function streamSafetensors(model: Module, source: ByteSource, options?: LoadStateDictOptions): LoadReport {
  const header = readSafetensorsHeader(source);
  const entries = new Map(header.entries.map((e) => [e.name, e]));
  const described = new Map(header.entries.map((e) => [e.name, { shape: e.shape, dtype: safetensorsEntryDtype(e) }]));
  const plan = planLoad(model, described, options);
  const toLoad = plan.slots.map(([name, slot]) => [entries.get(name) as SafetensorsEntry, slot] as const);
  const bytes = toLoad.map(([e]) => e.end - e.begin);
  const scratch = source.readInto ? new Uint8Array(Math.max(0, ...bytes)) : undefined;
  const read = (e: SafetensorsEntry, reuse: boolean) => {
    const [offset, length] = [header.dataStart + e.begin, e.end - e.begin];
    if (reuse && scratch && source.readInto) {
      return decodeSafetensorsEntry(e, source.readInto(offset, scratch.subarray(0, length)), true);
    }
    return decodeSafetensorsEntry(e, source.read(offset, length), source.readsAreCopies);
  };
  // Reading cannot fail for bytes in memory; decoding integers can (values outside int32).
  for (const [e] of toLoad) if (scratch || safetensorsEntryDtype(e) === 'int32') read(e, true);
  // With a staging buffer the backend copies what it is given, so every tensor may pass through
  // the reused buffers; otherwise the backend keeps the arrays, and a vector must have its own.
  const staging = stagingBuffer(bytes);
  for (const [e, slot] of toLoad)
    assignTorchValue(slot, read(e, staging !== undefined || slot.layout !== 'same'), staging);
  return plan.report;
}
