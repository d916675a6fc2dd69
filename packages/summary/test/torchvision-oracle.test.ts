import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REFERENCE, REPO_ROOT, readReference } from '../../../tools/test-support/fixtures.js';
import { createModel, PRESET_NAMES, PRESETS } from '@resnet/zoo';
import { beforeAll, describe, expect, it } from 'vitest';
import { summary } from '../src/index.js';

/**
 * tools/summary/torchvision_summary.py applies torchinfo's definitions to a real torch forward pass
 * of torchvision's models (torchinfo itself is not packaged by Debian). It is first checked against
 * torchinfo's own output (reference/), then used as the reference at sizes torchinfo was not run at.
 */
interface OracleRow {
  label: string;
  depth: number;
  path: string;
  type: string;
  input_shape: number[];
  output_shape: number[];
  num_params: number;
  trainable_params: number;
  mult_adds: number;
  is_leaf: boolean;
}
interface OracleCase {
  arch: string;
  shape: number[];
  totals: {
    total_params: number;
    trainable_params: number;
    non_trainable_params: number;
    total_mult_adds: number;
    raw_input_bytes: number;
    total_output_bytes: number;
    total_param_bytes: number;
  };
  rows: OracleRow[];
  receptive_fields?: Record<string, [number, number]>;
}
interface ReferenceCase {
  total_params: number;
  trainable_params: number;
  total_mult_adds: number;
  total_input_bytes: number;
  total_output_bytes: number;
  total_param_bytes: number;
  num_summary_rows_all_depths: number;
}

const TORCHINFO_ARCHS = ['resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152'];
const TWINS = PRESET_NAMES.filter((n) => 'torchvision' in PRESETS[n]);
/** Odd sizes and batches, NCHW: every total must follow from the definitions, not from a lookup. */
const SIZES: { arch: string; shape: number[] }[] = [
  ...TWINS.map((arch) => ({ arch, shape: [2, 3, 65, 79] })),
  { arch: 'resnet18', shape: [5, 3, 224, 224] },
  { arch: 'resnet18', shape: [1, 3, 33, 33] },
  { arch: 'resnet34', shape: [3, 3, 100, 37] },
  { arch: 'resnet50', shape: [4, 3, 161, 97] },
  { arch: 'resnet101', shape: [1, 3, 257, 64] },
  { arch: 'resnet152', shape: [2, 3, 97, 66] },
];
const AT_224 = TORCHINFO_ARCHS.map((arch) => ({ arch, shape: [1, 3, 224, 224] }));
/**
 * The paper's CIFAR-10 networks at their own 32×32 (the size `resnet zoo` lists them at), against
 * torchinfo's definitions applied to the torch ResNet of tools/test-support/resnet20_torch.py.
 */
const CIFAR = ['resnet20', 'resnet32', 'resnet44', 'resnet56', 'resnet110'].map((arch) => ({
  arch,
  shape: [1, 3, 32, 32],
}));
/** Receptive fields measured in torch from input gradients (inputs larger than the fields). */
const FIELDS = [
  {
    arch: 'resnet18',
    shape: [1, 3, 448, 448],
    receptive_fields: ['conv1', 'maxpool', 'layer1', 'layer2', 'layer3', 'layer4', 'layer2.0.downsample'],
  },
  {
    arch: 'resnet50',
    shape: [1, 3, 160, 160],
    receptive_fields: ['layer1', 'layer2', 'layer2.0.downsample', 'layer3.0.conv2', 'layer3.0.downsample'],
  },
];

let oracle: OracleCase[];
const oracleCase = (arch: string, shape: number[]) =>
  oracle.find((c) => c.arch === arch && c.shape.join() === shape.join()) as OracleCase;

