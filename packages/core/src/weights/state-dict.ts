import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, ResNetError, WeightsMismatchError } from '../errors.js';
import { fromTorchLayout, type Module, toTorchLayout, torchShape } from '../module.js';
import { type HostTensor, hostToTensor, tensorToHost } from './host-tensor.js';

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
 * anything does not fit, a WeightsMismatchError lists it and the model is left untouched.
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
  const strict = options.strict ?? true;
  const slots = new Map(model.namedSlots());
  const missing = [...slots.keys()].filter((n) => !stateDict.has(n));
  const unexpected = [...stateDict.keys()].filter((n) => !slots.has(n));
  const mismatched: { name: string; expected: number[]; received: number[] }[] = [];
  const dtypeErrors: string[] = [];
  for (const [name, slot] of slots) {
    const t = stateDict.get(name);
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
  // Build every new value before touching a variable, so a failure leaves the model as it was.
  const ready: [tf.Variable, tf.Tensor][] = [];
  try {
    for (const [name, slot] of slots) {
      const t = stateDict.get(name);
      if (!t) continue;
      ready.push([
        slot.variable,
        tf.tidy(() => {
          const raw = hostToTensor(t);
          return fromTorchLayout(raw, slot.layout);
        }),
      ]);
    }
  } catch (e) {
    for (const [, t] of ready) t.dispose();
    throw e;
  }
  for (const [variable, value] of ready) {
    variable.assign(value);
    value.dispose();
  }
  return { loaded: [...slots.keys()].filter((n) => stateDict.has(n)), missing, unexpected };
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
