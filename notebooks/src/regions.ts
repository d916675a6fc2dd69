import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { NotebookError } from './errors.js';

/**
 * A piece of package source that a notebook shows and runs as a code cell. It is marked in the
 * source file itself, so the notebook can never drift from the code:
 *
 *     // #region notebook:basic-block
 *     ...real source...
 *     // #endregion
 */
export interface Region {
  /** The name after `notebook:`, unique across the repository. */
  id: string;
  /** Source file, relative to the repository root (`packages/core/src/blocks/basic-block.ts`). */
  file: string;
  /** The lines between the markers, exactly as in the file (nested markers left out). */
  text: string;
  /** Character offsets in the file of the region's first and past its last line. */
  span: [number, number];
}

const REGION_START = /^(\s*)\/\/ #region\b(?:\s+notebook:(\S+))?/;
const REGION_END = /^\s*\/\/ #endregion\b/;
const REGION_ID = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** The notebook regions of one source file, in file order. */
export function parseRegions(file: string, source: string): Region[] {
  const lines = source.split('\n');
  const open: { id: string | null; line: number; body: string[]; start: number }[] = [];
  let offset = 0;
  const done: (Region & { startLine: number })[] = [];
  lines.forEach((line, index) => {
    const lineStart = offset;
    offset += line.length + 1;
    const start = REGION_START.exec(line);
    if (start) {
      const [, indent, id] = start;
      if (id !== undefined) {
        if (!REGION_ID.test(id)) {
          throw new NotebookError(
            `${file}:${index + 1}: region name ${JSON.stringify(id)} must be lowercase words joined by hyphens (notebook:basic-block)`,
          );
        }
        if (indent !== '') {
          throw new NotebookError(
            `${file}:${index + 1}: region notebook:${id} starts indented; a notebook cell runs top-level code, so put the marker at column 0 around whole declarations`,
          );
        }
      }
      open.push({ id: id ?? null, line: index + 1, body: [], start: offset });
      return;
    }
    if (REGION_END.test(line)) {
      const closed = open.pop();
      if (!closed) throw new NotebookError(`${file}:${index + 1}: // #endregion without a matching // #region`);
      if (closed.id !== null) {
        done.push({
          id: closed.id,
          file,
          text: trimBlankLines(closed.body).join('\n'),
          span: [closed.start, lineStart],
          startLine: closed.line,
        });
      }
      return;
    }
    for (const region of open) region.body.push(line);
  });
  const unclosed = open.at(-1);
  if (unclosed) {
    throw new NotebookError(
      `${file}:${unclosed.line}: region ${unclosed.id ? `notebook:${unclosed.id} ` : ''}is never closed; add // #endregion`,
    );
  }
  for (const region of done) {
    if (region.text === '') throw new NotebookError(`${file}: region notebook:${region.id} is empty`);
  }
  return done.sort((a, b) => a.startLine - b.startLine).map(({ startLine: _, ...region }) => region);
}

function trimBlankLines(lines: string[]): string[] {
  let start = 0;
  let end = lines.length;
  while (start < end && (lines[start] as string).trim() === '') start++;
  while (end > start && (lines[end - 1] as string).trim() === '') end--;
  return lines.slice(start, end);
}

/** Every notebook region under `packages/<name>/src`, by id. Duplicate ids are an error. */
export function collectRegions(repoRoot: string): Map<string, Region> {
  const regions = new Map<string, Region>();
  const packagesDir = join(repoRoot, 'packages');
  for (const pkg of readdirSync(packagesDir, { withFileTypes: true })) {
    if (!pkg.isDirectory()) continue;
    for (const path of sourceFiles(join(packagesDir, pkg.name, 'src'))) {
      const file = relative(repoRoot, path);
      for (const region of parseRegions(file, readFileSync(path, 'utf8'))) {
        const previous = regions.get(region.id);
        if (previous) {
          throw new NotebookError(
            `region notebook:${region.id} is defined twice (${previous.file} and ${file}); rename one`,
          );
        }
        regions.set(region.id, region);
      }
    }
  }
  return regions;
}

function sourceFiles(dir: string): string[] {
  let entries: import('node:fs').Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return sourceFiles(path);
      return /\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
    });
}

/**
 * The region as a tslab cell. tslab exports every top-level name of a cell itself and rejects
 * an explicit `export`, so the `export` keyword of top-level declarations is the one thing left
 * out; every other character is the file's.
 */
export function regionCellSource(region: Region): string {
  return region.text
    .split('\n')
    .map((line, i) => {
      if (!line.startsWith('export ')) return line;
      const rest = line.slice('export '.length);
      if (/^(default\b|\{|\*)/.test(rest)) {
        throw new NotebookError(
          `${region.file}: region notebook:${region.id} line ${i + 1} (${line.trim()}) re-exports; a notebook region holds declarations only`,
        );
      }
      return rest;
    })
    .join('\n');
}
