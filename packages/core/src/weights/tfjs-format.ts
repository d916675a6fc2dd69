import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, FormatError, ResNetError, WeightsMismatchError } from '../errors.js';
import type { Module } from '../module.js';
import { shapeSize } from './host-tensor.js';

/** Most tensors a weights manifest may list. */
export const MAX_MANIFEST_TENSORS = 100_000;
/** Format tag written to model.json. */
export const WEIGHTS_FORMAT = 'resnet-weights';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4 };

/** Bytes the weight specs of a manifest describe, after checking every spec. */
export function manifestByteLength(specs: readonly tf.io.WeightsManifestEntry[]): number {
  if (!Array.isArray(specs)) throw new FormatError('weights manifest: weights must be an array');
  if (specs.length > MAX_MANIFEST_TENSORS) {
    throw new FormatError(`weights manifest lists ${specs.length} tensors; the limit is ${MAX_MANIFEST_TENSORS}`);
  }
  let total = 0;
  for (const spec of specs) {
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') {
      throw new FormatError('weights manifest: every weight needs a name, shape and dtype');
    }
    if (spec.quantization !== undefined) {
      throw new FormatError(
        `weights manifest: '${spec.name}' is quantized; only float32 and int32 weights are supported`,
      );
    }
    const bytes = DTYPE_BYTES[spec.dtype as string];
    if (bytes === undefined) {
      throw new FormatError(
        `weights manifest: '${spec.name}' has unsupported dtype ${JSON.stringify(spec.dtype)} (float32 or int32)`,
      );
    }
    if (!Array.isArray(spec.shape) || spec.shape.length > 8) {
      throw new FormatError(`weights manifest: '${spec.name}' needs a shape array of rank ≤ 8`);
    }
    total += shapeSize(spec.shape, `weights manifest '${spec.name}'`) * bytes;
    if (total > Number.MAX_SAFE_INTEGER) throw new FormatError('weights manifest describes an impossible size');
  }
  return total;
}

/** The model's weights as tf.io artifacts (our layouts, torch names), ready for any save handler. */
export async function weightsToArtifacts(
  model: Module,
  metadata: Record<string, unknown> = {},
): Promise<tf.io.ModelArtifacts> {
  const named = model.namedSlots().map(([name, slot]) => ({ name, tensor: slot.variable as tf.Tensor }));
  const { data, specs } = await tf.io.encodeWeights(named);
  return {
    format: WEIGHTS_FORMAT,
    generatedBy: '@resnet/core',
    convertedBy: null,
    modelTopology: { layout: 'nhwc', names: 'torchvision' },
    weightSpecs: specs,
    weightData: data,
    userDefinedMetadata: metadata as tf.io.ModelArtifacts['userDefinedMetadata'],
  };
}

/** Saves the model's parameters and buffers through a tf.io handler or URL ('file://', 'indexeddb://', 'downloads://'...). */
export async function saveWeights(
  model: Module,
  destination: tf.io.IOHandler | string,
  metadata: Record<string, unknown> = {},
): Promise<tf.io.SaveResult> {
  const handler =
    typeof destination === 'string'
      ? firstHandler(tf.io.getSaveHandlers(destination), destination, 'save')
      : destination;
  if (!handler || typeof handler.save !== 'function') {
    throw new ArgumentError(
      'destination',
      'a tf.io handler with save() or a URL such as indexeddb://name',
      destination,
    );
  }
  return handler.save(await weightsToArtifacts(model, metadata));
}

/**
 * Loads weights saved by `saveWeights` (through a tf.io handler or URL). The manifest is checked
 * against the data and the model before anything is assigned: on any mismatch the model is unchanged.
 */
export async function loadWeights(model: Module, source: tf.io.IOHandler | string): Promise<void> {
  const handler = typeof source === 'string' ? firstHandler(tf.io.getLoadHandlers(source), source, 'load') : source;
  if (!handler || typeof handler.load !== 'function') {
    throw new ArgumentError('source', 'a tf.io handler with load() or a URL such as http://.../model.json', source);
  }
  const artifacts = await handler.load();
  applyArtifacts(model, artifacts);
}

/** Checks artifacts against the model and assigns them all, or nothing. */
export function applyArtifacts(model: Module, artifacts: tf.io.ModelArtifacts): void {
  const specs = artifacts.weightSpecs;
  if (!specs) throw new FormatError('weights file has no weight specs (is it a model.json written by saveWeights?)');
  const expected = manifestByteLength(specs);
  const data = artifacts.weightData;
  const buffers = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const actual = buffers.reduce((s, b) => s + b.byteLength, 0);
  if (actual !== expected) {
    throw new FormatError(
      `weights data holds ${actual} bytes but the manifest describes ${expected}; the shards are truncated or do not belong to this model.json`,
    );
  }
  const slots = new Map(model.namedSlots());
  const names = new Set(specs.map((s) => s.name));
  if (names.size !== specs.length) throw new FormatError('weights manifest lists a tensor name twice');
  const missing = [...slots.keys()].filter((n) => !names.has(n));
  const unexpected = [...names].filter((n) => !slots.has(n));
  const mismatched = specs
    .filter((s) => slots.has(s.name))
    .filter((s) => {
      const shape = slots.get(s.name)?.variable.shape ?? [];
      return shape.length !== s.shape.length || shape.some((d, i) => d !== s.shape[i]);
    })
    .map((s) => ({ name: s.name, expected: [...(slots.get(s.name)?.variable.shape ?? [])], received: [...s.shape] }));
  if (missing.length || unexpected.length || mismatched.length) {
    throw new WeightsMismatchError(missing, unexpected, mismatched);
  }
  for (const s of specs) {
    const slot = slots.get(s.name);
    if (slot && slot.variable.dtype !== s.dtype) {
      throw new ResNetError(
        `weights: '${s.name}' is ${s.dtype} in the file but ${slot.variable.dtype} in the model. Nothing was loaded`,
      );
    }
  }
  const decoded = tf.io.decodeWeights(data as ArrayBuffer, specs);
  for (const [name, t] of Object.entries(decoded)) slots.get(name)?.variable.assign(t);
  for (const t of Object.values(decoded)) t.dispose();
}

function firstHandler(handlers: tf.io.IOHandler[], url: string, what: string): tf.io.IOHandler {
  if (handlers.length === 0) {
    throw new ArgumentError(
      'url',
      `a URL that a registered tf.io handler can ${what} (indexeddb://, localstorage://, http(s)://, file:// with @resnet/core/node)`,
      url,
    );
  }
  return handlers[0] as tf.io.IOHandler;
}
