import { createHash } from 'node:crypto';

/** The part of nbformat 4.5 that the generator writes and the checks read. */
export interface Cell {
  cell_type: 'markdown' | 'code';
  id: string;
  metadata: Record<string, unknown>;
  source: string[] | string;
  execution_count?: number | null;
  outputs?: Output[];
}

export interface Output {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error';
  name?: string;
  text?: string[] | string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  [key: string]: unknown;
}

export interface Notebook {
  cells: Cell[];
  metadata: Record<string, unknown>;
  nbformat: 4;
  nbformat_minor: number;
}

export const KERNELSPEC = { display_name: 'TypeScript', language: 'typescript', name: 'tslab' } as const;

/** A notebook without outputs, as the generator writes it before execution. */
export function newNotebook(cells: { type: 'markdown' | 'code'; source: string }[]): Notebook {
  const seen = new Map<string, number>();
  return {
    cells: cells.map(({ type, source }) => {
      // Ids come from the content, so inserting a cell leaves the other cells' ids alone.
      const hash = createHash('sha256').update(`${type}\n${source}`).digest('hex').slice(0, 8);
      const n = (seen.get(hash) ?? 0) + 1;
      seen.set(hash, n);
      const id = n === 1 ? hash : `${hash}-${n}`;
      const cell: Cell = { cell_type: type, id, metadata: {}, source: toLines(source) };
      if (type === 'code') Object.assign(cell, { execution_count: null, outputs: [] });
      return cell;
    }),
    metadata: { kernelspec: { ...KERNELSPEC } },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Jupyter's line list: every line keeps its newline except the last. */
function toLines(text: string): string[] {
  const lines = text.split('\n');
  return lines.map((line, i) => (i < lines.length - 1 ? `${line}\n` : line));
}

export function cellText(cell: Cell): string {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source;
}

/** The notebook as the generator would write it: outputs, counts and run metadata removed. */
export function withoutOutputs(notebook: Notebook): Notebook {
  return {
    cells: notebook.cells.map((cell) => {
      const bare: Cell = { cell_type: cell.cell_type, id: cell.id, metadata: {}, source: toLines(cellText(cell)) };
      if (cell.cell_type === 'code') Object.assign(bare, { execution_count: null, outputs: [] });
      return bare;
    }),
    metadata: { kernelspec: notebook.metadata.kernelspec },
    nbformat: notebook.nbformat,
    nbformat_minor: notebook.nbformat_minor,
  };
}

/**
 * An executed notebook ready to commit: outputs kept, run timestamps dropped (they would make
 * every regeneration a diff), and code cells numbered in the order nbconvert ran them (tslab
 * leaves execution counts empty).
 */
export function forCommit(executed: Notebook): Notebook {
  let count = 0;
  return {
    ...executed,
    cells: executed.cells.map((cell) => {
      const { execution: _, ...metadata } = cell.metadata;
      return cell.cell_type === 'code' ? { ...cell, metadata, execution_count: ++count } : { ...cell, metadata };
    }),
  };
}

/** JSON as Jupyter writes it (keys sorted, one-space indent, final newline), so diffs stay small. */
export function serializeNotebook(notebook: Notebook): string {
  return `${JSON.stringify(sortKeys(notebook), null, 1)}\n`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Error outputs and stderr text, each with the 1-based cell number: a notebook that shows any fails. */
export function problemsOf(notebook: Notebook): string[] {
  const problems: string[] = [];
  let codeCell = 0;
  notebook.cells.forEach((cell) => {
    if (cell.cell_type !== 'code') return;
    codeCell++;
    for (const output of cell.outputs ?? []) {
      if (output.output_type === 'error') {
        problems.push(`code cell ${codeCell}: ${output.ename}: ${output.evalue}`);
      } else if (output.output_type === 'stream' && output.name === 'stderr') {
        const text = Array.isArray(output.text) ? output.text.join('') : (output.text ?? '');
        problems.push(`code cell ${codeCell} wrote to stderr: ${text.trim().split('\n').slice(0, 6).join(' | ')}`);
      }
    }
  });
  return problems;
}
