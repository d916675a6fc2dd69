import { describe, expect, it } from 'vitest';
import { parseContent } from '../src/content.js';

describe('parseContent', () => {
  it('splits prose, ts code cells and source directives; other fences stay in the prose', () => {
    const text = [
      '# Title',
      '',
      'Some prose.',
      '```python',
      'print("shown, not run")',
      '```',
      '```ts',
      'const a = 1;',
      '```',
      '<!-- source: basic-block -->',
      'More prose.',
    ].join('\n');
    expect(parseContent('c.md', text)).toEqual([
      { kind: 'markdown', text: '# Title\n\nSome prose.\n```python\nprint("shown, not run")\n```' },
      { kind: 'code', text: 'const a = 1;' },
      { kind: 'source', id: 'basic-block' },
      { kind: 'markdown', text: 'More prose.' },
    ]);
  });

  it('refuses unclosed fences, empty cells and empty files', () => {
    expect(() => parseContent('c.md', '```ts\nconst a = 1;')).toThrow(/c\.md:1: code fence is never closed/);
    expect(() => parseContent('c.md', '```text\nx')).toThrow(/never closed/);
    expect(() => parseContent('c.md', '```ts\n\n```')).toThrow(/empty code cell/);
    expect(() => parseContent('c.md', '\n\n')).toThrow(/c\.md is empty/);
  });
});
