import { describe, expect, it } from 'vitest';
import {
  forCommit,
  newNotebook,
  type Notebook,
  problemsOf,
  serializeNotebook,
  withoutOutputs,
} from '../src/notebook.js';

describe('notebooks', () => {
  it('gives cells ids from their content, unique within the notebook', () => {
    const a = newNotebook([
      { type: 'markdown', source: '# A' },
      { type: 'code', source: 'x' },
      { type: 'code', source: 'x' },
    ]);
    const b = newNotebook([
      { type: 'markdown', source: 'inserted' },
      { type: 'markdown', source: '# A' },
    ]);
    const ids = a.cells.map((c) => c.id);
    expect(new Set(ids).size).toBe(3);
    expect(ids[2]).toBe(`${ids[1]}-2`);
    expect(b.cells[1]?.id).toBe(ids[0]);
    expect(a.cells[1]).toMatchObject({ execution_count: null, outputs: [], source: ['x'] });
  });

  it('compares executed notebooks with the generator by dropping outputs, counts and run metadata', () => {
    const generated = newNotebook([{ type: 'code', source: 'const a = 1;\na' }]);
    const executed = structuredClone(generated) as Notebook;
    Object.assign(executed.cells[0] as object, {
      execution_count: 1,
      outputs: [{ output_type: 'stream', name: 'stdout', text: ['1\n'] }],
      metadata: { execution: { 'iopub.status.busy': '2025-01-01T00:00:00Z' } },
    });
    executed.metadata.language_info = { name: 'typescript' };
    expect(serializeNotebook(withoutOutputs(executed))).toBe(serializeNotebook(generated));
    expect(forCommit(executed).cells[0]?.metadata).toEqual({});
    expect(forCommit(executed).cells[0]?.execution_count).toBe(1);
    expect(forCommit(executed).cells[0]?.outputs).toHaveLength(1);
  });

  it('writes JSON as Jupyter does: sorted keys, one-space indent, final newline', () => {
    const text = serializeNotebook(newNotebook([{ type: 'markdown', source: 'a' }]));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe(' "cells": [');
    expect(Object.keys(JSON.parse(text))).toEqual(['cells', 'metadata', 'nbformat', 'nbformat_minor']);
  });

  it('reports error outputs and anything written to stderr, by code cell', () => {
    const nb = newNotebook([
      { type: 'markdown', source: 'm' },
      { type: 'code', source: 'a' },
      { type: 'code', source: 'b' },
    ]);
    (nb.cells[1] as { outputs: unknown[] }).outputs = [{ output_type: 'stream', name: 'stdout', text: 'fine' }];
    (nb.cells[2] as { outputs: unknown[] }).outputs = [
      { output_type: 'stream', name: 'stderr', text: ['1:7 - Cannot find name x.\n'] },
      { output_type: 'error', ename: 'TypeError', evalue: 'x is not a function', traceback: [] },
    ];
    expect(problemsOf(nb)).toEqual([
      'code cell 2 wrote to stderr: 1:7 - Cannot find name x.',
      'code cell 2: TypeError: x is not a function',
    ]);
  });
});
