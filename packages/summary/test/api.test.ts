import { BatchNorm2d, buildMeta, Conv2d, Sequential } from '@resnet/core';
import { createModel, PRESET_NAMES, PRESETS } from '@resnet/zoo';
import { describe, expect, it } from 'vitest';
import {
  compareModels,
  formatComparison,
  formatSummary,
  SUMMARY_COLUMNS,
  SUMMARY_JSON_SCHEMA,
  summary,
} from '../src/index.js';

const resnet50 = createModel('resnet50', { meta: true });

describe('layouts', () => {
  it('takes NHWC by default and NCHW on request, and shows shapes in the layout it was given', () => {
    const nhwc = summary(resnet50, [2, 96, 64, 3]);
    const nchw = summary(resnet50, [2, 3, 96, 64], { layout: 'nchw' });
    expect(nhwc.totals).toEqual(nchw.totals);
    expect(nhwc.rows[1]?.outputShape).toEqual([2, 48, 32, 64]);
    expect(nchw.rows[1]?.outputShape).toEqual([2, 64, 48, 32]);
    expect(nchw.rows.map((r) => r.label)).toEqual(nhwc.rows.map((r) => r.label));
  });
});

describe('depth and columns', () => {
  it('keeps every row but shows only rows up to depth; a container at depth shows its whole subtree', () => {
    const s = summary(resnet50, [1, 3, 224, 224], { layout: 'nchw', depth: 1, columns: ['num_params', 'mult_adds'] });
    const lines = formatSummary(s, 'text').split('\n');
    expect(lines.filter((l) => l.startsWith('│'))).toEqual([]);
    const layer1 = lines.find((l) => l.startsWith('├─Sequential: 1-5')) as string;
    // Layer1's three bottlenecks, summed from torchinfo's own per-row figures at depth 3.
    expect(layer1.split(/\s{2,}/).slice(1)).toEqual(['215,808', '667,945,728']);
    expect(s.rows.length).toBe(183);
  });

  it('depth 0 shows the model row only', () => {
    const s = summary(resnet50, [1, 224, 224, 3], { depth: 0 });
    expect(formatSummary(s, 'text').split('\n')[3]).toMatch(/^ResNet\s+\[1, 1000\]\s+25,557,032$/);
  });

  it('every column renders', () => {
    const s = summary(resnet50, [1, 3, 224, 224], { layout: 'nchw', columns: SUMMARY_COLUMNS });
    const header = formatSummary(s, 'text').split('\n')[1] as string;
    for (const title of ['Input Shape', 'Kernel Shape', 'Groups', 'Param %', 'Trainable', 'Receptive Field']) {
      expect(header).toContain(title);
    }
    const conv1 = formatSummary(s, 'text').split('\n')[4] as string;
    expect(conv1.split(/\s{2,}/)).toEqual([
      '├─Conv2d: 1-1',
      '[1, 3, 224, 224]',
      '[1, 64, 112, 112]',
      '9,408',
      '0.04%',
      '[7, 7]',
      '1',
      '118,013,952',
      'True',
      '7',
    ]);
  });

  it('shows frozen parameters in parentheses and Partial/False in the Trainable column', () => {
    const model = createModel('resnet18', { meta: true });
    model.setTrainable(false, 'conv1');
    model.setTrainable(false, 'layer1');
    const s = summary(model, [1, 3, 64, 64], { layout: 'nchw', columns: ['num_params', 'trainable'], depth: 1 });
    const text = formatSummary(s, 'text');
    expect(text).toMatch(/├─Conv2d: 1-1\s+\(9,408\)\s+False/);
    expect(text).toMatch(/├─Sequential: 1-5\s+\(147,968\)\s+False/);
    expect(text).toMatch(/^ResNet\s+--\s+Partial$/m);
    expect(s.totals.nonTrainableParams).toBe(9408 + 147968);
    expect(s.totals.trainableParams + s.totals.nonTrainableParams).toBe(s.totals.totalParams);
  });
});

