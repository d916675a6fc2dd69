import { describe, expect, it } from 'vitest';
import { NotebookError } from '../src/errors.js';
import { parseRegions, type Region, regionCellSource } from '../src/regions.js';

const file = 'packages/x/src/a.ts';

describe('parseRegions', () => {
  it('returns the lines between the markers, in file order, with their offsets', () => {
    const source = [
      "import { a } from './a.js';",
      '',
      '// #region notebook:first',
      'export const one = 1;',
      '// #endregion',
      '// #region notebook:second',
      '',
      'export function two(): number {',
      '  return 2;',
      '}',
      '',
      '// #endregion',
    ].join('\n');
    const regions = parseRegions(file, source);
    expect(regions.map((r) => [r.id, r.text])).toEqual([
      ['first', 'export const one = 1;'],
      ['second', 'export function two(): number {\n  return 2;\n}'],
    ]);
    const [start, end] = (regions[0] as Region).span;
    expect(source.slice(start, end)).toBe('export const one = 1;\n');
  });

  it('leaves nested markers out of the outer region and pairs non-notebook regions too', () => {
    const source = [
      '// #region notebook:outer',
      'const a = 1;',
      '// #region notebook:inner',
      'const b = 2;',
      '// #endregion',
      '// #region helpers',
      'const c = 3;',
      '// #endregion',
      '// #endregion',
    ].join('\n');
    expect(parseRegions(file, source).map((r) => [r.id, r.text])).toEqual([
      ['outer', 'const a = 1;\nconst b = 2;\nconst c = 3;'],
      ['inner', 'const b = 2;'],
    ]);
  });

  it('refuses unclosed, unopened, indented, empty and badly named regions with the line', () => {
    expect(() => parseRegions(file, '// #region notebook:a\nconst a = 1;')).toThrow(/a\.ts:1: .*never closed/);
    expect(() => parseRegions(file, 'const a = 1;\n// #endregion')).toThrow(/a\.ts:2: .*without a matching/);
    expect(() => parseRegions(file, 'class A {\n  // #region notebook:m\n  m() {}\n  // #endregion\n}')).toThrow(
      /a\.ts:2: region notebook:m starts indented/,
    );
    expect(() => parseRegions(file, '// #region notebook:a\n\n// #endregion')).toThrow(/notebook:a is empty/);
    expect(() => parseRegions(file, '// #region notebook:Basic_Block\nx;\n// #endregion')).toThrow(NotebookError);
  });
});

describe('regionCellSource', () => {
  const region = (text: string) => ({ id: 'r', file, text, span: [0, 0] as [number, number] });

  it('drops only the export keyword of top-level declarations (tslab exports every name itself)', () => {
    const text = 'export interface O {\n  export: boolean;\n}\nexport class A {\n  // export stays in comments\n}';
    expect(regionCellSource(region(text))).toBe(
      'interface O {\n  export: boolean;\n}\nclass A {\n  // export stays in comments\n}',
    );
  });

  it('refuses re-exports', () => {
    expect(() => regionCellSource(region("export { a } from './a.js';"))).toThrow(/re-exports/);
    expect(() => regionCellSource(region('export default class A {}'))).toThrow(/re-exports/);
  });
});
