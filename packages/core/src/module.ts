import * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, ResNetError } from './errors.js';
import { type Flow, isSymbolic } from './flow.js';

/**
 * How a tensor is laid out here compared with PyTorch.
 * - `hwio`: conv weights, `[kh, kw, in/groups, out]` here, `[out, in/groups, kh, kw]` in torch.
 * - `io`: linear weights, `[in, out]` here, `[out, in]` in torch.
 * - `same`: vectors and scalars, identical.
 */
export type TensorLayout = 'hwio' | 'io' | 'same';

/**
 * A named tensor slot of a module: a trainable parameter or a buffer (running statistics).
 * `shape` is our layout's shape; `variable` holds the values (absent in a meta model).
 */
export interface TensorSlot {
  readonly kind: 'parameter' | 'buffer';
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly layout: TensorLayout;
  /** The values. Throws for a meta model (built by `buildMeta`), which has shapes only. */
  readonly variable: tf.Variable;
  /** False for slots of a meta model. */
  readonly materialized: boolean;
}

/** How deep inside `buildMeta` and `buildUninitialized` calls the current build is. */
const building = { meta: 0, uninitialized: 0 };

function buildingAs<T>(mode: keyof typeof building, build: () => T): T {
  building[mode]++;
  try {
    return build();
  } finally {
    building[mode]--;
  }
}

/**
 * Builds modules without allocating their tensors (like torch's "meta" device): shapes,
 * parameter counts, summaries and symbolic forward passes work; real forward passes do not.
 * Building a meta ResNet-152 takes milliseconds instead of filling 60 M random weights.
 */
export function buildMeta<T>(build: () => T): T {
  return buildingAs('meta', build);
}

/** Whether modules built now are meta (inside `buildMeta`). */
export function isBuildingMeta(): boolean {
  return building.meta > 0;
}

/**
 * Builds modules whose tensors are allocated as zeros instead of being initialised, for weights
 * that a load overwrites at once (as torch's `skip_init`, or a meta model loaded with
 * `load_state_dict(assign=True)`): drawing ResNet-50's 25 M random initial values costs more than
 * reading its checkpoint. A model built so is not a trained or a freshly initialised one until
 * every slot is loaded: use it with a strict `loadStateDict`.
 */
export function buildUninitialized<T>(build: () => T): T {
  return buildingAs('uninitialized', build);
}

class Slot implements TensorSlot {
  constructor(
    readonly kind: 'parameter' | 'buffer',
    readonly shape: readonly number[],
    readonly dtype: 'float32' | 'int32',
    readonly layout: TensorLayout,
    private readonly value: tf.Variable | null,
    readonly owner: string,
  ) {}
  get materialized(): boolean {
    return this.value !== null;
  }
  get variable(): tf.Variable {
    if (!this.value) {
      throw new ResNetError(
        `this ${this.owner} was built with buildMeta and holds no values; build it normally to load or run it`,
      );
    }
    return this.value;
  }
  /** Whether the parameter receives gradients (meta slots keep the flag themselves). */
  trainable = true;
}

/** Observes module calls (forward pre- and post-hooks, as torch's). */
export interface ModuleHooks {
  before?(module: Module, input: Flow): void;
  after?(module: Module, input: Flow, output: Flow): void;
}

const activeHooks: ModuleHooks[] = [];

/** Runs `fn` with `hooks` observing every `Module.call` made inside it. */
export function withModuleHooks<T>(hooks: ModuleHooks, fn: () => T): T {
  activeHooks.push(hooks);
  try {
    return fn();
  } finally {
    activeHooks.splice(activeHooks.lastIndexOf(hooks), 1);
  }
}

// #region notebook:torch-layouts
/** The shape of a tensor slot as PyTorch stores it. */
export function torchShape(shape: readonly number[], layout: TensorLayout): number[] {
  if (layout === 'hwio') {
    const [kh, kw, i, o] = shape as [number, number, number, number];
    return [o, i, kh, kw];
  }
  if (layout === 'io') {
    const [i, o] = shape as [number, number];
    return [o, i];
  }
  return [...shape];
}

