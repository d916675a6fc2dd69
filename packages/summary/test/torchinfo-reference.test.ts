import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE, readReference } from '../../../tools/test-support/fixtures.js';
import { createModel } from '@resnet/zoo';
import { describe, expect, it } from 'vitest';
import { formatSummary, summary } from '../src/index.js';

interface ReferenceCase {
  total_params: number;
  trainable_params: number;
  non_trainable_params: number;
  total_mult_adds: number;
  total_input_bytes: number;
  total_output_bytes: number;
  total_param_bytes: number;
  estimated_total_bytes: number;
}
const cases = readReference<{ cases: Record<string, ReferenceCase> }>('torchinfo_summary_224.json').cases;

/** torchinfo adds Python's object overhead to the input bytes; we report the raw tensor bytes. */
const PYTHON_STORAGE_OVERHEAD = 56;
const ARCHS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'] as const;

const referenceText = (name: string) => readFileSync(join(REFERENCE, name), 'utf8').trimEnd();

describe.each(ARCHS)('%s at 1×3×224×224 against torchinfo', (arch) => {
  const model = createModel(arch, { meta: true });
  const ref = cases[`${arch}_224`] as ReferenceCase;

  it('has torchinfo’s totals (input bytes without Python’s 56-byte object overhead)', () => {
    const t = summary(model, [1, 3, 224, 224], { layout: 'nchw' }).totals;
    expect(t.totalParams).toBe(ref.total_params);
    expect(t.trainableParams).toBe(ref.trainable_params);
    expect(t.nonTrainableParams).toBe(ref.non_trainable_params);
    expect(t.totalMultAdds).toBe(ref.total_mult_adds);
    expect(t.inputBytes).toBe(ref.total_input_bytes - PYTHON_STORAGE_OVERHEAD);
    expect(t.forwardBackwardBytes).toBe(ref.total_output_bytes);
    expect(t.paramsBytes).toBe(ref.total_param_bytes);
    expect(t.estimatedTotalBytes).toBe(ref.estimated_total_bytes - PYTHON_STORAGE_OVERHEAD);
  });

  it.each([
    ['default columns', `torchinfo_${arch}_224.txt`, undefined],
    [
      'input, output, params and mult-adds',
      `torchinfo_${arch}_224_mult_adds.txt`,
      ['input_size', 'output_size', 'num_params', 'mult_adds'],
    ],
  ] as const)('prints torchinfo’s table row for row (%s)', (_, file, columns) => {
    const s = summary(model, [1, 3, 224, 224], { layout: 'nchw', ...(columns ? { columns } : {}) });
    const ours = formatSummary(s, 'text').split('\n');
    const theirs = referenceText(file).split('\n');
    expect(ours).toHaveLength(theirs.length);
    const inputLine = theirs.findIndex((l) => l.startsWith('Input size'));
    // The one documented difference: raw tensor bytes (602,112) instead of 602,168.
    expect(ours[inputLine]).toBe('Input size (kB): 602.11');
    expect(theirs[inputLine]).toBe('Input size (kB): 602.17');
    expect(ours.filter((_, i) => i !== inputLine)).toEqual(theirs.filter((_, i) => i !== inputLine));
  });
});
