import type { ModelSummary } from '../types.js';
import { caption, layerTable, stageTable, type Table, totalsTable } from './tables.js';

const escapeCell = (cell: string) => cell.replace(/\|/g, '\\|');

/** A GitHub-flavoured markdown table. */
export function markdownTable(t: Table): string {
  const line = (cells: string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(t.header), line(t.numeric.map((n) => (n ? '--:' : ':--'))), ...t.rows.map(line)].join('\n');
}

/** The summary as markdown: caption, layer table, totals, stage subtotals. */
export function formatMarkdown(s: ModelSummary): string {
  return [
    `**${caption(s)}**`,
    markdownTable(layerTable(s)),
    markdownTable(totalsTable(s)),
    markdownTable(stageTable(s)),
  ].join('\n\n');
}
