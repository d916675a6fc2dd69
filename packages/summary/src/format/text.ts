import type { ModelSummary, SummaryRow } from '../types.js';
import { COLUMN_TITLES, cellText, totalsLines, visibleRows } from './cells.js';

const COLUMN_WIDTH = 25;

/** torchinfo's tree prefix: `├─` at depth 1, `│    ` × (depth − 1) then `└─` below. */
export function treePrefix(depth: number): string {
  if (depth === 0) return '';
  if (depth === 1) return '├─';
  return `${'│    '.repeat(depth - 1)}└─`;
}

/** Width of the name column: 40, or the longest `label + 5 × depth + 1` rounded up to 5 (hidden rows count). */
function nameWidth(rows: readonly SummaryRow[]): number {
  const longest = Math.max(0, ...rows.map((r) => r.label.length + 5 * r.depth + 1));
  return longest >= 40 ? Math.ceil(longest / 5) * 5 : 40;
}

/** The summary as torchinfo prints it: same columns, widths, tree, numbers and totals. */
export function formatText(s: ModelSummary): string {
  const width = nameWidth(s.rows);
  const line = (name: string, cells: string[]) =>
    `${name.padEnd(width)} ${cells.map((c) => `${c.padEnd(COLUMN_WIDTH)} `).join('')}`.trimEnd();
  const divider = '='.repeat(width + COLUMN_WIDTH * s.columns.length);
  const totals = totalsLines(s);
  return [
    divider,
    line(
      'Layer (type:depth-idx)',
      s.columns.map((c) => COLUMN_TITLES[c]),
    ),
    divider,
    ...visibleRows(s).map((r) =>
      line(
        treePrefix(r.depth) + r.label,
        s.columns.map((c) => cellText(s, r, c)),
      ),
    ),
    divider,
    ...totals.params,
    divider,
    ...totals.sizes,
    divider,
  ].join('\n');
}
