import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compare, fixturePath } from '../../../tools/test-support/fixtures.js';
import { readNpy, resnet } from './helpers.js';

describe('resnet run --optimize', () => {
  it('runs the folded, fused inference form and matches torchvision within 1e-4', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'resnet-optimize-')), 'y.npy');
    const r = await resnet(
      'run',
      'resnet50',
      '--weights',
      fixturePath('resnet50', 'weights.safetensors'),
      '--input',
      fixturePath('resnet50', 'input_odd.npy'),
      '--output',
      out,
      '--layout',
      'nchw',
      '--optimize',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resnet50 \(eval, optimised, wasm\)/);
    const actual = readNpy(out);
    expect(actual.shape).toEqual([2, 1000]);
    expect(compare(actual.data, readNpy(fixturePath('resnet50', 'output_odd.npy')).data).relative).toBeLessThan(1e-4);
  });

  it('refuses --optimize with train mode or gradients (usage error, exit 2)', async () => {
    const r = await resnet(
      'run',
      'resnet18',
      '--weights',
      'w',
      '--input',
      'x',
      '--output',
      'y',
      '--optimize',
      '--mode',
      'train',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--optimize runs the inference form .* drop --mode train and --labels/);
  });
});
