import { ArgumentError, Module, ResNetError } from '@resnet/core';
import { createModel } from '@resnet/zoo';
import { escapeHtml, htmlTable } from './format/html.js';
import { markdownTable } from './format/markdown.js';
import { fieldText, shapeText } from './format/cells.js';
import { groupThousands, humanCount } from './format/numbers.js';
import type { Table } from './format/tables.js';
import { summary } from './summary.js';
import { type ShapeLayout, SUMMARY_FORMATS, type SummaryFormat } from './types.js';

/** One model of a comparison. */
export interface ComparisonRow {
  name: string;
  params: number;
  trainableParams: number;
  /** torchinfo's total mult-adds at the comparison's input shape. */
  multAdds: number;
  /** Weighted layers (convolutions and linear layers) on the longest path: 50 for ResNet-50. */
  depth: number;
  /** Receptive field of the last feature map, `[height, width]` input pixels. */
  receptiveField: [number, number];
  outputShape: number[];
  forwardBackwardBytes: number;
}

export interface Comparison {
  layout: ShapeLayout;
  inputShape: number[];
  rows: ComparisonRow[];
}

/**
 * Compares models (preset names of @resnet/zoo or built models) at one input shape, by shape
 * inference: parameters, mult-adds, depth in weighted layers and receptive field.
 * `inputShape` defaults to one 224×224 RGB image (`[1, 224, 224, 3]`, or `[1, 3, 224, 224]`
 * with `{ layout: 'nchw' }`).
 */
export function compareModels(
  models: readonly (string | Module)[],
  inputShape?: readonly number[],
  options: { layout?: ShapeLayout } = {},
): Comparison {
  if (!Array.isArray(models) || models.length === 0) {
    throw new ArgumentError('models', 'a non-empty array of preset names (e.g. "resnet50") or models', models);
  }
  const layout = options?.layout ?? 'nhwc';
  const shape = inputShape ?? (layout === 'nchw' ? [1, 3, 224, 224] : [1, 224, 224, 3]);
  const rows = models.map((m, i) => {
    if (typeof m !== 'string' && !(m instanceof Module)) {
      throw new ArgumentError(`models[${i}]`, 'a preset name such as "resnet50" or a @resnet/core Module', m);
    }
    const model = typeof m === 'string' ? createModel(m, { meta: true }) : m;
    let s: ReturnType<typeof summary>;
    try {
      s = summary(model, shape, { layout });
    } catch (e) {
      if (e instanceof ResNetError && typeof m === 'string') throw new ResNetError(`${m}: ${e.message}`);
      throw e;
    }
    return {
      name: typeof m === 'string' ? m : s.name,
      params: s.totals.totalParams,
      trainableParams: s.totals.trainableParams,
      multAdds: s.totals.totalMultAdds,
      depth: s.weightedDepth,
      receptiveField: s.receptiveField,
      outputShape: s.outputShape,
      forwardBackwardBytes: s.totals.forwardBackwardBytes,
    };
  });
  return { layout, inputShape: [...shape], rows };
}

function comparisonTable(c: Comparison): Table {
  return {
    header: ['Model', 'Params', 'Mult-Adds', 'Depth', 'Receptive Field', 'Output Shape'],
    rows: c.rows.map((r) => [
      r.name,
      groupThousands(r.params),
      humanCount(r.multAdds),
      String(r.depth),
      fieldText(r.receptiveField),
      shapeText(r.outputShape),
    ]),
    numeric: [false, true, true, true, true, false],
  };
}

/** Renders a comparison as an aligned text table, markdown, self-contained HTML or JSON. */
export function formatComparison(c: Comparison, format: SummaryFormat = 'text'): string {
  if (c === null || typeof c !== 'object' || !Array.isArray((c as Comparison).rows)) {
    throw new ArgumentError('comparison', 'a Comparison returned by compareModels()', c);
  }
  const t = comparisonTable(c);
  switch (format) {
    case 'json':
      return JSON.stringify({ schema: 'resnet-comparison/1', ...c }, null, 2);
    case 'markdown':
      return markdownTable(t);
    case 'html': {
      const note = `input ${shapeText(c.inputShape)} (${c.layout.toUpperCase()})`;
      return [
        '<div style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#222;background:#fff;padding:8px;">',
        htmlTable(t),
        `<div style="font-size:11px;color:#666;">${escapeHtml(note)}</div>`,
        '</div>',
      ].join('\n');
    }
    case 'text': {
      const widths = t.header.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] as string).length)));
      const line = (cells: string[]) =>
        cells
          .map((cell, i) => (t.numeric[i] ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number)))
          .join('  ')
          .trimEnd();
      return [line(t.header), line(widths.map((w) => '-'.repeat(w))), ...t.rows.map(line)].join('\n');
    }
    default:
      throw new ArgumentError('format', `one of ${SUMMARY_FORMATS.join(', ')}`, format);
  }
}
