import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type HostTensor, parseNpy, serializeNpy } from '@resnet/core';
import { readSafetensorsFile } from '@resnet/core/node';
import { WEIGHTS } from '@resnet/zoo';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare, fixturePath, nchwToNhwc, readReference } from '../../../tools/test-support/fixtures.js';
import { resnet } from './helpers.js';

// The `resnet` command as a user runs it: the built bin in a child process.
let dir: string;

const readNpy = (path: string): HostTensor => parseNpy(new Uint8Array(readFileSync(path)));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'resnet-cli-'));
});

describe('resnet zoo', () => {
  it('--json lists every preset with name and torchvision’s parameter counts', async () => {
    const { code, stdout } = await resnet('zoo', '--json');
    expect(code).toBe(0);
    const entries = JSON.parse(stdout) as { name: string; params: number }[];
    const reference = readReference<{ models: Record<string, { total_params: number }> }>(
      'torchvision_params.json',
    ).models;
    for (const [name, ref] of Object.entries(reference)) {
      expect(entries.find((e) => e.name === name)?.params, name).toBe(ref.total_params);
    }
    expect(entries.find((e) => e.name === 'resnet20')?.params).toBe(269_722);
    const weights = entries as unknown as { name: string; weights: string[]; defaultWeights: string | null }[];
    for (const e of weights) {
      const w = (WEIGHTS as Record<string, { default: string; entries: object } | undefined>)[e.name];
      expect([e.weights, e.defaultWeights], e.name).toEqual(w ? [Object.keys(w.entries), w.default] : [[], null]);
    }
  });

  it('prints a table', async () => {
    const { code, stdout } = await resnet('zoo');
    expect(code).toBe(0);
    expect(stdout).toMatch(/resnet50\s+25,557,032\s+224×224/);
  });
});

describe('help', () => {
  it('every command has --help with examples', async () => {
    const top = await resnet('--help');
    expect(top.code).toBe(0);
    const commands = [...top.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1] as string);
    expect(commands).toEqual(expect.arrayContaining(['zoo', 'run', 'demo']));
    for (const c of commands) {
      const { code, stdout } = await resnet(c, '--help');
      expect(code, c).toBe(0);
      expect(stdout, c).toMatch(/Examples:\n {2}resnet /);
    }
  });
});

