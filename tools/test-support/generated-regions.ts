/**
 * Generated regions of hand-written markdown: `<!-- generated:NAME -->` … `<!-- /generated:NAME -->`
 * hold what code computes. A test fails while a region is stale; with UPDATE_DOCS=1 it rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

export function checkGeneratedRegions(file: string, regions: Record<string, string>): void {
  const text = readFileSync(file, 'utf8');
  let updated = text;
  for (const [name, content] of Object.entries(regions)) {
    const pattern = new RegExp(`(<!-- generated:${name} -->\\n)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    expect(pattern.test(text), `region ${name} in ${file}`).toBe(true);
    updated = updated.replace(pattern, (_, start: string, end: string) => `${start}${content}\n${end}`);
  }
  if (process.env.UPDATE_DOCS) writeFileSync(file, updated);
  else expect(text, `stale generated regions in ${file}: rerun with UPDATE_DOCS=1`).toBe(updated);
}
