import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import { hostToTensor, loadStateDict } from '@resnet/core';
import { readNpyFile, readSafetensorsFile } from '@resnet/core/node';
import { checkpointContents } from '@resnet/train/node';
import { createModel } from '@resnet/zoo';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compare, fixturePath, nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import { type PthFixture, pthFixturePath, pthManifest } from '../../../tools/test-support/pth-fixtures.js';
import { CHECKPOINT_FILE } from '../src/commands/train.js';
import { resnet } from './helpers.js';

// `resnet export` as a user runs it (the built bin in a child process); the files it writes run in
// onnxruntime-node. Parity of every preset and option with torch is tested in @resnet/onnx.
const TOLERANCE = 1e-4;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-export-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(path: string, data: Float32Array, shape: number[]): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(path);
  try {
    const out = await session.run({ input: new ort.Tensor('float32', data, shape) });
    return out.logits as ort.Tensor;
  } finally {
    await session.release();
  }
}

describe('resnet export', () => {
  it("writes resnet18 with torchvision's weights (optimized, NHWC, static batch) that onnxruntime runs as torchvision", async () => {
    const output = join(dir, 'resnet18.onnx');
    const weights = fixturePath('resnet18', 'weights.safetensors');
    const r = await resnet(
      'export',
      'resnet18',
      '--weights',
      weights,
      '--output',
      output,
      '--optimize',
      '--layout',
      'nhwc',
      '--static-batch',
      '2',
    );
    expect(r.stderr).toMatch(
      /^resnet18 \(weights\.safetensors, BatchNorm folded, wasm\) → .*resnet18\.onnx: 46\.\d MB, opset 13, input \[2, height, width, 3\] → logits \[2, 1000\]\n$/,
    );
    expect(r.code).toBe(0);
    // torchvision's output for its 2×3×97×131 fixture batch, fed as NHWC.
    const input = nchwToNhwc(await readNpyFile(fixturePath('resnet18', 'input_odd.npy')));
    const expected = await readNpyFile(fixturePath('resnet18', 'output_odd.npy'));
    const logits = await run(output, input.data as Float32Array, input.shape);
    expect(logits.dims).toEqual([2, 1000]);
    expect(compare(logits.data as Float32Array, expected.data).relative).toBeLessThan(TOLERANCE);
  });

  it('reads a .pth written by torch.save (as torchvision publishes its weights)', async () => {
    const pth = pthManifest().files.resnet18 as PthFixture;
    const output = join(dir, 'resnet18-pth.onnx');
    const r = await resnet('export', 'resnet18', '--weights', pthFixturePath(pth.file), '--output', output);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^resnet18 \(resnet18-[0-9a-f]{8}\.pth, /);
    const input = await readNpyFile(pthFixturePath(pth.input as string));
    const expected = await readNpyFile(pthFixturePath(pth.output as string));
    const logits = await run(output, input.data as Float32Array, input.shape);
    expect(compare(logits.data as Float32Array, expected.data).relative).toBeLessThan(TOLERANCE);
  }, 600_000);

  it('downloads weights from a URL (verified by the hash in their name, cached) before exporting', async () => {
    const pth = pthManifest().files.resnet18 as PthFixture;
    const server = createServer((req, res) => {
      if (req.url === `/models/${pth.file}`) createReadStream(pthFixturePath(pth.file)).pipe(res);
      else res.writeHead(404).end();
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const home = join(dir, 'home');
    const before = process.env.RESNET_HOME;
    process.env.RESNET_HOME = home; // the bin's cache, inherited by its process
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/${pth.file}`;
      const output = join(dir, 'resnet18-url.onnx');
      const r = await resnet('export', 'resnet18', '--weights', url, '--output', output);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(`resnet18 (${url}, `);
      expect(readdirSync(join(home, 'checkpoints'))).toContain(pth.file);
      const input = await readNpyFile(pthFixturePath(pth.input as string));
      const expected = await readNpyFile(pthFixturePath(pth.output as string));
      const logits = await run(output, input.data as Float32Array, input.shape);
      expect(compare(logits.data as Float32Array, expected.data).relative).toBeLessThan(TOLERANCE);
    } finally {
      if (before === undefined) delete process.env.RESNET_HOME;
      else process.env.RESNET_HOME = before;
      await new Promise((done) => server.close(done));
    }
  }, 600_000);

  it('exports a `resnet train` checkpoint with its class count and input channels', async () => {
    const run1 = join(dir, 'run');
    const trained = await resnet(
      'train',
      ...['--arch', 'resnet20', '--limit', '20', '--batch', '10', '--test-limit', '20', '--epochs', '1'],
      ...['--backend', 'wasm', '--checkpoint', run1],
    );
    expect(trained.code).toBe(0);
    const checkpoint = join(run1, CHECKPOINT_FILE);
    const output = join(dir, 'r20.onnx');
    const r = await resnet('export', 'resnet20', '--weights', checkpoint, '--output', output);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /training checkpoint checkpoint\.safetensors \(epoch 1\).* input \[batch, 1, height, width\] → logits \[batch, 10\]/,
    );
    // onnxruntime computes what the checkpoint's model computes (Fashion-MNIST: 1 channel, 10 classes).
    await initBackend({ prefer: 'wasm' });
    const model = createModel('resnet20', { numClasses: 10, inputChannels: 1 });
    loadStateDict(model, checkpointContents(readSafetensorsFile(checkpoint), checkpoint).weights);
    const nchw = { dtype: 'float32' as const, shape: [3, 1, 32, 32], data: new Float32Array(3 * 32 * 32) };
    nchw.data.forEach((_, i) => {
      nchw.data[i] = Math.cos(i * 0.21);
    });
    const logits = await run(output, nchw.data, nchw.shape);
    const ours = model.predict(hostToTensor(nchwToNhwc(nchw)));
    expect(logits.dims).toEqual([3, 10]);
    expect(compare(logits.data as Float32Array, ours.dataSync()).relative).toBeLessThan(TOLERANCE);
    tf.dispose(ours);
    model.dispose();
  }, 600_000);

  it('--triton-config writes the config.pbtxt of a Triton model repository beside the model', async () => {
    const model = join(dir, 'models', 'cifar_resnet20');
    mkdirSync(join(model, '1'), { recursive: true });
    const r = await resnet(
      'export',
      'resnet20',
      '--output',
      join(model, '1', 'model.onnx'),
      '--triton-config',
      join(model, 'config.pbtxt'),
      '--max-batch',
      '32',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/random initialisation \(seed 0\)/);
    const config = readFileSync(join(model, 'config.pbtxt'), 'utf8');
    expect(config).toMatch(/^name: "cifar_resnet20"$/m);
    expect(config).toMatch(/^max_batch_size: 32$/m);
    expect(config).toMatch(/name: "input"\s+data_type: TYPE_FP32\s+dims: \[ 3, -1, -1 \]/);
    expect(config).toMatch(/name: "logits"\s+data_type: TYPE_FP32\s+dims: \[ 10 \]/);
    expect(existsSync(join(model, '1', 'model.onnx'))).toBe(true);
  });

  it('refuses with one line on stderr, a non-zero exit and no file', async () => {
    const out = join(dir, 'refused');
    mkdirSync(out);
    const file = join(out, 'm.onnx');
    const cases: [string[], number, RegExp][] = [
      [
        ['wide_resnet50_2', '--num-classes', '300000'],
        1,
        /wide_resnet50_2 would be a 2\.\d\d GiB ONNX file .*cannot exceed 2 GiB/,
      ],
      [['resnet18', '--layout', 'NCHW'], 2, /--layout expects one of nchw, nhwc, got "NCHW"/],
      [['resnet18', '--static-batch', '0'], 2, /--static-batch expects an integer from 1 to/],
      [['resnet18', '--image-size', '224x'], 2, /--image-size expects a size such as 224 or 160x192/],
      [['resnet18', '--max-batch', '4'], 2, /--max-batch .* needs --triton-config/],
      [
        ['resnet18', '--weights', join(dir, 'nope.safetensors')],
        1,
        /weights: expected a NAME \(IMAGENET1K_V1, DEFAULT\), an http\(s\) URL or an existing file; got .*nope\.safetensors/,
      ],
      [
        ['resnet34', '--weights', fixturePath('resnet18', 'weights.safetensors')],
        1,
        /weights\.safetensors: weights do not fit the model: missing \d+ \(layer1\.2\.conv1\.weight/,
      ],
      [['resnet9000'], 1, /arch: expected one of resnet18, /],
    ];
    for (const [args, code, message] of cases) {
      const r = await resnet('export', ...args, '--output', file);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
    const noOutput = await resnet('export', 'resnet18');
    expect(noOutput.code).toBe(2);
    expect(noOutput.stderr).toMatch(/--output is required/);
    const missingDir = await resnet('export', 'resnet18', '--output', join(dir, 'no', 'such', 'm.onnx'));
    expect(missingDir.code).toBe(1);
    expect(missingDir.stderr).toMatch(/the directory .* does not exist; create it first/);
    expect(readdirSync(out)).toEqual([]);
  }, 600_000);
});
