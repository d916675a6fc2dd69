import {
  ArgumentError,
  type HostTensor,
  loadStateDict,
  type Module,
  ResNetError,
  torchShape,
  WeightsMismatchError,
} from '@resnet/core';

/**
 * What to freeze when fine-tuning, as torch users do it by hand: `'none'` trains everything,
 * `'backbone'` only the head (the final linear classifier), `{ until: 'layer2' }` freezes every
 * top-level part of the network up to and including that one (the stem, layer1 and layer2) and
 * trains the rest.
 */
export type FreezeSpec = 'none' | 'backbone' | { until: string };

/** What `freezeModel` did. */
export interface FreezeReport {
  /** Parameters that no longer receive gradients, in state_dict order. */
  frozen: string[];
  /** Parameters that still do. */
  trainable: string[];
  /** BatchNorm layers kept in eval mode during training (their running statistics untouched). */
  evalModules: string[];
}

/** BatchNorm layers of a model that stay in eval mode while the model trains, by model. */
const frozenNorms = new WeakMap<Module, Module[]>();

function checkModel(model: Module): void {
  if (model === null || typeof model !== 'object' || typeof (model as Partial<Module>).namedChildren !== 'function')
    throw new ArgumentError('model', 'a @resnet model (a Module)', model);
}

/**
 * The model's classifier: its last top-level child that is a linear layer (`fc` in every
 * torchvision ResNet and every preset of the zoo), or null for a model without one.
 */
export function headOf(model: Module): { name: string; module: Module } | null {
  checkModel(model);
  const children = model.namedChildren();
  for (let i = children.length - 1; i >= 0; i--) {
    const [name, module] = children[i] as [string, Module];
    if (module.typeName === 'Linear') return { name, module };
  }
  return null;
}

/** Parses `none`, `backbone` or `until:<part>` (the CLI's `--freeze`). */
export function parseFreezeSpec(text: string): FreezeSpec {
  if (text === 'none' || text === 'backbone') return text;
  const m = /^until:(.+)$/.exec(text);
  if (m) return { until: m[1] as string };
  throw new ArgumentError('freeze', 'none, backbone or until:<part> (e.g. until:layer2)', text);
}

/**
 * Freezes parameters as torch's `requires_grad_(False)` does, and keeps the frozen BatchNorm
 * layers in eval mode while the model trains (`computeGradients` and `trainStep` put the model in
 * train mode and these layers back in eval mode), so their running statistics stay as loaded and
 * they normalise with them. Frozen parameters get no gradient, so optimisers built from the
 * trainable ones (`model.namedParameters().filter(([, v]) => v.trainable)`) never touch them, weight
 * decay included. Calling it again replaces the previous freeze.
 */
export function freezeModel(model: Module, spec: FreezeSpec): FreezeReport {
  checkModel(model);
  const children = model.namedChildren();
  const head = headOf(model);
  let frozenParts: Set<string>;
  if (spec === 'none') frozenParts = new Set();
  else if (spec === 'backbone') {
    if (!head) throw new ArgumentError('freeze', "'none' or until:<part> for a model without a classifier", 'backbone');
    frozenParts = new Set(children.map(([n]) => n).filter((n) => n !== head.name));
  } else if (spec !== null && typeof spec === 'object' && typeof spec.until === 'string') {
    const parts = children.filter(([n, m]) => m.namedParameters().length > 0 && n !== head?.name).map(([n]) => n);
    const index = children.findIndex(([n]) => n === spec.until);
    if (index < 0 || !parts.includes(spec.until)) {
      const stages = parts.filter((n) => /^layer\d+$/.test(n));
      throw new ArgumentError(
        'freeze',
        `until:<part> with a part of this model: ${(stages.length > 0 ? stages : parts).join(', ')}`,
        `until:${spec.until}`,
        'Use backbone to train the classifier only, none to train everything',
      );
    }
    frozenParts = new Set(children.slice(0, index + 1).map(([n]) => n));
  } else {
    throw new ArgumentError('freeze', "'none', 'backbone' or { until: 'layer2' }", spec);
  }
  model.setTrainable(true);
  const norms: Module[] = [];
  const evalModules: string[] = [];
  for (const [name, child] of children) {
    if (!frozenParts.has(name) || child.namedParameters().length === 0) continue;
    model.setTrainable(false, name);
    for (const [path, m] of child.namedModules(name)) {
      if (m.typeName === 'BatchNorm2d') {
        norms.push(m);
        evalModules.push(path);
      }
    }
  }
  frozenNorms.set(model, norms);
  const params = model.namedParameterSlots();
  return {
    frozen: params.filter(([, s]) => !s.trainable).map(([n]) => n),
    trainable: params.filter(([, s]) => s.trainable).map(([n]) => n),
    evalModules,
  };
}

/**
 * Freezes exactly the named parameters and keeps exactly the named BatchNorm layers in eval mode
 * (a `FreezeReport` applied to another copy of the model, as the data-parallel replicas do).
 */
export function applyFreezeReport(model: Module, report: Pick<FreezeReport, 'frozen' | 'evalModules'>): void {
  checkModel(model);
  model.setTrainable(true);
  for (const name of report.frozen) model.setTrainable(false, name);
  const modules = new Map(model.namedModules());
  frozenNorms.set(
    model,
    report.evalModules.map((path) => {
      const m = modules.get(path);
      if (!m) throw new ArgumentError('report.evalModules', 'module paths of this model', path);
      return m;
    }),
  );
}

