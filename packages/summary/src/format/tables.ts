import type { ModelSummary } from '../types.js';
import { COLUMN_TITLES, cellText, fieldText, shapeText, totalsLines, visibleRows } from './cells.js';
import { groupThousands } from './numbers.js';
import { treePrefix } from './text.js';

/** A table independent of its rendering: header, rows of cells, and which columns are numbers. */
export interface Table {
  header: string[];
  rows: string[][];
  numeric: boolean[];
}

const NUMERIC_COLUMNS = new Set(['num_params', 'params_percent', 'mult_adds', 'groups', 'receptive_field']);

/** The layer table (rows up to the summary's depth), with the tree drawn in front of each label. */
export function layerTable(s: ModelSummary): Table {
  return {
    header: ['Layer (type:depth-idx)', ...s.columns.map((c) => COLUMN_TITLES[c])],
    rows: visibleRows(s).map((r) => [
      // Non-breaking spaces keep the tree's indentation in HTML and rendered markdown.
      (treePrefix(r.depth) + r.label).replace(/ {2,}/g, (m) => '\u00a0'.repeat(m.length)),
      ...s.columns.map((c) => cellText(s, r, c).trim()),
    ]),
    numeric: [false, ...s.columns.map((c) => NUMERIC_COLUMNS.has(c))],
  };
}

/** torchinfo's totals as label/value pairs ("Total mult-adds (G)", "4.09"). */
export function totalsTable(s: ModelSummary): Table {
  const { params, sizes } = totalsLines(s);
  return {
    header: ['Total', 'Value'],
    rows: [...params, ...sizes].map((line) => {
      const at = line.lastIndexOf(': ');
      return [line.slice(0, at), line.slice(at + 2)];
    }),
    numeric: [false, true],
  };
}

/** Per-stage subtotals (beyond torchinfo). */
export function stageTable(s: ModelSummary): Table {
  return {
    header: ['Stage', 'Param #', 'Mult-Adds', 'Output Shape', 'Receptive Field', 'Stride'],
    rows: s.stages.map((st) => [
      st.name,
      groupThousands(st.params),
      groupThousands(st.multAdds),
      shapeText(st.outputShape),
      fieldText(st.receptiveField),
      fieldText(st.cumulativeStride),
    ]),
    numeric: [false, true, true, false, true, true],
  };
}

/** One line naming the model and its input. */
export function caption(s: ModelSummary): string {
  return `${s.name}: input ${shapeText(s.inputShape)} (${s.layout.toUpperCase()}), output ${shapeText(s.outputShape)}`;
}
