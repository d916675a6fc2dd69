import {
  Conv2d,
  type Flow,
  GlobalPool2d,
  Linear,
  MaxPool2d,
  type Module,
  SymbolicTensor,
  withModuleHooks,
  ZeroPadShortcut,
} from '@resnet/core';

/** One module call seen by the hooks, in pre-hook (execution) order. */
export interface TracedCall {
  module: Module;
  /** NHWC shapes. */
  inputShape: number[];
  outputShape: number[];
  /** Index one past the last call made inside this one (calls [index + 1, end) are its descendants). */
  end: number;
  geometry: Geometry;
}

interface Frame {
  call: TracedCall;
  input: Geometry;
  /** Geometry of every flow produced inside this call (and of its input). */
  seen: Geometry[];
}

/**
 * Runs `model` on a symbolic tensor of `inputShape` (NHWC) with hooks and records every module
 * call with its shapes and the geometry of its output. No kernel runs and no tensor is allocated.
 *
 * Geometry follows the flows: convolutions and poolings grow the receptive field by
 * (kernel − 1) × stride-so-far, a global pooling sees the whole feature map. A flow created
 * outside a module (a residual sum, a flatten) takes the widest geometry produced so far inside
 * the call that created it, which is the main branch of a residual block.
 */
export function traceCalls(model: Module, inputShape: readonly number[]): TracedCall[] {
  const calls: TracedCall[] = [];
  const geometry = new WeakMap<object, Geometry>();
  const stack: Frame[] = [];
  const input = new SymbolicTensor(inputShape);
  geometry.set(input, { receptiveField: [1, 1], cumulativeStride: [1, 1], weightedLayers: 0 });

  const geometryOf = (flow: Flow): Geometry => {
    const known = geometry.get(flow);
    if (known) return known;
    const top = stack[stack.length - 1];
    return top ? widest(top.seen) : { receptiveField: [1, 1], cumulativeStride: [1, 1], weightedLayers: 0 };
  };

  withModuleHooks(
    {
      before(module, x) {
        const inGeometry = geometryOf(x);
        const call: TracedCall = {
          module,
          inputShape: [...x.shape],
          outputShape: [],
          end: 0,
          geometry: inGeometry,
        };
        calls.push(call);
        stack.push({ call, input: inGeometry, seen: [inGeometry] });
      },
      after(module, x, y) {
        const frame = stack.pop() as Frame;
        const call = frame.call;
        call.outputShape = [...y.shape];
        call.end = calls.length;
        const isLeaf = module.namedChildren().length === 0;
        const out = isLeaf ? leafGeometry(module, frame.input, x.shape) : (geometry.get(y) ?? widest(frame.seen));
        geometry.set(y, out);
        call.geometry = out;
        stack[stack.length - 1]?.seen.push(out);
      },
    },
    () => model.call(input),
  );
  return calls;
}

function widest(list: Geometry[]): Geometry {
  let best = list[0] as Geometry;
  let layers = 0;
  for (const g of list) {
    if (g.receptiveField[0] * g.receptiveField[1] > best.receptiveField[0] * best.receptiveField[1]) best = g;
    layers = Math.max(layers, g.weightedLayers);
  }
  return { ...best, weightedLayers: layers };
}

// #region notebook:receptive-field
/** What a position of a tensor sees: receptive field and stride in input pixels, weighted layers behind it. */
export interface Geometry {
  receptiveField: [number, number];
  cumulativeStride: [number, number];
  /** Convolutions and linear layers on the longest path from the input. */
  weightedLayers: number;
}

/**
 * A sliding window (kernel, stride, dilation) seen from the input: the field grows by
 * (span − 1) × the stride so far, and the stride so far multiplies by the window's stride.
 */
function slide(
  g: Geometry,
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[] = [1, 1],
): [[number, number], [number, number]] {
  const rf: [number, number] = [0, 0];
  const jump: [number, number] = [0, 0];
  for (const i of [0, 1] as const) {
    const span = (dilation[i] as number) * ((kernel[i] as number) - 1) + 1;
    rf[i] = g.receptiveField[i] + (span - 1) * g.cumulativeStride[i];
    jump[i] = g.cumulativeStride[i] * (stride[i] as number);
  }
  return [rf, jump];
}

/**
 * The geometry after one layer: convolutions and max pooling slide a window, the option-A
 * shortcut subsamples, a global pooling is a window over the whole map; other layers (BatchNorm,
 * ReLU, the linear head) keep what they receive.
 */
function leafGeometry(module: Module, g: Geometry, inputShape: readonly number[]): Geometry {
  if (module instanceof Conv2d) {
    const [receptiveField, cumulativeStride] = slide(g, module.kernelSize, module.stride, module.dilation);
    return { receptiveField, cumulativeStride, weightedLayers: g.weightedLayers + 1 };
  }
  if (module instanceof MaxPool2d) {
    const [receptiveField, cumulativeStride] = slide(g, module.kernelSize, module.stride);
    return { receptiveField, cumulativeStride, weightedLayers: g.weightedLayers };
  }
  if (module instanceof ZeroPadShortcut) {
    const [receptiveField, cumulativeStride] = slide(g, [1, 1], [module.stride, module.stride]);
    return { receptiveField, cumulativeStride, weightedLayers: g.weightedLayers };
  }
  if (module instanceof GlobalPool2d) {
    const window = [inputShape[1] as number, inputShape[2] as number];
    const [receptiveField, cumulativeStride] = slide(g, window, window);
    return { receptiveField, cumulativeStride, weightedLayers: g.weightedLayers };
  }
  if (module instanceof Linear) return { ...g, weightedLayers: g.weightedLayers + 1 };
  return g;
}
// #endregion
