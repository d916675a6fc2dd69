import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { type ContentBlock, parseContent } from './content.js';
import { NotebookError } from './errors.js';
import { RegionImports } from './imports.js';
import { newNotebook, type Notebook } from './notebook.js';
import { collectRegions, type Region, regionCellSource } from './regions.js';

/** A notebook as the generator builds it from its content file and the packages' regions. */
export interface GeneratedNotebook {
  /** `01-residual-learning`. */
  name: string;
  /** Content file, relative to the repository root. */
  contentFile: string;
  /** The .ipynb path, absolute. */
  path: string;
  notebook: Notebook;
}

export const NOTEBOOKS_DIR = 'notebooks';
const CONTENT_DIR = join(NOTEBOOKS_DIR, 'content');

/** Builds every notebook (without outputs). Every region must be shown by some notebook. */
export function generateNotebooks(repoRoot: string): GeneratedNotebook[] {
  const contentDir = join(repoRoot, CONTENT_DIR);
  const files = readdirSync(contentDir)
    .filter((f) => f.endsWith('.md'))
    .sort();
  const contents = files.map((f) => {
    const contentFile = join(CONTENT_DIR, f);
    return {
      name: basename(f, '.md'),
      contentFile,
      blocks: parseContent(contentFile, readFileSync(join(repoRoot, contentFile), 'utf8')),
    };
  });
  const regions = collectRegions(repoRoot);
  const used = new Set(contents.flatMap((c) => c.blocks.flatMap((b) => (b.kind === 'source' ? [b.id] : []))));
  for (const id of used) {
    if (!regions.has(id)) {
      const where = contents.find((c) => c.blocks.some((b) => b.kind === 'source' && b.id === id))?.contentFile;
      throw new NotebookError(
        `${where} shows region notebook:${id}, which no file under packages/*/src marks; add // #region notebook:${id} … // #endregion around the code`,
      );
    }
  }
  for (const region of regions.values()) {
    if (!used.has(region.id)) {
      throw new NotebookError(
        `${region.file} marks region notebook:${region.id}, but no notebook shows it; add <!-- source: ${region.id} --> to a file in ${CONTENT_DIR} or remove the markers`,
      );
    }
  }
  const imports = new RegionImports(repoRoot, [...new Set([...regions.values()].map((r) => r.file))]);
  return contents.map(({ name, contentFile, blocks }) => ({
    name,
    contentFile,
    path: join(repoRoot, NOTEBOOKS_DIR, `${name}.ipynb`),
    notebook: buildNotebook(blocks, regions, imports),
  }));
}

function buildNotebook(blocks: ContentBlock[], regions: Map<string, Region>, imports: RegionImports): Notebook {
  const cells: { type: 'markdown' | 'code'; source: string }[] = [];
  const bound = new Set<string>();
  for (const block of blocks) {
    if (block.kind !== 'source') {
      cells.push({ type: block.kind, source: block.text });
      continue;
    }
    const region = regions.get(block.id) as Region;
    const link = relative(NOTEBOOKS_DIR, region.file).split('\\').join('/');
    cells.push({
      type: 'markdown',
      source: `<small>Source: [\`${region.file}\`](${link}), region \`notebook:${region.id}\`, as the package builds it.</small>`,
    });
    const needs = imports.cellFor(region, bound);
    if (needs.source) cells.push({ type: 'code', source: needs.source });
    cells.push({ type: 'code', source: regionCellSource(region) });
    for (const name of [...needs.imports, ...needs.defines]) bound.add(name);
  }
  return newNotebook(cells);
}
