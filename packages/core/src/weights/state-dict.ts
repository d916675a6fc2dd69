import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, ResNetError, WeightsMismatchError } from '../errors.js';
import { type Module, type TensorLayout, type TensorSlot, toTorchLayout, torchShape } from '../module.js';
import { type HostTensor, tensorToHost } from './host-tensor.js';

// #region notebook:load-state-dict
export interface LoadStateDictOptions {
  /**
   * Require the file to hold exactly the model's tensors (default true, as torch). With false,
   * missing and unexpected names are allowed (for example to load a backbone without its head);
   * shape mismatches are always refused.
   */
  strict?: boolean;
}

/** What a load assigned and, when not strict, what it skipped. */
export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
}

/**
 * Loads a torch `state_dict` (names and layouts as torchvision saves them: OIHW conv weights,
 * `[out, in]` linear weights) into a model. Every name, shape and dtype is checked first; if
 * anything does not fit, a WeightsMismatchError lists it and the model is left untouched. Then
 * each value is converted to our layout on the host and replaces the old one, one tensor at a
 * time, so the backend holds the model plus one tensor, never two copies of it.
 */
export function loadStateDict(
  model: Module,
  stateDict: ReadonlyMap<string, HostTensor>,
  options: LoadStateDictOptions = {},
): LoadReport {
  if (!(stateDict instanceof Map)) {
    throw new ArgumentError(
      'stateDict',
      'a Map from torch names to tensors',
      stateDict,
      'Use parseSafetensors(bytes).tensors',
    );
  }
  const plan = planLoad(model, stateDict, options);
  const staging = stagingBuffer(plan.slots.map(([name]) => (stateDict.get(name) as HostTensor).data.byteLength));
  for (const [name, slot] of plan.slots) assignTorchValue(slot, stateDict.get(name) as HostTensor, staging);
  return plan.report;
}

/** The tensors a load would assign, after checking every name, shape and dtype (nothing assigned). */
export function planLoad(
  model: Module,
  tensors: ReadonlyMap<string, Pick<HostTensor, 'shape' | 'dtype'>>,
  options: LoadStateDictOptions = {},
): { slots: [string, TensorSlot][]; report: LoadReport } {
  const strict = options.strict ?? true;
  const slots = new Map(model.namedSlots());
  const missing = [...slots.keys()].filter((n) => !tensors.has(n));
  const unexpected = [...tensors.keys()].filter((n) => !slots.has(n));
  const mismatched: { name: string; expected: number[]; received: number[] }[] = [];
  const dtypeErrors: string[] = [];
  for (const [name, slot] of slots) {
    const t = tensors.get(name);
    if (!t) continue;
    const expected = torchShape(slot.shape, slot.layout);
    if (expected.length !== t.shape.length || expected.some((d, i) => d !== t.shape[i])) {
      mismatched.push({ name, expected, received: [...t.shape] });
    } else if (t.dtype !== slot.dtype) {
      dtypeErrors.push(`${name}: model ${slot.dtype}, file ${t.dtype}`);
    }
  }
  if (mismatched.length > 0 || (strict && (missing.length > 0 || unexpected.length > 0))) {
    throw new WeightsMismatchError(strict ? missing : [], strict ? unexpected : [], mismatched);
  }
  if (dtypeErrors.length > 0) {
    throw new ResNetError(`weights have the wrong dtype (${dtypeErrors.join('; ')}). Nothing was loaded`);
  }
  const assign = [...slots].filter(([name]) => tensors.has(name));
  return { slots: assign, report: { loaded: assign.map(([n]) => n), missing, unexpected } };
}

/**
 * Replaces a slot's value with a torch-layout host tensor (checked by `planLoad`) and frees the old
 * value. The layout is converted in `staging` (from `stagingBuffer`) when there is one.
 */
export function assignTorchValue(slot: TensorSlot, t: HostTensor, staging?: ArrayBuffer): void {
  const value = tf.tensor(hostFromTorchLayout(t.data, t.shape, slot.layout, staging), [...slot.shape], t.dtype);
  slot.variable.assign(value);
  value.dispose();
}

/**
 * One buffer for every layout conversion of a load (`bytes`: each tensor's size), when the backend
 * copies what a tensor is made from; otherwise undefined (each conversion gets an array of its own).
 */
export function stagingBuffer(bytes: readonly number[]): ArrayBuffer | undefined {
  return backendKeepsArrays() ? undefined : new ArrayBuffer(Math.max(0, ...bytes));
}

const keepsArrays = new Map<string, boolean>();

/**
 * Whether the current backend keeps the typed array a tensor is made from (CPU; WebGL and
 * tfjs-node until first use) instead of copying it (WASM). A buffer may be reused for the next
 * tensor only when it copies. Found out once per backend with a one-value tensor.
 */
export function backendKeepsArrays(): boolean {
  const name = tf.getBackend();
  let kept = keepsArrays.get(name);
  if (kept === undefined) {
    const probe = new Float32Array([1]);
    const t = tf.tensor1d(probe);
    probe[0] = 2;
    kept = t.dataSync()[0] === 2;
    t.dispose();
    keepsArrays.set(name, kept);
  }
  return kept;
}

/**
 * `data` (torch layout, shape `torchShape`) in our layout, converted on the host: OIHW → HWIO for
 * convolution weights, [out, in] → [in, out] for linear weights, into `into` when given (else a
 * new array); other layouts are returned as they are.
 */
export function hostFromTorchLayout<T extends Float32Array | Int32Array>(
  data: T,
  shape: readonly number[],
  layout: TensorLayout,
  into?: ArrayBuffer,
): T {
  if (layout === 'same') return data;
  // torch: [out, in, kh, kw] or [out, in]; ours: [kh, kw, in, out] or [in, out], the output channel fastest.
  const [o = 0, i = 0, kh = 1, kw = 1] = shape;
  const Typed = data.constructor as { new (n: number): T; new (b: ArrayBuffer, offset: number, n: number): T };
  const out = into ? new Typed(into, 0, data.length) : new Typed(data.length);
  const k = kh * kw;
  for (let oc = 0; oc < o; oc++) {
    for (let ic = 0; ic < i; ic++) {
      for (let p = 0; p < k; p++) out[(p * i + ic) * o + oc] = data[(oc * i + ic) * k + p] as number;
    }
  }
  return out;
}
// #endregion

/** The model's parameters and buffers as torch's `state_dict()`: torch names, order and layouts. */
export function exportStateDict(model: Module): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, slot] of model.namedSlots()) {
    const t = tf.tidy(() => toTorchLayout(slot.variable, slot.layout));
    out.set(name, tensorToHost(t));
    t.dispose();
  }
  return out;
}

/** Converts named gradients (ours, keyed like parameters) to torch layouts for export. */
export function gradientsToTorch(model: Module, grads: Record<string, tf.Tensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [name, slot] of model.namedSlots()) {
    const g = grads[name];
    if (!g) continue;
    const t = tf.tidy(() => toTorchLayout(g, slot.layout));
    out.set(name, tensorToHost(t));
    t.dispose();
  }
  return out;
}
