import type { ModelSummary, SummaryColumn, SummaryRow } from '../types.js';
import { groupThousands, percentPython, totalsValue } from './numbers.js';

/** Column titles, as torchinfo's (plus ours). */
export const COLUMN_TITLES: Record<SummaryColumn, string> = {
  kernel_size: 'Kernel Shape',
  groups: 'Groups',
  input_size: 'Input Shape',
  output_size: 'Output Shape',
  num_params: 'Param #',
  params_percent: 'Param %',
  mult_adds: 'Mult-Adds',
  trainable: 'Trainable',
  receptive_field: 'Receptive Field',
};

/** Python's repr of a list of ints: `[1, 64, 112, 112]`. */
export function shapeText(shape: readonly number[]): string {
  return shape.length === 0 ? '--' : `[${shape.join(', ')}]`;
}

/** The rows a table shows: those no deeper than the summary's depth. */
export function visibleRows(s: ModelSummary): SummaryRow[] {
  return s.rows.filter((r) => r.depth <= s.depth);
}

/**
 * The text of one cell, by torchinfo's rules: a container above the display depth shows only the
 * parameters it owns itself, one at the display depth everything below it; `--` for nothing.
 */
export function cellText(s: ModelSummary, row: SummaryRow, column: SummaryColumn): string {
  const atDepth = row.depth === s.depth;
  const shown = atDepth || row.isLeaf ? row.params : row.ownParams;
  switch (column) {
    case 'input_size':
      return shapeText(row.inputShape);
    case 'output_size':
      return shapeText(row.outputShape);
    case 'num_params':
      if (row.params === 0) return '--';
      if (row.isRecursive) return '(recursive)';
      if (atDepth || row.isLeaf)
        return row.trainableParams > 0 ? groupThousands(row.params) : `(${groupThousands(row.params)})`;
      return shown > 0 ? groupThousands(shown) : '--';
    case 'params_percent':
      if (s.totals.totalParams === 0) return '     --';
      if (row.isRecursive) return '(recursive)';
      return shown === 0 ? '     --' : percentPython(shown / s.totals.totalParams);
    case 'mult_adds': {
      // torchinfo shows a container's value only at the display depth (and never for one without parameters).
      const positive = row.isLeaf ? row.multAdds > 0 : row.params > 0;
      if (!positive) return '--';
      return row.isLeaf || atDepth ? groupThousands(row.multAdds) : '--';
    }
    case 'kernel_size':
      if (!row.kernelSize) return '--';
      // torch keeps a convolution's kernel as a pair and a pooling's as the int it was given.
      return row.type.includes('Conv') || row.kernelSize[0] !== row.kernelSize[1]
        ? shapeText(row.kernelSize)
        : String(row.kernelSize[0]);
    case 'groups':
      return row.groups ? String(row.groups) : '--';
    case 'trainable':
      return row.trainable === null ? '--' : row.trainable === 'partial' ? 'Partial' : row.trainable ? 'True' : 'False';
    case 'receptive_field':
      return fieldText(row.receptiveField);
  }
}

/** `35` for a square field, `35×19` otherwise. */
export function fieldText(field: readonly [number, number]): string {
  return field[0] === field[1] ? String(field[0]) : `${field[0]}×${field[1]}`;
}

/** The totals block as torchinfo words it: [label, value] pairs, `value` starting with the unit. */
export function totalsLines(s: ModelSummary): { params: string[]; sizes: string[] } {
  const t = s.totals;
  const count = (n: number) => totalsValue(n, { auto: false, bytes: false });
  const bytes = (n: number) => totalsValue(n, { auto: true, bytes: true });
  return {
    params: [
      `Total params${count(t.totalParams)}`,
      `Trainable params${count(t.trainableParams)}`,
      `Non-trainable params${count(t.nonTrainableParams)}`,
      `Total mult-adds${totalsValue(t.totalMultAdds, { auto: true, bytes: false })}`,
    ],
    sizes: [
      `Input size${bytes(t.inputBytes)}`,
      `Forward/backward pass size${bytes(t.forwardBackwardBytes)}`,
      `Params size${bytes(t.paramsBytes)}`,
      `Estimated Total Size${bytes(t.estimatedTotalBytes)}`,
    ],
  };
}