beforeAll(() => {
  const out = execFileSync(
    '/usr/bin/python3',
    [join(REPO_ROOT, 'tools/summary/torchvision_summary.py'), JSON.stringify([...AT_224, ...SIZES, ...CIFAR, ...FIELDS])],
    { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
  );
  oracle = JSON.parse(out) as OracleCase[];
}, 600_000);

/** Rows of torchinfo's printed table: name, then 25-wide columns. */
function parseTable(text: string): { label: string; cells: string[] }[] {
  const lines = text.split('\n');
  const header = lines[1] as string;
  const nameWidth = header.indexOf('Input Shape');
  const body = lines.slice(3, lines.indexOf(lines[0] as string, 3));
  return body.map((line) => {
    const label = line
      .slice(0, nameWidth)
      .trim()
      .replace(/^[│ ]*[├└]─/, '');
    const rest = line.slice(nameWidth);
    const cells = Array.from({ length: 4 }, (_, i) => rest.slice(i * 26, i * 26 + 25).trim());
    return { label, cells };
  });
}

describe('the oracle against torchinfo’s own output (1×3×224×224)', () => {
  it.each(TORCHINFO_ARCHS)('%s: totals and row count', (arch) => {
    const ref = readReference<{ cases: Record<string, ReferenceCase> }>('torchinfo_summary_224.json').cases[
      `${arch}_224`
    ] as ReferenceCase;
    const o = oracleCase(arch, [1, 3, 224, 224]);
    expect(o.totals.total_params).toBe(ref.total_params);
    expect(o.totals.trainable_params).toBe(ref.trainable_params);
    expect(o.totals.total_mult_adds).toBe(ref.total_mult_adds);
    expect(o.totals.raw_input_bytes + 56).toBe(ref.total_input_bytes);
    expect(o.totals.total_output_bytes).toBe(ref.total_output_bytes);
    expect(o.totals.total_param_bytes).toBe(ref.total_param_bytes);
    expect(o.rows).toHaveLength(ref.num_summary_rows_all_depths);
  });

  it.each(TORCHINFO_ARCHS)('%s: every printed row (label, shapes, leaf parameters and mult-adds)', (arch) => {
    const table = parseTable(readFileSync(join(REFERENCE, `torchinfo_${arch}_224_mult_adds.txt`), 'utf8'));
    const rows = oracleCase(arch, [1, 3, 224, 224]).rows.filter((r) => r.depth <= 3);
    expect(rows.map((r) => r.label)).toEqual(table.map((t) => t.label));
    const fmt = (n: number) => (n > 0 ? n.toLocaleString('en-US') : '--');
    rows.forEach((r, i) => {
      const [input, output, params, macs] = (table[i] as { cells: string[] }).cells;
      expect(`[${r.input_shape.join(', ')}]`).toBe(input);
      expect(`[${r.output_shape.join(', ')}]`).toBe(output);
      if (r.is_leaf || r.depth === 3) expect(fmt(r.num_params)).toBe(params);
      if (r.is_leaf) expect(fmt(r.mult_adds)).toBe(macs);
    });
  });
});

describe('our summary against the oracle at other batch and input sizes', () => {
  it.each(SIZES.map((c) => [c.arch, c.shape.join('×'), c.shape] as const))(
    '%s at %s (NCHW): every total',
    (arch, _, shape) => {
      const o = oracleCase(arch, shape).totals;
      const t = summary(createModel(arch, { meta: true }), shape, { layout: 'nchw' }).totals;
      expect(t).toEqual({
        totalParams: o.total_params,
        trainableParams: o.trainable_params,
        nonTrainableParams: o.non_trainable_params,
        totalMultAdds: o.total_mult_adds,
        inputBytes: o.raw_input_bytes,
        forwardBackwardBytes: o.total_output_bytes,
        paramsBytes: o.total_param_bytes,
        estimatedTotalBytes: o.raw_input_bytes + o.total_output_bytes + o.total_param_bytes,
      });
    },
  );

  it.each(SIZES.map((c) => [c.arch, c.shape.join('×'), c.shape] as const))(
    '%s at %s (NCHW): every row (label, path, shapes, parameters, mult-adds)',
    (arch, _, shape) => {
      const rows = summary(createModel(arch, { meta: true }), shape, { layout: 'nchw' }).rows;
      const expected = oracleCase(arch, shape).rows;
      expect(rows.map((r) => r.label)).toEqual(expected.map((r) => r.label));
      rows.forEach((r, i) => {
        const e = expected[i] as OracleRow;
        expect({
          path: r.path,
          type: r.type,
          depth: r.depth,
          inputShape: r.inputShape,
          outputShape: r.outputShape,
          params: r.params,
          trainableParams: r.trainableParams,
          multAdds: r.multAdds,
          isLeaf: r.isLeaf,
        }).toEqual({
          path: e.path,
          type: e.type,
          depth: e.depth,
          inputShape: e.input_shape,
          outputShape: e.output_shape,
          params: e.num_params,
          trainableParams: e.trainable_params,
          multAdds: e.mult_adds,
          isLeaf: e.is_leaf,
        });
      });
    },
  );
});

describe('the paper’s CIFAR-10 networks at 1×3×32×32 against the oracle on a torch ResNet of the same depth', () => {
  it.each(CIFAR.map((c) => c.arch))('%s: parameters, mult-adds and memory', (arch) => {
    const o = oracleCase(arch, [1, 3, 32, 32]).totals;
    const t = summary(createModel(arch, { meta: true }), [1, 3, 32, 32], { layout: 'nchw' }).totals;
    expect({
      params: t.totalParams,
      multAdds: t.totalMultAdds,
      forwardBackwardBytes: t.forwardBackwardBytes,
      paramsBytes: t.paramsBytes,
    }).toEqual({
      params: o.total_params,
      multAdds: o.total_mult_adds,
      forwardBackwardBytes: o.total_output_bytes,
      paramsBytes: o.total_param_bytes,
    });
  });
});

describe('receptive fields against fields measured in torch from input gradients', () => {
  it.each(FIELDS.map((c) => [c.arch, c.shape.join('×'), c.shape] as const))('%s at %s', (arch, _, shape) => {
    const measured = oracleCase(arch, shape).receptive_fields as Record<string, [number, number]>;
    const rows = summary(createModel(arch, { meta: true }), shape, { layout: 'nchw' }).rows;
    for (const [path, field] of Object.entries(measured)) {
      expect([path, rows.find((r) => r.path === path)?.receptiveField]).toEqual([path, field]);
    }
  });
});