describe('our extra layers', () => {
  it('option-A shortcuts have no parameters and no mult-adds, and keep the stride', () => {
    const s = summary(createModel('resnet20', { meta: true }), [1, 32, 32, 3]);
    const shortcuts = s.rows.filter((r) => r.type === 'ZeroPadShortcut');
    expect(shortcuts.map((r) => r.path)).toEqual(['layer2.0.downsample', 'layer3.0.downsample']);
    for (const r of shortcuts) expect([r.params, r.multAdds]).toEqual([0, 0]);
    expect(shortcuts.map((r) => r.cumulativeStride)).toEqual([
      [2, 2],
      [4, 4],
    ]);
    // The paper's count for ResNet-20: 0.27 M parameters (Table 6).
    expect((s.totals.totalParams / 1e6).toFixed(2)).toBe('0.27');
  });

  it('a softmax head is a row without parameters or mult-adds and adds nothing to the totals', () => {
    const logits = summary(createModel('resnet50', { meta: true, output: 'logits' }), [1, 3, 224, 224], {
      layout: 'nchw',
    });
    const softmax = summary(createModel('resnet50', { meta: true, output: 'softmax' }), [1, 3, 224, 224], {
      layout: 'nchw',
    });
    const row = softmax.rows[softmax.rows.length - 1];
    expect([row?.type, row?.params, row?.multAdds, row?.path]).toEqual(['Softmax', 0, 0, 'softmax']);
    expect(softmax.totals).toEqual(logits.totals);
  });

  it('grouped convolutions count weight elements (in/groups per output channel) × output positions', () => {
    const s = summary(createModel('resnext50_32x4d', { meta: true }), [1, 3, 224, 224], { layout: 'nchw' });
    const conv2 = s.rows.find((r) => r.path === 'layer1.0.conv2');
    expect([conv2?.groups, conv2?.params, conv2?.multAdds]).toEqual([32, 128 * 4 * 9, 128 * 4 * 9 * 56 * 56]);
  });
});

