import { BasicBlock } from '../blocks/basic-block.js';
import { BottleneckBlock } from '../blocks/bottleneck-block.js';
import { ConvolutionalBlock, IdentityBlock } from '../blocks/keras-blocks.js';
import { ResNet } from '../builders/resnet.js';
import { ArgumentError } from '../errors.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm2d.js';
import { Conv2d } from '../layers/conv2d.js';
import { Layer } from '../layers/layer.js';
import { ZeroPad2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import type { Module } from '../module.js';

/** A leaf layer of the model with its dotted module path (`layer1.0.conv1`). */
export interface PathLayer<L extends Layer = Layer> {
  readonly path: string;
  readonly layer: L;
}

/**
 * One step of a model's eval-mode forward pass, as its module tree defines it.
 * - `layer`: a leaf layer (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Linear, ZeroPadShortcut...).
 * - `flatten`: `torch.flatten(x, 1)` between the global pool and the head.
 * - `sequence`: a container's steps in order (a stage `layer2`, a `downsample`, a plain block).
 * - `residual`: a residual block, `relu(branch(x) + shortcut(x))`; `shortcut` null is the identity.
 * - `conv`: only after `fuseConvolutions`: a convolution with the zero padding before it and the
 *   BatchNorm and ReLU after it, to run as one convolution with a folded bias (+ ReLU).
 * - `module`: a weightless module the walk does not know, run by its own `forward`.
 */
export type ForwardStep =
  | { readonly kind: 'layer'; readonly path: string; readonly layer: Layer }
  | { readonly kind: 'flatten'; readonly path: string }
  | { readonly kind: 'sequence'; readonly path: string; readonly steps: readonly ForwardStep[] }
  | {
      readonly kind: 'residual';
      readonly path: string;
      readonly branch: readonly ForwardStep[];
      readonly shortcut: readonly ForwardStep[] | null;
      readonly relu: PathLayer<ReLU>;
    }
  | {
      readonly kind: 'conv';
      readonly path: string;
      readonly conv: Conv2d;
      readonly pad: PathLayer<ZeroPad2d> | null;
      readonly bn: PathLayer<BatchNorm2d> | null;
      readonly relu: PathLayer<ReLU> | null;
    }
  | { readonly kind: 'module'; readonly path: string; readonly module: Module };

const join = (prefix: string, name: string): string => (prefix ? `${prefix}.${name}` : name);

function layers(prefix: string, block: Module, names: readonly string[]): ForwardStep[] {
  return names.map((name) => {
    const child = block.namedChildren().find(([n]) => n === name)?.[1];
    if (!(child instanceof Layer)) {
      throw new ArgumentError('model', `a ${block.typeName} with a layer named ${name}`, child);
    }
    return { kind: 'layer', path: join(prefix, name), layer: child };
  });
}

/**
 * The eval-mode forward pass of `module` (a ResNet, a block, a Sequential, a layer) as data: the
 * layer calls, residual sums and flattening that its `forward` makes, each named by the dotted
 * path of its module (`layer2.0.downsample.0`). It reads the module tree and the blocks' fields,
 * never a trace of tfjs ops, so every step keeps its torch name. `optimizeForInference` compiles
 * these steps to tfjs kernels; @resnet/onnx writes them as ONNX nodes.
 */
export function forwardSteps(module: Module, prefix = ''): ForwardStep[] {
  if (module instanceof ResNet) return resnetSteps(module, prefix);
  if (module instanceof BasicBlock || module instanceof BottleneckBlock) {
    const names =
      module instanceof BasicBlock
        ? ['conv1', 'bn1', 'relu', 'conv2', 'bn2']
        : ['conv1', 'bn1', 'relu', 'conv2', 'bn2', 'relu', 'conv3', 'bn3'];
    const branch = layers(prefix, module, names);
    const relu = { path: join(prefix, 'relu'), layer: module.relu };
    if (!module.residual) return [{ kind: 'sequence', path: prefix, steps: [...branch, { kind: 'layer', ...relu }] }];
    const shortcut = module.downsample ? forwardSteps(module.downsample, join(prefix, 'downsample')) : null;
    return [{ kind: 'residual', path: prefix, branch, shortcut, relu }];
  }
  if (module instanceof IdentityBlock || module instanceof ConvolutionalBlock) {
    const branch = layers(prefix, module, ['conv1', 'bn1', 'relu', 'conv2', 'bn2', 'relu', 'conv3', 'bn3']);
    const shortcut =
      module instanceof ConvolutionalBlock ? layers(prefix, module, ['shortcut_conv', 'shortcut_bn']) : null;
    return [
      { kind: 'residual', path: prefix, branch, shortcut, relu: { path: join(prefix, 'relu'), layer: module.relu } },
    ];
  }
  if (module instanceof Sequential) {
    const steps = module.namedChildren().flatMap(([name, child]) => forwardSteps(child, join(prefix, name)));
    return [{ kind: 'sequence', path: prefix, steps }];
  }
  if (module instanceof Layer) return [{ kind: 'layer', path: prefix, layer: module }];
  if (module.namedSlots().length > 0) {
    throw new ArgumentError(
      'model',
      'a model made of @resnet/core layers and blocks',
      `a ${module.typeName} with its own weights, whose forward pass cannot be read as steps`,
      'Build it from Conv2d, BatchNorm2d, ReLU, Linear, the pooling layers and the residual blocks',
    );
  }
  return [{ kind: 'module', path: prefix, module }];
}

/** Stem, stages, then global pool → flatten → fc → softmax, as `ResNet.forward` runs them. */
function resnetSteps(model: ResNet, prefix: string): ForwardStep[] {
  const stem: ForwardStep[] = [];
  const stages: ForwardStep[] = [];
  const head: ForwardStep[] = [];
  for (const [name, child] of model.namedChildren()) {
    const path = join(prefix, name);
    if (/^layer\d+$/.test(name)) stages.push(...forwardSteps(child, path));
    else if (name === 'avgpool' || name === 'global_maxpool') {
      head.unshift(...forwardSteps(child, path), { kind: 'flatten', path: join(prefix, 'flatten') });
    } else if (name === 'fc' || name === 'softmax') head.push(...forwardSteps(child, path));
    else if (stages.length === 0) stem.push(...forwardSteps(child, path));
  }
  return [...stem, ...stages, ...head];
}

/**
 * Replaces every run ZeroPad2d? → Conv2d → BatchNorm2d? → ReLU? within one list of steps (never
 * across a container's boundary) by a `conv` step: what runs as one convolution once the BatchNorm
 * is folded into its weights and bias (`foldConvBatchNorm`) and the padding into its own.
 */
export function fuseConvolutions(steps: readonly ForwardStep[]): ForwardStep[] {
  const out: ForwardStep[] = [];
  let i = 0;
  const layerAt = (j: number): Layer | null => {
    const s = steps[j];
    return s?.kind === 'layer' ? s.layer : null;
  };
  const pathAt = (j: number): string => (steps[j] as { path: string }).path;
  while (i < steps.length) {
    const step = steps[i] as ForwardStep;
    let pad: PathLayer<ZeroPad2d> | null = null;
    let start = i;
    if (layerAt(i) instanceof ZeroPad2d && layerAt(i + 1) instanceof Conv2d) {
      pad = { path: pathAt(i), layer: layerAt(i) as ZeroPad2d };
      start = i + 1;
    }
    const conv = layerAt(start);
    if (conv instanceof Conv2d) {
      let j = start + 1;
      const bnLayer = layerAt(j);
      const bn = bnLayer instanceof BatchNorm2d ? { path: pathAt(j++), layer: bnLayer } : null;
      const reluLayer = layerAt(j);
      const relu = reluLayer instanceof ReLU ? { path: pathAt(j++), layer: reluLayer } : null;
      out.push({ kind: 'conv', path: pathAt(start), conv, pad, bn, relu });
      i = j;
      continue;
    }
    if (step.kind === 'sequence') out.push({ ...step, steps: fuseConvolutions(step.steps) });
    else if (step.kind === 'residual') {
      out.push({
        ...step,
        branch: fuseConvolutions(step.branch),
        shortcut: step.shortcut ? fuseConvolutions(step.shortcut) : null,
      });
    } else out.push(step);
    i++;
  }
  return out;
}
