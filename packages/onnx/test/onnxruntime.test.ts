import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { initBackend } from '@resnet/backends';
import type { HostTensor } from '@resnet/core';
import { loadTorchvisionWeights, readNpyFile } from '@resnet/core/node';
import { createModel } from '@resnet/zoo';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, FIXTURES, fixturePath, nchwToNhwc, REPO_ROOT } from '../../../tools/test-support/fixtures.js';
import { TORCH_PYTHON } from '../../../tools/test-support/torch.js';
import { exportOnnx, type OnnxExportOptions } from '../src/index.js';
import { checkOnnxInBackground, type OnnxReport, reference, runOnnxruntime } from './support.js';

// The exported presets in onnxruntime-node against torch, within 1e-4 of the output's largest
// magnitude, at batch 1 and 3, plain and optimized, NCHW and NHWC:
// - torchvision's resnet18, resnet50, resnext50_32x4d and wide_resnet50_2 with the fixtures'
//   weights (Debian's torchvision): batch 1 at 224×224 (the fixtures) and batch 3 at 160×192;
// - resnet20 (option-A shortcuts) and resnet50_keras with seeded weights and random BatchNorm
//   statistics, against torch models of the same networks (tools/test-support/resnet20_torch.py and
//   resnet50_keras_torch.py; Keras is not in Debian): batch 1 and 3 (resnet20 at 32×32 and 33×35).
// Each preset is exported twice, plain in one layout and optimized in the other, so every preset
// runs both forms and both layouts are covered by every block kind; resnet18 adds a static batch
// and size. onnx.checker (full_check) and ONNX's shape inference check every file.
const TOLERANCE = 1e-4;
/** wide_resnet50_2 is 69 M parameters: building, loading, two exports and four runs take a while. */
const PRESET_TIMEOUT = 600_000;

const TORCHVISION = ['resnet18', 'resnet50', 'resnext50_32x4d', 'wide_resnet50_2'] as const;
const OURS = ['resnet20', 'resnet50_keras'] as const;
/** arch → [layout of the plain export, layout of the optimized one]. */
const LAYOUTS: Record<string, ['nchw' | 'nhwc', 'nchw' | 'nhwc']> = {
  resnet18: ['nchw', 'nhwc'],
  resnet50: ['nhwc', 'nchw'],
  resnext50_32x4d: ['nchw', 'nhwc'],
  wide_resnet50_2: ['nhwc', 'nchw'],
  resnet20: ['nchw', 'nhwc'],
  resnet50_keras: ['nhwc', 'nchw'],
};

let dir: string;
const files: string[] = [];
const checks: Promise<Record<string, OnnxReport>>[] = [];
const closing: string[] = [];

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'resnet-onnxruntime-'));
  reference('torchvision', dir, FIXTURES, ...TORCHVISION);
  reference('ours', dir, ...OURS);
});

afterAll(async () => {
  await Promise.allSettled(checks);
  console.log(
    `largest difference from torch in onnxruntime-node (relative to the largest |output|), file sizes:\n${closing.join('\n')}`,
  );
  rmSync(dir, { recursive: true, force: true });
});

interface Batch {
  tag: string;
  input: HostTensor;
  expected: HostTensor;
}

async function batches(arch: string): Promise<Batch[]> {
  const read = (...p: string[]) => readNpyFile(join(dir, ...p));
  if ((TORCHVISION as readonly string[]).includes(arch)) {
    return [
      {
        tag: 'b1 224×224',
        input: await readNpyFile(fixturePath(arch, 'input_224.npy')),
        expected: await readNpyFile(fixturePath(arch, 'output_224.npy')),
      },
      { tag: 'b3 160×192', input: await read(arch, 'input_b3.npy'), expected: await read(arch, 'output_b3.npy') },
    ];
  }
  const sizes = arch === 'resnet20' ? ['32×32', '33×35'] : ['224×224', '160×192'];
  return Promise.all(
    [1, 3].map(async (n, i) => ({
      tag: `b${n} ${sizes[i]}`,
      input: await read(arch, `input_b${n}.npy`),
      expected: await read(arch, `output_b${n}.npy`),
    })),
  );
}

/** Runs one export on every batch; returns the largest relative difference from torch. */
async function runAgainstTorch(path: string, layout: 'nchw' | 'nhwc', list: Batch[], label: string): Promise<number> {
  let worst = 0;
  const inputs = list.map(({ input }) => (layout === 'nhwc' ? nchwToNhwc(input) : input));
  const outputs = await runOnnxruntime(path, ...inputs.map((x) => ({ data: x.data as Float32Array, shape: x.shape })));
  for (const [i, { tag, expected }] of list.entries()) {
    const logits = outputs[i]?.logits;
    expect(logits?.shape, `${label} ${tag}`).toEqual(expected.shape);
    const { relative } = compare(logits?.data as Float32Array, expected.data);
    console.log(`${label} ${tag}: onnxruntime vs torch ${relative.toExponential(2)}`);
    expect(relative, `${label} ${tag}`).toBeLessThan(TOLERANCE);
    worst = Math.max(worst, relative);
  }
  return worst;
}