/** Converts a tensor from PyTorch's layout to ours (does not dispose `t`). */
export function fromTorchLayout(t: tf.Tensor, layout: TensorLayout): tf.Tensor {
  if (layout === 'hwio') return tf.transpose(t, [2, 3, 1, 0]);
  if (layout === 'io') return tf.transpose(t, [1, 0]);
  return t.clone();
}

/** Converts a tensor from our layout to PyTorch's (does not dispose `t`). */
export function toTorchLayout(t: tf.Tensor, layout: TensorLayout): tf.Tensor {
  if (layout === 'hwio') return tf.transpose(t, [3, 2, 0, 1]);
  if (layout === 'io') return tf.transpose(t, [1, 0]);
  return t.clone();
}
// #endregion

/**
 * The base of every layer, block and model: a tree of named children, each owning parameters
 * and buffers. Dotted names (`layer1.0.downsample.1.running_var`) are those of torch's
 * `state_dict()`, in the same order.
 */
export abstract class Module {
  /** The PyTorch class name this module stands for (`Conv2d`, `Bottleneck`); used by summaries. */
  abstract readonly typeName: string;

  private readonly childModules = new Map<string, Module>();
  private readonly slots = new Map<string, TensorSlot>();
  private isTraining = false;
  private isDisposed = false;
  private meta = false;

  /** The forward pass. Call modules through `call`, which runs hooks, not `forward`. */
  abstract forward(input: Flow): Flow;

  /** Runs the module on a tensor (or a symbolic tensor) with hooks; no tidy (see `predict`). */
  call<T extends Flow>(input: T): T {
    if (this.isDisposed) {
      throw new ResNetError(`this ${this.typeName} was disposed; build or load a new model to run it`);
    }
    if (this.meta && !isSymbolic(input)) {
      throw new ResNetError(
        `this ${this.typeName} was built with buildMeta and holds no weights; build it normally to run it on tensors`,
      );
    }
    for (const h of activeHooks) h.before?.(this, input);
    const output = this.forward(input);
    for (const h of activeHooks) h.after?.(this, input, output);
    return output as T;
  }

  protected registerModule<M extends Module>(name: string, module: M): M {
    if (this.childModules.has(name) || this.slots.has(name)) {
      throw new ResNetError(`${this.typeName} already has a member named '${name}'`);
    }
    this.childModules.set(name, module);
    return module;
  }

  /**
   * Registers a parameter of `shape` (our layout) whose initial value `init` creates. In a meta
   * build `init` is not called and the returned variable must not be used.
   */
  protected registerParameter(
    name: string,
    shape: readonly number[],
    init: () => tf.Tensor,
    layout: TensorLayout = 'same',
  ): tf.Variable {
    return this.registerSlot(name, 'parameter', shape, 'float32', init, layout);
  }

  protected registerBuffer(
    name: string,
    shape: readonly number[],
    init: () => tf.Tensor,
    dtype: 'float32' | 'int32' = 'float32',
  ): tf.Variable {
    return this.registerSlot(name, 'buffer', shape, dtype, init, 'same');
  }

  private registerSlot(
    name: string,
    kind: TensorSlot['kind'],
    shape: readonly number[],
    dtype: 'float32' | 'int32',
    init: () => tf.Tensor,
    layout: TensorLayout,
  ): tf.Variable {
    if (this.childModules.has(name) || this.slots.has(name)) {
      throw new ResNetError(`${this.typeName} already has a member named '${name}'`);
    }
    let variable: tf.Variable | null = null;
    if (building.meta === 0) {
      const initial = building.uninitialized > 0 ? tf.zeros([...shape], dtype) : init();
      variable = tf.variable(initial, kind === 'parameter');
      initial.dispose();
    }
    const slot = new Slot(kind, Object.freeze([...shape]), dtype, layout, variable, this.typeName);
    slot.trainable = kind === 'parameter';
    this.slots.set(name, slot);
    this.meta = building.meta > 0;
    return variable as tf.Variable;
  }

