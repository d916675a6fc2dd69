import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { buildMeta, type HostTensor, loadStateDict, type Module, ResNet, type ResNetConfig } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, fixtureManifest, nchwToNhwc, REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import {
  exportOnnx,
  MAX_ONNX_BYTES,
  ONNX_SCHEMA_SOURCE,
  type OnnxExportOptions,
  onnxSignature,
  PRODUCER_VERSION,
  tritonConfig,
} from '../src/index.js';
import { writeOnnx } from '../src/node.js';
import { randomNormStatistics } from '../../../tools/test-support/norms.js';
import { checkOnnx, type OnnxReport, runOnnxruntime } from './support.js';

// Every code path of the exporter on small configs with random weights and random BatchNorm
// statistics: Debian's python3-onnx checks each file (onnx.checker with full_check, then ONNX's own
// shape inference, which must find the shapes we declare), and onnxruntime-node runs it against the
// model's own eval-mode forward pass, within 1e-4 of the output's largest magnitude. Parity with
// torchvision and torch on the real presets is tested in onnxruntime.test.ts.
const TOLERANCE = 1e-4;

let dir: string;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'resnet-onnx-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function randomiseNorms(model: Module, seed: number): void {
  loadStateDict(model, randomNormStatistics(model, seed) as Map<string, HostTensor>, { strict: false });
}

const small = (over: Partial<ResNetConfig>): ResNetConfig => ({
  name: 'small',
  block: 'basic',
  depths: [1, 1],
  widths: [8, 16],
  numClasses: 10,
  seed: 1,
  ...over,
});

/** name, config, export options, the NCHW input shape to run. */
const CASES: [string, ResNetConfig, OnnxExportOptions, [number, number, number, number]][] = [
  ['basic blocks, projection shortcuts', small({}), {}, [2, 3, 35, 41]],
  ['basic blocks, optimized, NHWC', small({}), { optimize: true, layout: 'nhwc' }, [3, 3, 35, 41]],
  [
    'grouped bottlenecks (ResNeXt), NHWC, static batch and size',
    small({ block: 'bottleneck', widths: [16, 32], groups: 4, widthPerGroup: 8 }),
    { layout: 'nhwc', staticBatch: 2, imageSize: [40, 48] },
    [2, 3, 40, 48],
  ],
  [
    'grouped bottlenecks (ResNeXt), optimized',
    small({ block: 'bottleneck', widths: [16, 32], groups: 4, widthPerGroup: 8 }),
    { optimize: true },
    [1, 3, 33, 37],
  ],
  ['option A (zero-padding shortcuts), CIFAR stem', small({ stem: 'cifar', shortcut: 'zero-pad' }), {}, [2, 3, 33, 35]],
  [
    'option A, optimized, NHWC, static size',
    small({ stem: 'cifar', shortcut: 'zero-pad', depths: [1, 1, 1], widths: [8, 16, 32] }),
    { optimize: true, layout: 'nhwc', imageSize: 32 },
    [3, 3, 32, 32],
  ],
  ['plain network (no shortcut), optimized', small({ shortcut: 'none' }), { optimize: true }, [2, 3, 35, 41]],
  [
    'convolution biases, global max pool, softmax head',
    small({ convBias: true, pool: 'max', output: 'softmax' }),
    {},
    [2, 3, 35, 41],
  ],
  [
    'convolution biases, global max pool, softmax head, optimized, static batch',
    small({ convBias: true, pool: 'max', output: 'softmax' }),
    { optimize: true, staticBatch: 1 },
    [1, 3, 35, 41],
  ],
  ['no head: pooled features', small({ numClasses: 0 }), { layout: 'nhwc' }, [2, 3, 35, 41]],
  [
    'featuresOnly, two feature maps, NHWC',
    small({ featuresOnly: true, depths: [1, 1, 1], widths: [8, 16, 32], outIndices: [1, 3] }),
    { layout: 'nhwc' },
    [2, 3, 35, 41],
  ],
  [
    'featuresOnly, one feature map before the last stage, optimized, static size',
    small({ featuresOnly: true, depths: [1, 1, 1], widths: [8, 16, 32], outIndices: [2] }),
    { optimize: true, imageSize: [36, 44] },
    [2, 3, 36, 44],
  ],
  [
    'Keras blocks and stem (ZeroPad2d, biases, stride on the 1×1)',
    small({ block: 'keras', stem: 'keras', strideOn: '1x1', convBias: true, output: 'softmax' }),
    {},
    [2, 3, 35, 41],
  ],
  [
    'Keras blocks and stem, optimized (padding merged into the stem convolution)',
    small({ block: 'keras', stem: 'keras', strideOn: '1x1', convBias: true, output: 'softmax' }),
    { optimize: true, layout: 'nhwc' },
    [2, 3, 35, 41],
  ],
  [
    'conv-bn stem, biases, no head (ResnetBase)',
    small({ stem: 'conv-bn', convBias: true, numClasses: 0, expansion: 1 }),
    { optimize: true },
    [2, 3, 35, 41],
  ],
  ['one input channel, 10 classes (a training checkpoint)', small({ inputChannels: 1 }), {}, [2, 1, 32, 32]],
];

