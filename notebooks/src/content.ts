import { NotebookError } from './errors.js';

/**
 * A notebook's content file, `notebooks/content/NN-name.md`, is Markdown read top to bottom:
 * - prose becomes markdown cells;
 * - a ```ts fence becomes a code cell (other fences stay in the prose as examples);
 * - `<!-- source: basic-block -->` on its own line becomes the region `notebook:basic-block` of
 *   the packages' source, preceded by the imports it needs.
 */
export type ContentBlock =
  | { kind: 'markdown'; text: string }
  | { kind: 'code'; text: string }
  | { kind: 'source'; id: string };

const FENCE = /^```\s*([\w-]*)\s*$/;
const SOURCE_DIRECTIVE = /^<!--\s*source:\s*(\S+)\s*-->\s*$/;
const CODE_LANGUAGES = new Set(['ts', 'typescript']);

export function parseContent(file: string, text: string): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  let prose: string[] = [];
  let code: string[] | null = null;
  let otherFence = false;
  let codeStart = 0;

  const flushProse = () => {
    const trimmed = prose.join('\n').trim();
    if (trimmed !== '') blocks.push({ kind: 'markdown', text: trimmed });
    prose = [];
  };

  text.split('\n').forEach((line, index) => {
    const fence = FENCE.exec(line);
    if (code) {
      if (fence && fence[1] === '') {
        const body = code.join('\n').trim();
        if (body === '') throw new NotebookError(`${file}:${codeStart}: empty code cell; remove the fence`);
        blocks.push({ kind: 'code', text: body });
        code = null;
      } else {
        code.push(line);
      }
      return;
    }
    if (otherFence) {
      if (fence && fence[1] === '') otherFence = false;
      prose.push(line);
      return;
    }
    if (fence && CODE_LANGUAGES.has(fence[1] ?? '')) {
      flushProse();
      code = [];
      codeStart = index + 1;
      return;
    }
    if (fence) {
      otherFence = true;
      prose.push(line);
      return;
    }
    const directive = SOURCE_DIRECTIVE.exec(line);
    if (directive) {
      flushProse();
      blocks.push({ kind: 'source', id: directive[1] as string });
      return;
    }
    prose.push(line);
  });
  if (code) throw new NotebookError(`${file}:${codeStart}: code fence is never closed; add a line with \`\`\``);
  if (otherFence) throw new NotebookError(`${file}: a fence is never closed; add a line with \`\`\``);
  flushProse();
  if (blocks.length === 0) throw new NotebookError(`${file} is empty; write the notebook's text and cells in it`);
  return blocks;
}