/** The BatchNorm layers `freezeModel` keeps in eval mode, by path. */
export function frozenNormPaths(model: Module): string[] {
  checkModel(model);
  const norms = new Set(frozenNorms.get(model) ?? []);
  return model
    .namedModules()
    .filter(([, m]) => norms.has(m))
    .map(([p]) => p);
}

/** Train mode for the model, except the BatchNorm layers of its frozen parts (torch's `model.train()` + `bn.eval()`). */
export function setTrainMode(model: Module): void {
  checkModel(model);
  model.train();
  for (const m of frozenNorms.get(model) ?? []) m.eval();
}

// #region notebook:load-pretrained
function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** What `loadPretrained` did. */
export interface PretrainedReport {
  /** Tensors loaded. */
  loaded: string[];
  /**
   * The head's tensors left as initialised because the weights' head has another number of
   * classes (empty when the head fitted), and the one-line notice to show.
   */
  reinitialized: string[];
  notice: string | null;
}

export interface LoadPretrainedOptions {
  /**
   * The class names of the weights' head and of the model's, when known (a checkpoint of
   * `resnet train` keeps its own): a head with as many classes but other names is re-initialised too.
   */
  classes?: { weights: readonly string[]; model: readonly string[] };
}

/** "A, B, C" or "A, B, …" for a notice. */
function someNames(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, …`;
}

/**
 * Loads pretrained weights for fine-tuning: every tensor must fit (names, shapes: all or nothing,
 * as `loadStateDict`), except the head's when its number of classes differs from the model's, or
 * when `options.classes` says the classes are others: those keep the model's fresh
 * initialisation, and `notice` says so (`fc: 1000 → 5 classes, re-initialised`).
 */
export function loadPretrained(
  model: Module,
  stateDict: ReadonlyMap<string, HostTensor>,
  options: LoadPretrainedOptions = {},
): PretrainedReport {
  if (model === null || typeof model !== 'object' || typeof (model as Partial<Module>).namedSlots !== 'function')
    throw new ArgumentError('model', 'a @resnet model (a Module)', model);
  if (!(stateDict instanceof Map))
    throw new ArgumentError(
      'stateDict',
      'a Map from torch names to tensors',
      stateDict,
      'Use readStateDict(...).tensors',
    );
  const head = headOf(model);
  const slots = new Map(model.namedSlots());
  let tensors: ReadonlyMap<string, HostTensor> = stateDict;
  const reinitialized: string[] = [];
  let notice: string | null = null;
  if (head) {
    const headSlots = [...slots].filter(([n]) => n.startsWith(`${head.name}.`));
    const differs = headSlots.some(([n, s]) => {
      const t = stateDict.get(n);
      return t !== undefined && !sameShape(torchShape(s.shape, s.layout), t.shape);
    });
    const known = options?.classes;
    if (known !== undefined && (!Array.isArray(known?.weights) || !Array.isArray(known?.model)))
      throw new ArgumentError('options.classes', '{ weights: string[], model: string[] }', known);
    const renamed =
      known !== undefined &&
      (known.weights.length !== known.model.length || known.weights.some((c, i) => c !== known.model[i]));
    if (differs || renamed) {
      const weight = stateDict.get(`${head.name}.weight`);
      const slot = slots.get(`${head.name}.weight`);
      const inFile = weight?.shape[0];
      const inModel = slot ? torchShape(slot.shape, slot.layout)[0] : undefined;
      if (weight && slot && weight.shape[1] !== torchShape(slot.shape, slot.layout)[1]) {
        throw new ResNetError(
          `the weights' ${head.name} takes ${weight.shape[1]} features, this model's ${torchShape(slot.shape, slot.layout)[1]}: they are for another architecture`,
        );
      }
      const filtered = new Map(stateDict);
      for (const [n] of headSlots) {
        if (filtered.delete(n)) reinitialized.push(n);
      }
      tensors = filtered;
      notice =
        differs || !known
          ? `${head.name}: ${inFile ?? '?'} → ${inModel ?? '?'} classes, re-initialised`
          : `${head.name}: ${inFile} classes (${someNames(known.weights)}) → ${inModel} other classes (${someNames(known.model)}), re-initialised`;
    }
  }
  const missing = [...slots.keys()].filter((n) => !tensors.has(n) && !reinitialized.includes(n));
  const unexpected = [...tensors.keys()].filter((n) => !slots.has(n));
  const mismatched = [...slots]
    .filter(([n]) => tensors.has(n))
    .map(([name, s]) => ({
      name,
      expected: torchShape(s.shape, s.layout),
      received: [...(tensors.get(name) as HostTensor).shape],
    }))
    .filter((m) => !sameShape(m.expected, m.received));
  if (missing.length > 0 || unexpected.length > 0 || mismatched.length > 0)
    throw new WeightsMismatchError(missing, unexpected, mismatched);
  const report = loadStateDict(model, tensors, { strict: false });
  return { loaded: report.loaded, reinitialized, notice };
}
// #endregion
