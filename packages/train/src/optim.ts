import { ArgumentError, type HostTensor, hostToTensor, numberInRange, ResNetError, tensorToHost } from '@resnet/core';
import * as tf from '@tensorflow/tfjs-core';

/** Parameters to optimise, by name (a model's `namedParameters()`, trainable ones). */
export type NamedParameters = readonly (readonly [string, tf.Variable])[];

/** An optimiser's state for a checkpoint: the step count and named buffers per parameter. */
export interface OptimizerState {
  kind: 'sgd' | 'adam';
  step: number;
  /** `<parameter name>.<buffer>` → values (`momentum_buffer`, `exp_avg`, `exp_avg_sq`). */
  buffers: Map<string, HostTensor>;
}

/** The optimisers of this package share this interface. */
export interface Optimizer {
  readonly kind: 'sgd' | 'adam';
  /** The learning rate of the next `step` (set it from a schedule). */
  lr: number;
  /** Number of steps taken. */
  readonly stepCount: number;
  /** Applies one update from gradients keyed by parameter name (a missing gradient skips that parameter). */
  step(grads: Readonly<Record<string, tf.Tensor>>): void;
  getState(): OptimizerState;
  /** Restores `getState()`'s output; checks every name and shape before changing anything. */
  setState(state: OptimizerState): void;
  /** Throws, changing nothing, unless `state` fits these parameters and this kind of optimiser. */
  checkState(state: OptimizerState): void;
  dispose(): void;
}

function checkParams(params: NamedParameters): Map<string, tf.Variable> {
  if (!Array.isArray(params) || params.length === 0) {
    throw new ArgumentError(
      'params',
      'a non-empty list of [name, variable] pairs',
      params,
      'pass model.namedParameters()',
    );
  }
  const map = new Map<string, tf.Variable>();
  for (const entry of params) {
    const [name, v] = (Array.isArray(entry) ? entry : []) as [string, tf.Variable];
    if (typeof name !== 'string' || !(v instanceof tf.Variable)) {
      throw new ArgumentError('params', '[name, tf.Variable] pairs', entry, 'pass model.namedParameters()');
    }
    if (map.has(name)) throw new ArgumentError('params', 'unique names', name);
    map.set(name, v);
  }
  return map;
}

function positiveLr(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ArgumentError('lr', 'a finite learning rate >= 0', value);
  }
  return value;
}

abstract class BaseOptimizer implements Optimizer {
  abstract readonly kind: 'sgd' | 'adam';
  protected readonly params: Map<string, tf.Variable>;
  /** Buffers by `<name>.<slot>`. */
  protected readonly buffers = new Map<string, tf.Variable>();
  protected steps = 0;
  private rate: number;

  constructor(params: NamedParameters, lr: number) {
    this.params = checkParams(params);
    this.rate = positiveLr(lr);
  }

  get lr(): number {
    return this.rate;
  }

  set lr(value: number) {
    this.rate = positiveLr(value);
  }

  get stepCount(): number {
    return this.steps;
  }

  step(grads: Readonly<Record<string, tf.Tensor>>): void {
    if (grads === null || typeof grads !== 'object') {
      throw new ArgumentError('grads', 'an object of gradients keyed by parameter name', grads);
    }
    for (const name of Object.keys(grads)) {
      const p = this.params.get(name);
      if (!p) throw new ArgumentError('grads', 'gradients of the optimiser’s parameters only', name);
      const g = grads[name] as tf.Tensor;
      if (!tf.util.arraysEqual(g.shape, p.shape)) {
        throw new ArgumentError(`grads.${name}`, `shape [${p.shape.join(', ')}]`, g);
      }
    }
    this.steps++;
    for (const [name, p] of this.params) {
      const g = grads[name];
      if (g) tf.tidy(() => this.update(name, p, g));
    }
  }

  protected abstract update(name: string, p: tf.Variable, g: tf.Tensor): void;

  protected buffer(key: string, like: tf.Variable): tf.Variable {
    let b = this.buffers.get(key);
    if (!b) {
      b = tf.variable(tf.zerosLike(like), false);
      this.buffers.set(key, b);
    }
    return b;
  }

  getState(): OptimizerState {
    const buffers = new Map<string, HostTensor>();
    for (const [k, v] of this.buffers) buffers.set(k, tensorToHost(v));
    return { kind: this.kind, step: this.steps, buffers };
  }

  setState(state: OptimizerState): void {
    this.checkState(state);
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
    for (const [key, t] of state.buffers) {
      const x = hostToTensor(t);
      this.buffers.set(key, tf.variable(x, false));
      x.dispose();
    }
    this.steps = state.step;
  }