describe('exportOnnx: every code path checked by python3-onnx and run by onnxruntime-node', () => {
  const files: { name: string; path: string; config: ResNetConfig; options: OnnxExportOptions }[] = [];
  let reports: Record<string, OnnxReport>;

  beforeAll(() => {
    CASES.forEach(([name, config, options], i) => {
      const model = new ResNet(config);
      randomiseNorms(model, 10 + i);
      const path = join(dir, `case${i}.onnx`);
      writeFileSync(path, exportOnnx(model, options));
      files.push({ name, path, config, options });
      model.dispose();
    });
    reports = checkOnnx(files.map((f) => f.path));
  });

  it.each(CASES.map(([name], i) => [name, i] as const))('%s', async (_, i) => {
    const { path, config, options } = files[i] as (typeof files)[number];
    const report = reports[path] as OnnxReport;
    const model = new ResNet(config);
    randomiseNorms(model, 10 + i);
    const signature = onnxSignature(model, options);
    // The checker accepted it; the opset and IR are as documented.
    expect(report.ir_version).toBe(7);
    expect(report.opset).toEqual([['', 13]]);
    expect(report.inputs).toEqual({ input: signature.input.dims });
    expect(report.outputs).toEqual(Object.fromEntries(signature.outputs.map((o) => [o.name, o.dims])));
    // ONNX's shape inference, from the input alone, finds every shape we declared.
    expect(Object.keys(report.declared).length).toBeGreaterThan(5);
    for (const [name, dims] of Object.entries(report.declared)) {
      expect(report.inferred[name], `shape of ${name}`).toEqual(dims);
    }
    // onnxruntime computes what the model computes.
    const [n, c, h, w] = (CASES[i] as (typeof CASES)[number])[3];
    const nchw = { dtype: 'float32' as const, shape: [n, c, h, w], data: new Float32Array(n * c * h * w) };
    nchw.data.forEach((_, k) => {
      nchw.data[k] = Math.sin(k * 0.37 + i);
    });
    const nhwc = nchwToNhwc(nchw);
    const input = options.layout === 'nhwc' ? nhwc : nchw;
    const [outputs] = (await runOnnxruntime(path, { data: input.data as Float32Array, shape: input.shape })) as [
      Record<string, HostTensor>,
    ];
    const x = tf.tensor(nhwc.data, nhwc.shape);
    const expected = (config.featuresOnly ? model.extractFeatures(x) : [model.predict(x)]) as tf.Tensor[];
    signature.outputs.forEach((spec, k) => {
      const actual = outputs[spec.name];
      expect(actual, spec.name).toBeDefined();
      const ours = expected[k] as tf.Tensor;
      const oursAsExported = spec.layout === 'NCHW' ? tf.transpose(ours, [0, 3, 1, 2]) : ours;
      expect(actual?.shape).toEqual(oursAsExported.shape);
      const { relative } = compare(actual?.data as Float32Array, oursAsExported.dataSync());
      expect(relative, `${spec.name}: onnxruntime vs our forward`).toBeLessThan(TOLERANCE);
      if (oursAsExported !== ours) oursAsExported.dispose();
    });
    tf.dispose([x, ...expected]);
    model.dispose();
  });
});

