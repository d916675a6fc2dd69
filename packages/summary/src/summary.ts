import {
  ArgumentError,
  Conv2d,
  describeValue,
  GlobalPool2d,
  MaxPool2d,
  Module,
  ResNet,
  ResNetError,
} from '@resnet/core';
import { type ResolvedOptions, resolveOptions } from './options.js';
import { type TracedCall, traceCalls } from './trace.js';
import type { ModelSummary, ShapeLayout, StageSummary, SummaryOptions, SummaryRow, SummaryTotals } from './types.js';

/** NHWC → the display layout (rank-4 shapes only). */
export function toLayout(shape: readonly number[], layout: ShapeLayout): number[] {
  if (layout === 'nchw' && shape.length === 4) {
    const [n, h, w, c] = shape as [number, number, number, number];
    return [n, c, h, w];
  }
  return [...shape];
}

/** The display layout → NHWC (rank-4 shapes only). */
export function fromLayout(shape: readonly number[], layout: ShapeLayout): number[] {
  if (layout === 'nchw' && shape.length === 4) {
    const [n, c, h, w] = shape as [number, number, number, number];
    return [n, h, w, c];
  }
  return [...shape];
}

const product = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

/**
 * A torchinfo-style summary of `model` for an input of `inputShape`, computed by shape
 * inference: the model's own forward code runs on a symbolic tensor with module hooks, so no
 * kernel runs, weights need not exist (a `buildMeta` / `{ meta: true }` model works) and any
 * input size can be summarised. Every figure follows torchinfo's definitions (see the README).
 *
 * `inputShape` is `[N, H, W, C]`, or `[N, C, H, W]` with `{ layout: 'nchw' }` (shapes in the
 * summary are then shown in torch's order too).
 */
export function summary(model: Module, inputShape: readonly number[], options?: SummaryOptions): ModelSummary {
  if (!(model instanceof Module)) {
    throw new ArgumentError(
      'model',
      'a @resnet/core Module (for example createModel("resnet50", { meta: true }) from @resnet/zoo)',
      model,
    );
  }
  if (model.disposed) throw new ArgumentError('model', 'a live model', 'a disposed model', 'Build it again');
  const o = resolveOptions(options);
  const nhwc = checkInputShape(model, inputShape, o);
  const name = model instanceof ResNet ? model.name : model.typeName;

  let calls: TracedCall[];
  try {
    calls = traceCalls(model, nhwc);
  } catch (e) {
    if (!(e instanceof ResNetError)) throw e;
    throw new ResNetError(
      `${name} cannot take an input of shape [${inputShape.join(', ')}] (${o.layout.toUpperCase()}): ${e.message}`,
    );
  }
  const rows = buildRows(model, calls, o);
  const totals = computeTotals(model, rows, calls, o);
  const root = calls[0] as TracedCall;
  let weightedDepth = 0;
  let receptiveField: [number, number] = [1, 1];
  for (const c of calls) {
    weightedDepth = Math.max(weightedDepth, c.geometry.weightedLayers);
    // Pre-order: the last rank-4 output that is not a global pooling is the last feature map.
    if (c.outputShape.length === 4 && !(c.module instanceof GlobalPool2d)) receptiveField = c.geometry.receptiveField;
  }
  return {
    name,
    layout: o.layout,
    inputShape: [...inputShape],
    outputShape: toLayout(root.outputShape, o.layout),
    depth: o.depth,
    columns: o.columns,
    elementBytes: o.elementBytes,
    rows,
    totals,
    stages: buildStages(rows, calls, o),
    weightedDepth,
    receptiveField,
  };
}

function checkInputShape(model: Module, inputShape: unknown, o: ResolvedOptions): number[] {
  const form = o.layout === 'nchw' ? '[N, C, H, W]' : '[N, H, W, C]';
  const isResNet = model instanceof ResNet;
  if (!Array.isArray(inputShape) || (isResNet && inputShape.length !== 4) || inputShape.length === 0) {
    const rank = Array.isArray(inputShape) ? ` (rank ${inputShape.length})` : '';
    throw new ArgumentError(
      'inputShape',
      `an array of 4 positive sizes ${form} for layout '${o.layout}'`,
      `${describeValue(inputShape)}${rank}`,
    );
  }
  inputShape.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 1) {
      throw new ArgumentError(
        `inputShape[${i}]`,
        `a positive integer size (inputShape is ${form} for layout '${o.layout}')`,
        d,
      );
    }
  });
  const nhwc = fromLayout(inputShape, o.layout);
  if (isResNet) {
    const channels = model.config.inputChannels;
    if (nhwc[3] !== channels) {
      const other = o.layout === 'nchw' ? 'nhwc' : 'nchw';
      const looksOther = fromLayout(inputShape, other)[3] === channels;
      throw new ArgumentError(
        'inputShape',
        `${form} with C = ${channels} for ${model.name} (layout '${o.layout}')`,
        inputShape,
        looksOther
          ? `It looks like ${other.toUpperCase()}: pass { layout: '${other}' } (CLI: --layout ${other})`
          : undefined,
      );
    }
    try {
      model.checkInputShape(nhwc);
    } catch (e) {
      if (!(e instanceof ResNetError)) throw e;
      throw new ResNetError(`inputShape: ${e.message}`);
    }
  }
  return nhwc;
}