describe('exported presets in onnxruntime-node give torch’s outputs', () => {
  it.each([...TORCHVISION, ...OURS])('%s', async (arch) => {
    const weights = (OURS as readonly string[]).includes(arch)
      ? join(dir, arch, 'weights.safetensors')
      : fixturePath(arch, 'weights.safetensors');
    const model = createModel(arch);
    loadTorchvisionWeights(model, weights);
    const [plainLayout, optimizedLayout] = LAYOUTS[arch] as ['nchw' | 'nhwc', 'nchw' | 'nhwc'];
    const exports: [string, OnnxExportOptions][] = [
      [`${arch}.onnx`, { layout: plainLayout, weights: 'test' }],
      [`${arch}-optimized.onnx`, { layout: optimizedLayout, optimize: true }],
    ];
    for (const [file, options] of exports) {
      const path = join(dir, file);
      writeFileSync(path, exportOnnx(model, options));
      files.push(path);
    }
    model.dispose();
    checks.push(checkOnnxInBackground(exports.map(([file]) => join(dir, file))));
    const list = await batches(arch);
    const row: string[] = [];
    for (const [file, options] of exports) {
      const path = join(dir, file);
      const label = `${arch} ${options.optimize ? 'optimized' : 'plain'} ${options.layout?.toUpperCase()}`;
      const worst = await runAgainstTorch(path, options.layout ?? 'nchw', list, label);
      row.push(
        `${options.optimize ? 'optimized' : 'plain'} ${worst.toExponential(1)} (${(statSync(path).size / 1e6).toFixed(1)} MB)`,
      );
    }
    closing.push(`  ${arch.padEnd(16)} ${row.join(', ')}`);
  }, PRESET_TIMEOUT);

  it('resnet18 with a static batch of 3 and a fixed 160×192 input', async () => {
    const model = createModel('resnet18');
    loadTorchvisionWeights(model, fixturePath('resnet18', 'weights.safetensors'));
    const path = join(dir, 'resnet18-static.onnx');
    writeFileSync(path, exportOnnx(model, { staticBatch: 3, imageSize: [160, 192] }));
    files.push(path);
    checks.push(checkOnnxInBackground([path]));
    model.dispose();
    const list = (await batches('resnet18')).filter((b) => b.tag.startsWith('b3'));
    await runAgainstTorch(path, 'nchw', list, 'resnet18 static');
    await expect(
      runOnnxruntime(path, { data: new Float32Array(3 * 224 * 224), shape: [1, 3, 224, 224] }),
    ).rejects.toThrow(/dimension|Got invalid dimensions/i);
  }, PRESET_TIMEOUT);

  it('our export and torch.onnx.export of the same torchvision weights give the same outputs in onnxruntime', async () => {
    const model = createModel('resnet18');
    const weights = fixturePath('resnet18', 'weights.safetensors');
    loadTorchvisionWeights(model, weights);
    const ours = join(dir, 'resnet18-ours.onnx');
    writeFileSync(ours, exportOnnx(model));
    model.dispose();
    const theirs = join(dir, 'resnet18-torch.onnx');
    // bench/inference-export.py: torch.onnx.export, opset 13, input/logits, dynamic batch (Debian's torch).
    execFileSync(TORCH_PYTHON, [join(REPO_ROOT, 'bench', 'inference-export.py'), 'resnet18', weights, theirs], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const input = new Float32Array(3 * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.011) * 2);
    const [a] = await runOnnxruntime(ours, { data: input, shape: [3, 3, 224, 224] });
    const [b] = await runOnnxruntime(theirs, { data: input, shape: [3, 3, 224, 224] });
    const { relative } = compare(a?.logits?.data as Float32Array, b?.logits?.data as Float32Array);
    console.log(`resnet18, ours vs torch.onnx.export in onnxruntime, batch 3: ${relative.toExponential(2)}`);
    expect(relative).toBeLessThan(TOLERANCE);
  }, PRESET_TIMEOUT);

  it('every exported file passes onnx.checker (full_check) and ONNX shape inference agrees with its declared shapes', async () => {
    expect(files.length).toBe(2 * (TORCHVISION.length + OURS.length) + 1);
    const reports = Object.assign({}, ...(await Promise.all(checks))) as Record<string, OnnxReport>;
    for (const path of files) {
      const report = reports[path];
      expect(report, path).toBeDefined();
      for (const [name, dims] of Object.entries(report?.declared ?? {})) {
        expect(report?.inferred[name], `${path}: ${name}`).toEqual(dims);
      }
    }
  }, PRESET_TIMEOUT);
});