  /** True when built by `buildMeta`: shapes only, no values. */
  get isMeta(): boolean {
    return this.namedModules().some(([, m]) => m.meta);
  }

  /** Direct children in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.childModules.entries()];
  }

  /** This module and every descendant, pre-order, with dotted paths (the root's path is `prefix`). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.childModules) {
      out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    }
    return out;
  }

  /** Tensor slots owned directly by this module (not its children). */
  ownSlots(): [string, TensorSlot][] {
    return [...this.slots.entries()];
  }

  /** Every parameter and buffer under its dotted torch name, in `state_dict()` order. */
  namedSlots(): [string, TensorSlot][] {
    const out: [string, TensorSlot][] = [];
    for (const [path, module] of this.namedModules()) {
      for (const [name, slot] of module.slots) out.push([path ? `${path}.${name}` : name, slot]);
    }
    return out;
  }

  /** Parameter slots (shapes, layouts, trainable flags) in torch's order; works for meta models. */
  namedParameterSlots(): [string, TensorSlot & { trainable: boolean }][] {
    return this.namedSlots().filter(([, s]) => s.kind === 'parameter') as [
      string,
      TensorSlot & { trainable: boolean },
    ][];
  }

  /** Parameters only (what torch's `named_parameters()` lists). */
  namedParameters(): [string, tf.Variable][] {
    return this.namedSlots()
      .filter(([, s]) => s.kind === 'parameter')
      .map(([n, s]) => [n, s.variable]);
  }

  /** Buffers only (running statistics and batch counters). */
  namedBuffers(): [string, tf.Variable][] {
    return this.namedSlots()
      .filter(([, s]) => s.kind === 'buffer')
      .map(([n, s]) => [n, s.variable]);
  }

  /** Number of parameter values; `{ trainable: true }` counts only those that receive gradients. */
  countParameters(options: { trainable?: boolean } = {}): number {
    let total = 0;
    for (const [, s] of this.namedParameterSlots()) {
      if (options.trainable === undefined || s.trainable === options.trainable) total += sizeOf(s.shape);
    }
    return total;
  }

  /** Number of buffer values (running means and variances, batch counters). */
  countBuffers(): number {
    return this.namedSlots()
      .filter(([, s]) => s.kind === 'buffer')
      .reduce((t, [, s]) => t + sizeOf(s.shape), 0);
  }

  /** Whether the module (and so BatchNorm) is in training mode. */
  get training(): boolean {
    return this.isTraining;
  }

  /** Sets training mode on this module and every descendant, as torch's `train(mode)`. */
  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new ArgumentError('mode', 'true or false', mode);
    for (const [, m] of this.namedModules()) m.isTraining = mode;
    return this;
  }

  /** Evaluation mode: BatchNorm uses its running statistics. */
  eval(): this {
    return this.train(false);
  }

  /** Freezes or unfreezes parameters (all, or those whose name starts with `prefix`). */
  setTrainable(trainable: boolean, prefix = ''): this {
    if (typeof trainable !== 'boolean') throw new ArgumentError('trainable', 'true or false', trainable);
    let matched = 0;
    for (const [name, s] of this.namedParameterSlots()) {
      if (name === prefix || name.startsWith(prefix ? `${prefix}.` : '')) {
        s.trainable = trainable;
        if (s.materialized) s.variable.trainable = trainable;
        matched++;
      }
    }
    if (matched === 0) {
      throw new ArgumentError('prefix', 'a module path of this model such as "layer4" or "fc"', prefix);
    }
    return this;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.isDisposed;
  }

  /** Frees every parameter and buffer. The module cannot run afterwards. */
  dispose(): void {
    for (const [, m] of this.namedModules()) {
      if (m.isDisposed) continue;
      for (const slot of m.slots.values()) if (slot.materialized) slot.variable.dispose();
      m.isDisposed = true;
    }
  }
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