describe('resnet run with torchvision weights', () => {
  it('--layout nchw reads and writes torch’s layout, matching torchvision within 1e-4', async () => {
    const out = join(dir, 'y.npy');
    const r = await resnet(
      'run',
      'resnet18',
      '--weights',
      fixturePath('resnet18', 'weights.safetensors'),
      '--input',
      fixturePath('resnet18', 'input_odd.npy'),
      '--output',
      out,
      '--layout',
      'nchw',
      '--backend',
      'wasm',
    );
    expect(r.code, r.stderr).toBe(0);
    const expected = readNpy(fixturePath('resnet18', 'output_odd.npy'));
    const actual = readNpy(out);
    expect(actual.shape).toEqual([2, 1000]);
    expect(compare(actual.data, expected.data).relative).toBeLessThan(1e-4);
  });

  it('takes NHWC by default', async () => {
    const nhwc = join(dir, 'x_nhwc.npy');
    writeFileSync(nhwc, serializeNpy(nchwToNhwc(readNpy(fixturePath('resnet18', 'input_224.npy'))) as HostTensor));
    const out = join(dir, 'y224.npy');
    const r = await resnet(
      'run',
      'resnet18',
      '--weights',
      fixturePath('resnet18', 'weights.safetensors'),
      '--input',
      nhwc,
      '--output',
      out,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(compare(readNpy(out).data, readNpy(fixturePath('resnet18', 'output_224.npy')).data).relative).toBeLessThan(
      1e-4,
    );
  });

  it('--mode train --labels --grads on WASM writes torch autograd’s gradients (names and OIHW layouts) within 1e-3', async () => {
    const out = join(dir, 'train_y.npy');
    const grads = join(dir, 'grads.safetensors');
    const r = await resnet(
      'run',
      'resnet18',
      '--weights',
      fixturePath('resnet18', 'train_weights.safetensors'),
      '--input',
      fixturePath('resnet18', 'train_input.npy'),
      '--output',
      out,
      '--layout',
      'nchw',
      '--mode',
      'train',
      '--backend',
      'wasm',
      '--labels',
      fixturePath('resnet18', 'train_labels.npy'),
      '--grads',
      grads,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(compare(readNpy(out).data, readNpy(fixturePath('resnet18', 'train_output.npy')).data).relative).toBeLessThan(
      1e-4,
    );
    const ours = readSafetensorsFile(grads).tensors;
    const torch = readSafetensorsFile(fixturePath('resnet18', 'train_grads.safetensors')).tensors;
    expect([...ours.keys()]).toEqual([...torch.keys()]);
    for (const [name, g] of torch) {
      expect(ours.get(name)?.shape, name).toEqual(g.shape);
      expect(compare((ours.get(name) as HostTensor).data, g.data).relative, name).toBeLessThan(1e-3);
    }
  });
});

describe('bad input: one line on stderr, a non-zero exit, no stack trace, no output file', () => {
  const weights = () => fixturePath('resnet18', 'weights.safetensors');
  const input = () => fixturePath('resnet18', 'input_odd.npy');
  const file = (name: string, bytes: Uint8Array | string) => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return path;
  };
  const truncated = (path: string, name: string, length: number) => file(name, readFileSync(path).subarray(0, length));
  const lyingHeader = () => {
    const b = Buffer.from(readFileSync(weights()).subarray(0, 4096));
    b.writeBigUInt64LE(10n ** 9n, 0);
    return file('lying.safetensors', b);
  };
  const safetensors = (json: string, data = 0) => {
    const h = Buffer.from(json);
    const b = Buffer.alloc(8 + h.length + data);
    b.writeBigUInt64LE(BigInt(h.length));
    h.copy(b, 8);
    return b;
  };

  const cases: [string, () => string[], RegExp][] = [
    [
      'an unknown arch',
      () => ['run', 'resnet51', '--weights', weights(), '--input', input(), '--output', 'OUT'],
      /expected one of resnet18, resnet34, .*resnet50_keras/,
    ],
    [
      'a missing weights file',
      () => ['run', 'resnet18', '--weights', join(dir, 'nope.safetensors'), '--input', input(), '--output', 'OUT'],
      /file not found: .*nope\.safetensors/,
    ],
    [
      'a directory as weights',
      () => ['run', 'resnet18', '--weights', dir, '--input', input(), '--output', 'OUT'],
      /directory/,
    ],
    [
      'truncated safetensors',
      () => [
        'run',
        'resnet18',
        '--weights',
        truncated(weights(), 't.safetensors', 100_000),
        '--input',
        input(),
        '--output',
        'OUT',
      ],
      /truncated safetensors file/,
    ],
    [
      'a header that lies about its size',
      () => ['run', 'resnet18', '--weights', lyingHeader(), '--input', input(), '--output', 'OUT'],
      /header declares 1000000000 bytes/,
    ],
    [
      'a header that is not JSON',
      () => [
        'run',
        'resnet18',
        '--weights',
        file('nj.safetensors', safetensors('{"conv1.weight": [')),
        '--input',
        input(),
        '--output',
        'OUT',
      ],
      /not JSON/,
    ],
    [
      'an unsupported dtype',
      () => [
        'run',
        'resnet18',
        '--weights',
        file('u8.safetensors', safetensors('{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', 2)),
        '--input',
        input(),
        '--output',
        'OUT',
      ],
      /unsupported dtype "U8"/,
    ],
    [
      'weights of another architecture',
      () => [
        'run',
        'resnet18',
        '--weights',
        fixturePath('resnet34', 'weights.safetensors'),
        '--input',
        input(),
        '--output',
        'OUT',
      ],
      /unexpected \d+ \(layer1\.2\.conv1\.weight/,
    ],
    [
      'a head of the wrong size',
      () => ['run', 'resnet18', '--weights', weights(), '--input', input(), '--output', 'OUT', '--num-classes', '10'],
      /fc\.weight: model \[10, 512\], file \[1000, 512\]/,
    ],
    [
      'weights with a tensor missing',
      () => [
        'run',
        'resnet18',
        '--weights',
        file(
          'one.safetensors',
          safetensors('{"fc.bias":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}', 4000),
        ),
        '--input',
        input(),
        '--output',
        'OUT',
      ],
      /missing 121 \(conv1\.weight, bn1\.weight/,
    ],
    [
      'a missing input file',
      () => ['run', 'resnet18', '--weights', weights(), '--input', join(dir, 'none.npy'), '--output', 'OUT'],
      /file not found/,
    ],
    [
      'a truncated .npy',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        truncated(input(), 't.npy', 1000),
        '--output',
        'OUT',
        '--layout',
        'nchw',
      ],
      /truncated \.npy file/,
    ],
    [
      'a file that is not .npy',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        file('x.txt', 'hello world, not numpy'),
        '--output',
        'OUT',
      ],
      /not a \.npy file/,
    ],
    [
      'an input of the wrong rank',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        file('r3.npy', serializeNpy({ dtype: 'float32', shape: [3, 8, 8], data: new Float32Array(192) })),
        '--output',
        'OUT',
      ],
      /rank 4/,
    ],
    [
      'an input with the wrong channels',
      () => ['run', 'resnet18', '--weights', weights(), '--input', input(), '--output', 'OUT'],
      /3 channels on the last axis.*--layout nchw/,
    ],
    [
      'an input too small for train mode',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        file('small.npy', serializeNpy({ dtype: 'float32', shape: [1, 3, 32, 32], data: new Float32Array(3072) })),
        '--output',
        'OUT',
        '--layout',
        'nchw',
        '--mode',
        'train',
      ],
      /at least 33×33 pixels in train mode with batch 1/,
    ],
    [
      'labels out of range',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        input(),
        '--layout',
        'nchw',
        '--output',
        'OUT',
        '--labels',
        file('l.npy', serializeNpy({ dtype: 'int32', shape: [2], data: Int32Array.from([3, 1000]) })),
        '--grads',
        'GRADS',
      ],
      /label 1000 at index 1 is outside \[0, 999\]/,
    ],
    [
      'float labels',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        input(),
        '--layout',
        'nchw',
        '--output',
        'OUT',
        '--labels',
        input(),
        '--grads',
        'GRADS',
      ],
      /labels must be an integer/,
    ],
    [
      '--labels without --grads',
      () => ['run', 'resnet18', '--weights', weights(), '--input', input(), '--output', 'OUT', '--labels', input()],
      /--labels and --grads go together/,
    ],
    ['an unknown flag', () => ['run', 'resnet18', '--weigths', weights()], /Unknown option '--weigths'/],
    [
      'an unknown backend',
      () => ['run', 'resnet18', '--weights', weights(), '--input', input(), '--output', 'OUT', '--backend', 'gpu'],
      /--backend expects one of wasm, cpu, node/,
    ],
    [
      'tfjs-node requested but not installed',
      () => [
        'run',
        'resnet18',
        '--weights',
        weights(),
        '--input',
        input(),
        '--layout',
        'nchw',
        '--output',
        'OUT',
        '--backend',
        'node',
      ],
      /pnpm add @tensorflow\/tfjs-node/,
    ],
    ['an unknown command', () => ['trian'], /unknown command "trian"/],
  ];

  it.concurrent.each(cases)('%s', async (_, argv, message) => {
    const folder = mkdtempSync(join(dir, 'case-'));
    const out = join(folder, 'out.npy');
    const gradsOut = join(folder, 'grads.safetensors');
    const args = argv().map((a) => (a === 'OUT' ? out : a === 'GRADS' ? gradsOut : a));
    const r = await resnet(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(gradsOut)).toBe(false);
  });

  it('a failed run leaves an existing output file untouched', async () => {
    const out = join(dir, 'keep.npy');
    copyFileSync(fixturePath('resnet18', 'output_odd.npy'), out);
    const before = readFileSync(out);
    const r = await resnet(
      'run',
      'resnet18',
      '--weights',
      fixturePath('resnet34', 'weights.safetensors'),
      '--input',
      input(),
      '--output',
      out,
    );
    expect(r.code).toBe(1);
    expect(readFileSync(out).equals(before)).toBe(true);
    mkdirSync(join(dir, 'sub'), { recursive: true });
  });
});
