import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { RegionImports } from '../src/imports.js';
import { parseRegions, type Region } from '../src/regions.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function regionOf(root: string, file: string, id: string): Region {
  const region = parseRegions(file, readFileSync(join(root, file), 'utf8')).find((r) => r.id === id);
  if (!region) throw new Error(`no region ${id} in ${file}`);
  return region;
}

describe('RegionImports on the repository', () => {
  const file = 'packages/core/src/blocks/basic-block.ts';
  const imports = new RegionImports(repoRoot, [file]);
  const region = regionOf(repoRoot, file, 'basic-block');

  it("rewrites the file's relative imports to the package's public entry point", () => {
    const { source, imports: names, defines } = imports.cellFor(region, new Set());
    // The file's own import statements are the reference: every name they import appears in the
    // cell, and every relative path became the public entry point.
    const text = readFileSync(join(repoRoot, file), 'utf8');
    const imported = [...text.matchAll(/^import (?:type )?\{([^}]*)\} from '\.{1,2}\/[^']*';$/gm)]
      .flatMap((m) => (m[1] ?? '').split(','))
      .map((n) => n.trim().replace(/^type /, ''))
      .filter((n) => n.length > 0);
    expect(imported.length).toBeGreaterThan(3);
    if (source === null) throw new Error('expected an import cell for basic-block.ts');
    const lines = source.split('\n');
    expect(lines[0]).toBe(
      "// What packages/core/src/blocks/basic-block.ts imports, from the packages' public entry points.",
    );
    expect(lines).toContain("import * as tf from '@tensorflow/tfjs-core';");
    expect(lines.at(-1)).toBe("} from '@resnet/core';");
    const cellNames = lines
      .slice(3, -1)
      .map((l) =>
        l
          .trim()
          .replace(/,$/, '')
          .replace(/^type /, ''),
      )
      .sort();
    expect(cellNames).toEqual([...imported].sort());
    expect(source).not.toMatch(/from '\./);
    expect(names).toContain('addResidual');
    expect(defines).toEqual(['BasicBlockOptions', 'BasicBlock']);
  });

  it("does not import what the notebook already defines, so the region uses the notebook's own", () => {
    const { source } = imports.cellFor(region, new Set(['addResidual', 'tf']));
    expect(source).not.toMatch(/addResidual|tfjs-core/);
  });
});

describe('RegionImports errors', () => {
  const root = mkdtempSync(join(tmpdir(), 'notebook-imports-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('packages/pkg/package.json', JSON.stringify({ name: '@demo/pkg', exports: { '.': {}, './node': {} } }));
  write('packages/pkg/src/index.ts', "export { published } from './helpers.js';\n");
  write('packages/pkg/src/node.ts', "export { nodeOnly } from './helpers.js';\n");
  write(
    'packages/pkg/src/helpers.ts',
    'export const published = 1;\nexport const hidden = 2;\nexport const nodeOnly = 3;\n',
  );
  write(
    'packages/pkg/src/a.ts',
    [
      "import { hidden, nodeOnly, published } from './helpers.js';",
      'const local = 4;',
      '// #region notebook:uses-published',
      'export const a = published + nodeOnly;',
      '// #endregion',
      '// #region notebook:uses-hidden',
      'export const b = hidden;',
      '// #endregion',
      '// #region notebook:uses-local',
      'export const c = local;',
      '// #endregion',
    ].join('\n'),
  );
  const file = 'packages/pkg/src/a.ts';
  const imports = new RegionImports(root, [file]);

  it('maps names to the entry point that publishes them', () => {
    expect(imports.cellFor(regionOf(root, file, 'uses-published'), new Set()).source).toContain(
      "import { nodeOnly } from '@demo/pkg/node';\nimport { published } from '@demo/pkg';",
    );
  });

  it('refuses a name no entry point publishes, and says where to export it', () => {
    expect(() => imports.cellFor(regionOf(root, file, 'uses-hidden'), new Set())).toThrow(
      /uses hidden from '\.\/helpers\.js', which no public entry of @demo\/pkg exports; export it from packages\/pkg\/src\/index\.ts/,
    );
  });

  it('refuses a private name declared beside the region unless an earlier region defined it', () => {
    expect(() => imports.cellFor(regionOf(root, file, 'uses-local'), new Set())).toThrow(
      /uses local, which packages\/pkg\/src\/a\.ts declares outside the region/,
    );
    expect(imports.cellFor(regionOf(root, file, 'uses-local'), new Set(['local'])).source).toBeNull();
  });
});
