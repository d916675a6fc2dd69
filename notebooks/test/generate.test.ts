import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateNotebooks } from '../src/generate.js';
import { cellText } from '../src/notebook.js';
import { collectRegions, regionCellSource } from '../src/regions.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

describe('the notebooks', () => {
  const notebooks = generateNotebooks(repoRoot);
  const regions = [...collectRegions(repoRoot).values()];

  it('show every region as a code cell that is its source verbatim, less the `export` keywords', () => {
    const cells = notebooks.flatMap((n) => n.notebook.cells).map(cellText);
    for (const region of regions) {
      const withoutMarkers = readFileSync(join(repoRoot, region.file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*\/\/ #(end)?region\b/.test(line))
        .join('\n');
      expect(withoutMarkers.includes(region.text), `notebook:${region.id} is a piece of ${region.file}`).toBe(true);
      const cell = regionCellSource(region);
      expect(cell.replace(/^(?!export )/gm, '')).toBe(cell);
      expect(region.text.replace(/^export /gm, '')).toBe(cell);
      expect(
        cells.filter((c) => c === cell),
        `one cell shows notebook:${region.id}`,
      ).toHaveLength(1);
    }
  });

  it('declare the tslab kernel and start with a title', () => {
    for (const { name, notebook } of notebooks) {
      expect(notebook.metadata.kernelspec, name).toEqual({
        display_name: 'TypeScript',
        language: 'typescript',
        name: 'tslab',
      });
      expect(cellText(notebook.cells[0] as never), name).toMatch(/^# \d+\. /);
    }
  });
});