  checkState(state: OptimizerState): void {
    if (state === null || typeof state !== 'object' || !(state.buffers instanceof Map)) {
      throw new ArgumentError('state', 'an optimiser state from getState()', state);
    }
    if (state.kind !== this.kind) {
      throw new ResNetError(
        `the optimiser state is for ${state.kind}, but this optimiser is ${this.kind}: use the same optimiser as the run that saved it`,
      );
    }
    if (!Number.isInteger(state.step) || state.step < 0)
      throw new ArgumentError('state.step', 'an integer >= 0', state.step);
    for (const [key, t] of state.buffers) {
      const dot = key.lastIndexOf('.');
      const p = this.params.get(key.slice(0, dot));
      if (!p)
        throw new ResNetError(
          `the optimiser state has a buffer for an unknown parameter: ${key}. Is it from another architecture?`,
        );
      if (!tf.util.arraysEqual(t.shape, p.shape) || t.dtype !== 'float32') {
        throw new ResNetError(
          `the optimiser state's ${key} has shape [${t.shape.join(', ')}], the parameter [${p.shape.join(', ')}]`,
        );
      }
    }
  }

  dispose(): void {
    for (const b of this.buffers.values()) b.dispose();
    this.buffers.clear();
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * torch's `optim.SGD`: `g ← g + weightDecay·p`; with momentum, `buf ← g` on the first step and
 * `buf ← momentum·buf + (1 − dampening)·g` after; `g ← g + momentum·buf` (Nesterov) or `buf`;
 * `p ← p − lr·g`.
 */
export class Sgd extends BaseOptimizer {
  readonly kind = 'sgd' as const;
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;

  constructor(params: NamedParameters, options: SgdOptions) {
    if (options === null || typeof options !== 'object')
      throw new ArgumentError('options', 'an options object with lr', options);
    super(params, options.lr);
    this.momentum = numberInRange('options.momentum', options.momentum ?? 0, 0, 1);
    this.dampening = numberInRange('options.dampening', options.dampening ?? 0, 0, 1);
    this.weightDecay = numberInRange('options.weightDecay', options.weightDecay ?? 0, 0, 1);
    this.nesterov = options.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new ArgumentError('options.nesterov', 'momentum > 0 and dampening 0 (as torch)', options);
    }
  }

  protected update(name: string, p: tf.Variable, grad: tf.Tensor): void {
    let g = this.weightDecay === 0 ? grad : tf.add(grad, tf.mul(p, this.weightDecay));
    if (this.momentum !== 0) {
      const key = `${name}.momentum_buffer`;
      const first = !this.buffers.has(key);
      const buf = this.buffer(key, p);
      buf.assign(first ? g : tf.add(tf.mul(buf, this.momentum), tf.mul(g, 1 - this.dampening)));
      g = this.nesterov ? tf.add(g, tf.mul(buf, this.momentum)) : buf;
    }
    p.assign(tf.sub(p, tf.mul(g, this.lr)));
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient, as torch's `Adam(weight_decay=...)` (not AdamW). */
  weightDecay?: number;
}

/**
 * torch's `optim.Adam`: `m ← β1·m + (1 − β1)·g`, `v ← β2·v + (1 − β2)·g²`,
 * `p ← p − lr/(1 − β1ᵗ) · m / (√v/√(1 − β2ᵗ) + eps)`.
 */
export class Adam extends BaseOptimizer {
  readonly kind = 'adam' as const;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;

  constructor(params: NamedParameters, options: AdamOptions = {}) {
    if (options === null || typeof options !== 'object')
      throw new ArgumentError('options', 'an options object', options);
    super(params, options.lr ?? 1e-3);
    const betas = options.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2)
      throw new ArgumentError('options.betas', 'a pair [beta1, beta2]', betas);
    this.beta1 = numberInRange('options.betas[0]', betas[0], 0, 0.999999);
    this.beta2 = numberInRange('options.betas[1]', betas[1], 0, 0.999999);
    this.eps = numberInRange('options.eps', options.eps ?? 1e-8, 0, 1);
    this.weightDecay = numberInRange('options.weightDecay', options.weightDecay ?? 0, 0, 1);
  }

  protected update(name: string, p: tf.Variable, grad: tf.Tensor): void {
    const g = this.weightDecay === 0 ? grad : tf.add(grad, tf.mul(p, this.weightDecay));
    const m = this.buffer(`${name}.exp_avg`, p);
    const v = this.buffer(`${name}.exp_avg_sq`, p);
    m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
    v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
    const bc1 = 1 - this.beta1 ** this.steps;
    const bc2 = 1 - this.beta2 ** this.steps;
    const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), this.eps);
    p.assign(tf.sub(p, tf.mul(tf.div(m, denom), this.lr / bc1)));
  }
}