describe('exportOnnx names, metadata and refusals', () => {
  let model: ResNet;
  let plain: OnnxReport;
  let folded: OnnxReport;
  beforeAll(() => {
    model = createModel('resnet18', { seed: 0 });
    const before = tf.memory().numTensors;
    writeFileSync(join(dir, 'r18.onnx'), exportOnnx(model, { weights: 'seed 0' }));
    writeFileSync(join(dir, 'r18-opt.onnx'), exportOnnx(model, { optimize: true }));
    expect(tf.memory().numTensors, 'no tensor leaked by the export').toBe(before);
    const reports = checkOnnx([join(dir, 'r18.onnx'), join(dir, 'r18-opt.onnx')]);
    plain = reports[join(dir, 'r18.onnx')] as OnnxReport;
    folded = reports[join(dir, 'r18-opt.onnx')] as OnnxReport;
  });
  afterAll(() => model.dispose());

  it("names initializers with torchvision's state_dict keys, in state_dict order", () => {
    const keys = fixtureManifest() as unknown as { models: Record<string, { state_dict_keys: string[] }> };
    const torchvision = keys.models.resnet18?.state_dict_keys ?? [];
    expect(torchvision.length).toBeGreaterThan(100);
    expect(plain.initializers).toEqual(torchvision.filter((k) => !k.endsWith('num_batches_tracked')));
  });

  it('names each node after the module that runs it, reused modules with _1, _2', () => {
    const names = new Map(plain.nodes);
    for (const [path] of model
      .namedModules()
      .filter(([p, m]) => p && m.namedSlots().length > 0 && !m.namedChildren().length)) {
      expect(names.has(path), path).toBe(true);
    }
    expect(names.get('conv1')).toBe('Conv');
    expect(names.get('bn1')).toBe('BatchNormalization');
    expect(names.get('layer2.0.downsample.0')).toBe('Conv');
    expect(names.get('layer2.0.downsample.1')).toBe('BatchNormalization');
    expect(names.get('layer1.0.relu')).toBe('Relu');
    expect(names.get('layer1.0.add')).toBe('Add');
    expect(names.get('layer1.0.relu_1')).toBe('Relu');
    expect(names.get('maxpool')).toBe('MaxPool');
    expect(names.get('avgpool')).toBe('GlobalAveragePool');
    expect(names.get('flatten')).toBe('Flatten');
    expect(names.get('fc')).toBe('Gemm');
    expect(plain.nodes).toHaveLength(20 + 20 + 17 + 8 + 4);
  });

  it('optimize: every BatchNorm folded into its convolution (Conv with bias), as optimizeForInference runs it', () => {
    const ops = folded.nodes.map(([, op]) => op);
    expect(ops.filter((op) => op === 'BatchNormalization')).toHaveLength(0);
    expect(ops.filter((op) => op === 'Conv')).toHaveLength(20);
    const convs = folded.nodes.filter(([, op]) => op === 'Conv').map(([name]) => name);
    expect(folded.initializers).toEqual([
      ...convs.flatMap((c) => [`${c}.weight`, `${c}.bias`]),
      'fc.weight',
      'fc.bias',
    ]);
    expect(folded.metadata.optimized).toBe('true');
  });

  it('records the preset, the weights and the producer in metadata_props', () => {
    expect(plain.producer).toEqual(['@resnet/onnx', PRODUCER_VERSION]);
    expect(plain.metadata).toMatchObject({
      preset: 'resnet18',
      weights: 'seed 0',
      producer_version: `@resnet/onnx ${PRODUCER_VERSION}`,
      layout: 'NCHW',
      optimized: 'false',
      output: 'logits',
      num_classes: '1000',
    });
    expect(folded.metadata.weights).toBe('not recorded');
    expect(ONNX_SCHEMA_SOURCE.onnx).toBe('1.12.0');
  });

  it('refuses a model whose file would exceed 2 GiB, before reading any weight', () => {
    // 512 × 1,100,000 classes × 4 bytes = 2.1 GiB of head: a meta model, so nothing is allocated.
    const huge = createModel('resnet18', { numClasses: 1_100_000, meta: true });
    expect(() => exportOnnx(huge)).toThrow(/2\.\d\d GiB ONNX file.*cannot exceed 2 GiB \(2,147,483,647 bytes\)/);
    expect(MAX_ONNX_BYTES).toBe(2 ** 31 - 1);
    const path = join(dir, 'huge.onnx');
    const before = readdirSync(dir);
    expect(() => writeOnnx(path, huge)).toThrow(/cannot exceed 2 GiB/);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual(before);
  });

  it('validates every argument: the message names it, what was expected, what was received and the fix', () => {
    expect(() => exportOnnx({} as never)).toThrow(/^model: expected a ResNet of @resnet\/core .*; got an object/);
    expect(() => exportOnnx(buildMeta(() => new ResNet(small({}))))).toThrow(
      /model: expected a model with weights; got "a meta model.*load its weights first/,
    );
    expect(() => exportOnnx(model, { layout: 'NCHW' as never })).toThrow(
      /options.layout: expected one of 'nchw', 'nhwc'; got "NCHW"/,
    );
    expect(() => exportOnnx(model, { staticBatch: 0 })).toThrow(
      /options.staticBatch: expected a positive integer; got 0/,
    );
    expect(() => exportOnnx(model, { imageSize: [224] as never })).toThrow(
      /options.imageSize: expected a size in pixels or \[height, width\]/,
    );
    expect(() => exportOnnx(model, { imageSize: [224, 0] })).toThrow(
      /options.imageSize\[1\]: expected a positive integer; got 0/,
    );
    expect(() => exportOnnx(model, { optimise: true } as never)).toThrow(
      /options.optimise: expected one of the known options \(layout, staticBatch, imageSize, optimize, weights\)/,
    );
    expect(() => exportOnnx(model, { optimize: 'yes' as never })).toThrow(/options.optimize: expected true or false/);
    expect(() => writeOnnx('', model)).toThrow(/path: expected a file path/);
    const gone = new ResNet(small({}));
    gone.dispose();
    expect(() => exportOnnx(gone)).toThrow(/model: expected a live model; got "a disposed model"/);
  });

  it('writeOnnx writes the file atomically and returns its size and signature', () => {
    const path = join(dir, 'written.onnx');
    const { bytes, signature } = writeOnnx(path, model, { layout: 'nhwc', staticBatch: 4 });
    expect(readFileSync(path).length).toBe(bytes);
    expect(signature.input).toMatchObject({ name: 'input', dims: [4, 'height', 'width', 3], layout: 'NHWC' });
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('tritonConfig', () => {
  it('declares the names, types and dims of the exported file (dynamic batch: max_batch_size, dims without it)', () => {
    const model = createModel('resnet20', { seed: 0 });
    const path = join(dir, 'r20.onnx');
    writeFileSync(path, exportOnnx(model, { layout: 'nhwc' }));
    const report = checkOnnx([path])[path] as OnnxReport;
    const config = tritonConfig(model, { layout: 'nhwc', name: 'cifar_resnet20', maxBatchSize: 64 });
    const declared = parseTritonTensors(config);
    const fromFile = [
      ...Object.entries(report.inputs).map(([name, d]) => ({ name, dims: d.slice(1).map(tritonDim) })),
      ...Object.entries(report.outputs).map(([name, d]) => ({ name, dims: d.slice(1).map(tritonDim) })),
    ];
    expect(declared).toEqual(fromFile);
    expect(declared).toEqual([
      { name: 'input', dims: [-1, -1, 3] },
      { name: 'logits', dims: [10] },
    ]);
    expect(config).toMatch(/^name: "cifar_resnet20"$/m);
    expect(config).toMatch(/^platform: "onnxruntime_onnx"$/m);
    expect(config).toMatch(/^max_batch_size: 64$/m);
    expect(config).toMatch(/^dynamic_batching \{ \}$/m);
    expect((config.match(/data_type: TYPE_FP32/g) ?? []).length).toBe(2);
    model.dispose();
  });

  it('static batch: max_batch_size 0 and full dims; several feature maps; bad options refused', () => {
    const model = createModel('resnet50', { featuresOnly: true, outIndices: [2, 4], meta: true });
    const config = tritonConfig(model, { staticBatch: 2, imageSize: 224 });
    expect(config).toMatch(/^max_batch_size: 0$/m);
    expect(config).not.toMatch(/dynamic_batching/);
    expect(parseTritonTensors(config)).toEqual([
      { name: 'input', dims: [2, 3, 224, 224] },
      { name: 'features_layer2', dims: [2, 512, 28, 28] },
      { name: 'features_layer4', dims: [2, 2048, 7, 7] },
    ]);
    expect(() => tritonConfig(model, { name: '../x' })).toThrow(/options.name: expected a model name/);
    expect(() => tritonConfig(model, { staticBatch: 2, maxBatchSize: 8 })).toThrow(
      /options.maxBatchSize: expected no maxBatchSize with a static batch/,
    );
    expect(() => tritonConfig(model, { maxBatchSize: 0 })).toThrow(/options.maxBatchSize: expected a positive integer/);
  });
});

describe('the Serving at scale guide', () => {
  it('shows the config.pbtxt that resnet export writes for its example', () => {
    const guide = readFileSync(join(REPO_ROOT, 'docs', 'guide', 'serving.md'), 'utf8');
    expect(guide).toMatch(
      /--optimize \\\n\s+--output models\/resnet50\/1\/model\.onnx --triton-config models\/resnet50\/config\.pbtxt --max-batch 16/,
    );
    const shown = /```text\n(# resnet50 exported[^`]*)```/.exec(guide)?.[1];
    const model = createModel('resnet50', { meta: true });
    expect(shown).toBe(tritonConfig(model, { optimize: true, name: 'resnet50', maxBatchSize: 16 }));
  });
});

function tritonDim(d: number | string | null): number {
  return typeof d === 'number' ? d : -1;
}

/** The name and dims of every input and output of a config.pbtxt, in order. */
function parseTritonTensors(config: string): { name: string; dims: number[] }[] {
  return [...config.matchAll(/name: "([^"]+)"\s+data_type: TYPE_FP32\s+dims: \[([^\]]*)\]/g)].map((m) => ({
    name: m[1] as string,
    dims: (m[2] as string).split(',').map((s) => Number(s.trim())),
  }));
}