describe('formats', () => {
  const s = summary(resnet50, [1, 3, 224, 224], { layout: 'nchw', depth: 2 });

  it('json carries the schema, the totals and the shown rows', () => {
    const doc = JSON.parse(formatSummary(s, 'json'));
    expect(doc.schema).toBe(SUMMARY_JSON_SCHEMA);
    expect(doc.schema).toBe('resnet-summary/1');
    expect(Object.keys(doc.totals).sort()).toEqual(
      [
        'totalParams',
        'trainableParams',
        'nonTrainableParams',
        'totalMultAdds',
        'inputBytes',
        'forwardBackwardBytes',
        'paramsBytes',
        'estimatedTotalBytes',
      ].sort(),
    );
    expect(doc.totals.totalParams).toBe(25557032);
    expect(doc.rows).toHaveLength(s.rows.filter((r) => r.depth <= 2).length);
    expect(doc.rows[1]).toMatchObject({ label: 'Conv2d: 1-1', path: 'conv1', outputShape: [1, 64, 112, 112] });
    expect(doc.stages.map((st: { name: string }) => st.name)).toEqual([
      'stem',
      'layer1',
      'layer2',
      'layer3',
      'layer4',
      'head',
    ]);
  });

  it('stage subtotals add up to the totals', () => {
    expect(s.stages.reduce((t, st) => t + st.params, 0)).toBe(s.totals.totalParams);
    expect(s.stages.reduce((t, st) => t + st.multAdds, 0)).toBe(s.totals.totalMultAdds);
    expect(s.stages.reduce((t, st) => t + st.forwardBackwardBytes, 0)).toBe(s.totals.forwardBackwardBytes);
  });

  it('markdown has the layer, totals and stage tables', () => {
    const md = formatSummary(s, 'markdown');
    expect(md).toContain('| Layer (type:depth-idx) | Output Shape | Param # |');
    expect(md).toContain('| Total params | 25,557,032 |');
    expect(md).toContain('| Total mult-adds (G) | 4.09 |');
    expect(md).toMatch(/\| layer4 \| 14,964,736 \|/);
  });

  it('html is self-contained: inline styles, no scripts, no stylesheets, no external resources', () => {
    const html = formatSummary(s, 'html');
    expect(html.startsWith('<div')).toBe(true);
    expect(html).not.toMatch(/<script|<style|<link|src=|href=|url\(/i);
    expect(html).toContain('style="');
    expect(html).toContain(
      '<td style="padding:2px 10px;border-bottom:1px solid #e0e0e0;white-space:nowrap;text-align:right;">25,557,032</td>',
    );
    expect((html.match(/<tr>/g) ?? []).length).toBe(s.rows.filter((r) => r.depth <= 2).length + 8 + 6 + 3);
  });

  it('escapes model names in html', () => {
    class Evil extends Sequential {
      override readonly typeName = '<img onerror=x>';
    }
    const model = buildMeta(() => new Evil([new Conv2d(3, 4, { kernelSize: 3 }), new BatchNorm2d(4)]));
    expect(formatSummary(summary(model, [1, 8, 8, 3]), 'html')).not.toContain('<img');
  });
});

describe('zoo comparison', () => {
  it('lists parameters, mult-adds at 224, depth and receptive field for every preset', () => {
    const c = compareModels(PRESET_NAMES);
    expect(c.inputShape).toEqual([1, 224, 224, 3]);
    const byName = Object.fromEntries(c.rows.map((r) => [r.name, r]));
    // Depth is the number in each name: the paper counts weighted layers on the longest path.
    for (const name of PRESET_NAMES) {
      const n = /(\d+)(_|$)/.exec(name.replace(/_2$|_keras$|_\d+x\d+d$/, ''))?.[1];
      expect([name, byName[name]?.depth]).toEqual([name, Number(n)]);
    }
    expect(byName.resnet50?.multAdds).toBe(4089238376);
    expect(byName.resnet50?.receptiveField).toEqual([427, 427]);
    const text = formatComparison(c);
    expect(text.split('\n')).toHaveLength(PRESET_NAMES.length + 2);
    expect(formatComparison(c, 'markdown')).toContain('| resnet50 | 25,557,032 | 4.09 G | 50 | 427 | [1, 1000] |');
    expect(JSON.parse(formatComparison(c, 'json')).schema).toBe('resnet-comparison/1');
  });

  it('takes built models too', () => {
    const c = compareModels([resnet50], [1, 3, 224, 224], { layout: 'nchw' });
    expect(c.rows[0]?.name).toBe('resnet50');
  });
});

describe('bad input', () => {
  it.each([
    ['a wrong rank', [1, 224, 224], /inputShape: expected an array of 4 positive sizes \[N, H, W, C\]/],
    ['a zero size', [1, 0, 224, 3], /inputShape\[1\]: expected a positive integer size/],
    ['a negative size', [1, 224, -5, 3], /inputShape\[2\]: expected a positive integer size.*got -5/],
    ['a fraction', [1, 22.5, 224, 3], /inputShape\[1\]: expected a positive integer/],
    ['not an array', '1,3,224,224', /inputShape: expected an array of 4/],
    ['NCHW given as NHWC', [1, 3, 224, 224], /C = 3 .*It looks like NCHW: pass \{ layout: 'nchw' \}/],
  ])('rejects %s', (_, shape, message) => {
    expect(() => summary(resnet50, shape as number[])).toThrow(message);
  });

  it('names the NCHW form when the layout is nchw', () => {
    expect(() => summary(resnet50, [1, 224, 224], { layout: 'nchw' })).toThrow(/\[N, C, H, W\] for layout 'nchw'/);
  });

  it('rejects inputs too small for the net, with the minimum size', () => {
    const model = createModel('resnet18', { meta: true }).train();
    expect(() => summary(model, [1, 3, 16, 16], { layout: 'nchw' })).toThrow(
      /inputShape: resnet18 needs inputs of at least \d+×\d+ pixels in train mode with batch 1/,
    );
    const valid = buildMeta(() => new Sequential([new Conv2d(3, 8, { kernelSize: 7 })]));
    expect(() => summary(valid, [1, 5, 5, 3])).toThrow(
      /cannot take an input of shape \[1, 5, 5, 3\] \(NHWC\).*too small/,
    );
  });

  it.each([
    [{ columns: ['output_size', 'flops'] }, /options.columns\[1\]: expected one of input_size, output_size/],
    [{ columns: [] }, /options.columns: expected a non-empty array/],
    [{ columns: ['num_params', 'num_params'] }, /Remove the repeated 'num_params'/],
    [{ depth: -1 }, /options.depth: expected an integer >= 0/],
    [{ layout: 'chw' }, /options.layout: expected 'nhwc'/],
    [{ dept: 2 }, /options.dept: expected one of the known options/],
  ])('rejects bad options %j', (options, message) => {
    expect(() => summary(resnet50, [1, 224, 224, 3], options as never)).toThrow(message);
  });

  it('rejects unknown formats and non-models', () => {
    const s = summary(resnet50, [1, 64, 64, 3]);
    expect(() => formatSummary(s, 'yaml' as never)).toThrow(
      /format: expected one of text, markdown, html, json; got "yaml"/,
    );
    expect(() => summary({} as never, [1, 64, 64, 3])).toThrow(/model: expected a @resnet\/core Module/);
    expect(() => compareModels(['resnet51'])).toThrow(/arch: expected one of resnet18/);
    expect(() => compareModels([])).toThrow(/models: expected a non-empty array/);
  });
});

describe('shape inference only', () => {
  it('summarises inputs far too large to run (a 1×3×8192×8192 batch of 64)', () => {
    const s = summary(resnet50, [64, 3, 8192, 8192], { layout: 'nchw' });
    expect(s.rows[1]?.outputShape).toEqual([64, 64, 4096, 4096]);
    expect(s.totals.inputBytes).toBe(64 * 3 * 8192 * 8192 * 4);
  });

  it('works for every preset at its natural size', () => {
    for (const name of PRESET_NAMES) {
      const cifar = PRESETS[name].family === 'cifar' || PRESETS[name].family === 'plain';
      const s = summary(createModel(name, { meta: true }), cifar ? [1, 32, 32, 3] : [1, 224, 224, 3]);
      expect(s.totals.totalParams).toBeGreaterThan(0);
    }
  });
});

describe('exact integers', () => {
  it('refuses shapes whose totals no longer fit in a double exactly', () => {
    expect(() => summary(resnet50, [100000, 3, 30000, 30000], { layout: 'nchw' })).toThrow(/below 2\^53/);
  });
});