interface ParamCounts {
  total: number;
  trainable: number;
  own: number;
  /** The parameters the module owns itself, by local name ("weight", "bias"). */
  ownParameters: { name: string; numel: number }[];
}

function paramCounts(module: Module): ParamCounts {
  let total = 0;
  let trainable = 0;
  for (const [, slot] of module.namedParameterSlots()) {
    const n = product(slot.shape);
    total += n;
    if (slot.trainable) trainable += n;
  }
  const ownParameters = module
    .ownSlots()
    .filter(([, slot]) => slot.kind === 'parameter')
    .map(([name, slot]) => ({ name, numel: product(slot.shape) }));
  const own = ownParameters.reduce((t, p) => t + p.numel, 0);
  return { total, trainable, own, ownParameters };
}

// #region notebook:torchinfo-mult-adds
/**
 * torchinfo's mult-adds of one call of a layer, from its parameters and its output shape (NHWC):
 * each `weight` or `bias` counts its number of elements times
 * - for a class whose name contains "Conv": the batch and the output's spatial positions
 *   (N × H_out × W_out; the output channels are already in the weight);
 * - for a "Linear" class: every output dimension but the features (N for [N, features]);
 * - for any other class (BatchNorm2d): the batch only, with no spatial factor.
 * Layers without parameters (ReLU, pooling, a zero-padding shortcut, softmax) count nothing.
 */
export function layerMultAdds(
  typeName: string,
  parameters: readonly { name: string; numel: number }[],
  outputShape: readonly number[],
): number {
  const batch = outputShape[0] as number;
  // NHWC: [N, H, W, C] for a feature map, [N, features] after the head's flatten.
  const positions = outputShape.slice(1, -1).reduce((p, d) => p * d, 1);
  let multAdds = 0;
  for (const { name, numel } of parameters) {
    if (name !== 'weight' && name !== 'bias') continue;
    if (typeName.includes('Conv')) multAdds += numel * batch * positions;
    else if (typeName.includes('Linear')) multAdds += numel * batch * positions;
    else multAdds += numel * batch;
  }
  return multAdds;
}
// #endregion

function buildRows(model: Module, calls: TracedCall[], o: ResolvedOptions): SummaryRow[] {
  const paths = new Map<Module, string>();
  for (const [path, m] of model.namedModules()) if (!paths.has(m)) paths.set(m, path);
  const counts = new Map<Module, ParamCounts>();
  const countsOf = (m: Module): ParamCounts => {
    let c = counts.get(m);
    if (!c) {
      c = paramCounts(m);
      counts.set(m, c);
    }
    return c;
  };
  const depthIndex = new Map<number, number>();
  const listed = new Set<Module>();
  const rows: SummaryRow[] = calls.map((call) => {
    const path = paths.get(call.module) ?? '';
    const depth = path === '' ? 0 : path.split('.').length;
    const index = (depthIndex.get(depth) ?? 0) + 1;
    depthIndex.set(depth, index);
    const c = countsOf(call.module);
    const isLeaf = call.module.namedChildren().length === 0;
    const isRecursive = listed.has(call.module) && c.total > 0;
    listed.add(call.module);
    const m = call.module;
    return {
      label: depth === 0 ? m.typeName : `${m.typeName}: ${depth}-${index}`,
      type: m.typeName,
      depth,
      depthIndex: depth === 0 ? 0 : index,
      path,
      inputShape: toLayout(call.inputShape, o.layout),
      outputShape: toLayout(call.outputShape, o.layout),
      params: c.total,
      trainableParams: c.trainable,
      ownParams: c.own,
      trainable: c.total === 0 ? null : c.trainable === 0 ? false : c.trainable === c.total ? true : 'partial',
      multAdds: isLeaf ? layerMultAdds(m.typeName, c.ownParameters, call.outputShape) : 0,
      kernelSize: m instanceof Conv2d || m instanceof MaxPool2d ? [...m.kernelSize] : null,
      groups: m instanceof Conv2d ? m.groups : null,
      receptiveField: [...call.geometry.receptiveField],
      cumulativeStride: [...call.geometry.cumulativeStride],
      isLeaf,
      isRecursive,
    };
  });
  // A container's mult-adds: its leaf descendants' calls.
  calls.forEach((call, i) => {
    const row = rows[i] as SummaryRow;
    if (row.isLeaf) return;
    let sum = 0;
    for (let j = i + 1; j < call.end; j++) if ((rows[j] as SummaryRow).isLeaf) sum += (rows[j] as SummaryRow).multAdds;
    row.multAdds = sum;
  });
  return rows;
}

function computeTotals(model: Module, rows: SummaryRow[], calls: TracedCall[], o: ResolvedOptions): SummaryTotals {
  const totalParams = model.countParameters();
  const trainableParams = model.countParameters({ trainable: true });
  let totalMultAdds = 0;
  let outputElements = 0;
  rows.forEach((row, i) => {
    if (!row.isLeaf) return;
    totalMultAdds += row.multAdds;
    if (row.params > 0) outputElements += product((calls[i] as TracedCall).outputShape);
  });
  const inputBytes = product((calls[0] as TracedCall).inputShape) * o.elementBytes;
  const forwardBackwardBytes = 2 * outputElements * o.elementBytes;
  const paramsBytes = totalParams * o.elementBytes;
  const estimatedTotalBytes = inputBytes + forwardBackwardBytes + paramsBytes;
  if (!Number.isSafeInteger(estimatedTotalBytes) || !Number.isSafeInteger(totalMultAdds)) {
    throw new ArgumentError(
      'inputShape',
      'a shape whose totals stay below 2^53 (exact integers in JavaScript)',
      toLayout((calls[0] as TracedCall).inputShape, o.layout),
      'Use a smaller batch or image',
    );
  }
  return {
    totalParams,
    trainableParams,
    nonTrainableParams: totalParams - trainableParams,
    totalMultAdds,
    inputBytes,
    forwardBackwardBytes,
    paramsBytes,
    estimatedTotalBytes,
  };
}

/**
 * Stages: each `layerN` child of the root is a stage; the depth-1 rows before the first form the
 * `stem`, those after the last the `head`. A model without `layerN` children has one stage per
 * depth-1 row.
 */
function buildStages(rows: SummaryRow[], calls: TracedCall[], o: ResolvedOptions): StageSummary[] {
  const top = rows.map((r, i) => ({ r, i })).filter(({ r }) => r.depth === 1);
  const isStage = (path: string) => /^layer\d+$/.test(path);
  const hasStages = top.some(({ r }) => isStage(r.path));
  const groups: { name: string; members: { r: SummaryRow; i: number }[] }[] = [];
  let seenStage = false;
  for (const entry of top) {
    let name: string;
    if (!hasStages) name = entry.r.path;
    else if (isStage(entry.r.path)) {
      name = entry.r.path;
      seenStage = true;
    } else name = seenStage ? 'head' : 'stem';
    const last = groups[groups.length - 1];
    if (last && last.name === name) last.members.push(entry);
    else groups.push({ name, members: [entry] });
  }
  const counted = new Set<Module>();
  return groups.map(({ name, members }) => {
    let params = 0;
    let multAdds = 0;
    let outputElements = 0;
    for (const { r, i } of members) {
      const m = (calls[i] as TracedCall).module;
      if (!counted.has(m)) params += r.params;
      counted.add(m);
      multAdds += r.multAdds;
      const end = (calls[i] as TracedCall).end;
      for (let j = r.isLeaf ? i : i + 1; j < (r.isLeaf ? i + 1 : end); j++) {
        const leaf = rows[j] as SummaryRow;
        if (leaf.isLeaf && leaf.params > 0) outputElements += product((calls[j] as TracedCall).outputShape);
      }
    }
    const last = members[members.length - 1] as { r: SummaryRow; i: number };
    return {
      name,
      modules: members.map(({ r }) => r.path),
      params,
      multAdds,
      forwardBackwardBytes: 2 * outputElements * o.elementBytes,
      outputShape: [...last.r.outputShape],
      receptiveField: [...last.r.receptiveField],
      cumulativeStride: [...last.r.cumulativeStride],
    };
  });
}
