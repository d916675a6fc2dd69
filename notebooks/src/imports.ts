import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { NotebookError } from './errors.js';
import type { Region } from './regions.js';

/** One name a region needs from outside itself. */
interface NeededImport {
  /** Where the notebook imports it from: a package entry point, never a relative path. */
  module: string;
  kind: 'named' | 'namespace' | 'default';
  /** The name the module exports (for named imports). */
  imported: string;
  /** The name the region's code uses. */
  local: string;
  typeOnly: boolean;
  /** Where the source file imports it (imports keep the file's order). */
  position: number;
}

/** A package's public entry points: `@resnet/core` → src/index.ts, `@resnet/core/node` → src/node.ts. */
interface Entry {
  specifier: string;
  file: string;
}

/**
 * Works out what a region needs before it can run in a notebook cell: the names its file
 * imports, rewritten to the packages' public entry points (a relative `../errors.js` becomes
 * `@resnet/core`), after checking with the TypeScript checker that the public export is the very
 * declaration the file imports.
 */
export class RegionImports {
  private readonly program: ts.Program;
  private readonly checker: ts.TypeChecker;
  private readonly entries = new Map<string, Entry[]>();

  constructor(
    private readonly repoRoot: string,
    regionFiles: string[],
  ) {
    const entryFiles: string[] = [];
    const packagesDir = join(repoRoot, 'packages');
    for (const name of readdirSync(packagesDir)) {
      const dir = join(packagesDir, name);
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const entries = packageEntries(dir, JSON.parse(readFileSync(manifest, 'utf8')));
      this.entries.set(dir, entries);
      entryFiles.push(...entries.map((e) => e.file));
    }
    this.program = ts.createProgram({
      rootNames: [...entryFiles, ...regionFiles.map((f) => resolve(repoRoot, f))],
      options: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        strict: true,
        skipLibCheck: true,
        noEmit: true,
        types: [],
      },
    });
    this.checker = this.program.getTypeChecker();
  }

  /**
   * The import cell for `region` (null when it needs nothing new), the names it imports and the
   * names the region defines. `bound` holds the names the notebook already has (earlier regions and imports);
   * they are not imported again, so a region uses the notebook's own earlier definitions.
   */
  cellFor(region: Region, bound: ReadonlySet<string>): { source: string | null; imports: string[]; defines: string[] } {
    const path = resolve(this.repoRoot, region.file);
    const sourceFile = this.program.getSourceFile(path);
    if (!sourceFile) throw new NotebookError(`cannot read ${region.file} for region notebook:${region.id}`);
    const [start, end] = region.span;
    const inRegion = (node: ts.Node) => node.getStart(sourceFile) >= start && node.getEnd() <= end;
    const topLevel = sourceFile.statements;
    const defines = topLevel.filter(inRegion).flatMap(declaredNames);
    const definedHere = new Set(defines);
    const needed = new Map<string, NeededImport>();

    const visit = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && !definedHere.has(node.text) && !bound.has(node.text) && !needed.has(node.text)) {
        const need = this.resolveIdentifier(node, sourceFile, region, inRegion);
        if (need) needed.set(node.text, need);
      }
      ts.forEachChild(node, visit);
    };
    for (const statement of topLevel) if (inRegion(statement)) visit(statement);

    return {
      source: needed.size === 0 ? null : formatImports(region.file, [...needed.values()]),
      imports: [...needed.keys()],
      defines,
    };
  }

  private resolveIdentifier(
    node: ts.Identifier,
    sourceFile: ts.SourceFile,
    region: Region,
    inRegion: (node: ts.Node) => boolean,
  ): NeededImport | null {
    const symbol = this.checker.getSymbolAtLocation(node);
    const declaration = symbol?.declarations?.[0];
    if (!symbol || !declaration || declaration.getSourceFile() !== sourceFile) return null;
    if (inRegion(declaration)) return null;
    const importDeclaration = findAncestor(declaration, ts.isImportDeclaration);
    if (!importDeclaration) {
      if (declaration.parent !== sourceFile && !isTopLevelVariable(declaration, sourceFile)) return null;
      // Declared beside the region in the same file: the notebook imports it if the package publishes it.
      const published = this.publicExport(sourceFile.fileName, symbol);
      if (!published) {
        throw new NotebookError(
          `region notebook:${region.id} uses ${node.text}, which ${region.file} declares outside the region and does not export publicly; ` +
            `show ${node.text} in an earlier region of the notebook or widen this one`,
        );
      }
      const typeOnly = !(symbol.flags & ts.SymbolFlags.Value);
      const position = declaration.getStart(sourceFile);
      return {
        module: published.module,
        kind: 'named',
        imported: published.name,
        local: node.text,
        typeOnly,
        position,
      };
    }
    const from = (importDeclaration.moduleSpecifier as ts.StringLiteral).text;
    const clause = importDeclaration.importClause;
    const typeOnly = Boolean(clause?.isTypeOnly) || (ts.isImportSpecifier(declaration) && declaration.isTypeOnly);
    const local = node.text;
    const position = declaration.getStart(sourceFile);
    if (ts.isNamespaceImport(declaration)) {
      if (from.startsWith('.')) {
        throw new NotebookError(
          `region notebook:${region.id}: ${region.file} imports * as ${local} from a relative path; import names from it instead`,
        );
      }
      return { module: from, kind: 'namespace', imported: '*', local, typeOnly, position };
    }
    if (ts.isImportClause(declaration)) {
      if (from.startsWith('.')) {
        throw new NotebookError(
          `region notebook:${region.id}: ${region.file} default-imports ${local}; use a named import`,
        );
      }
      return { module: from, kind: 'default', imported: 'default', local, typeOnly, position };
    }
    if (!ts.isImportSpecifier(declaration)) return null;
    const imported = (declaration.propertyName ?? declaration.name).text;
    if (!from.startsWith('.')) return { module: from, kind: 'named', imported, local, typeOnly, position };
    const publicName = this.publicExport(sourceFile.fileName, this.checker.getAliasedSymbol(symbol));
    if (!publicName) {
      const pkg = owningPackage(this.repoRoot, sourceFile.fileName);
      throw new NotebookError(
        `region notebook:${region.id} uses ${local} from '${from}', which no public entry of ${pkg.name} exports; ` +
          `export it from ${relative(this.repoRoot, join(pkg.dir, 'src/index.ts'))} or move it into the region`,
      );
    }
    return { module: publicName.module, kind: 'named', imported: publicName.name, local, typeOnly, position };
  }

  /** The entry point and name under which the package that holds `file` publishes `target`. */
  private publicExport(file: string, target: ts.Symbol): { module: string; name: string } | null {
    const pkg = owningPackage(this.repoRoot, file);
    for (const entry of this.entries.get(pkg.dir) ?? []) {
      const entryFile = this.program.getSourceFile(entry.file);
      const moduleSymbol = entryFile && this.checker.getSymbolAtLocation(entryFile);
      if (!moduleSymbol) continue;
      for (const exported of this.checker.getExportsOfModule(moduleSymbol)) {
        const resolved = exported.flags & ts.SymbolFlags.Alias ? this.checker.getAliasedSymbol(exported) : exported;
        if (resolved === target) return { module: entry.specifier, name: exported.name };
      }
    }
    return null;
  }
}

function packageEntries(dir: string, manifest: { name: string; exports?: Record<string, unknown> }): Entry[] {
  const entries: Entry[] = [];
  for (const key of Object.keys(manifest.exports ?? { '.': null })) {
    if (key.endsWith('.json')) continue;
    const file = key === '.' ? join(dir, 'src/index.ts') : join(dir, 'src', `${key.slice(2)}.ts`);
    if (existsSync(file))
      entries.push({ specifier: key === '.' ? manifest.name : `${manifest.name}${key.slice(1)}`, file });
  }
  return entries;
}

function owningPackage(repoRoot: string, file: string): { name: string; dir: string } {
  const parts = relative(join(repoRoot, 'packages'), file).split(sep);
  const dir = join(repoRoot, 'packages', parts[0] as string);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string };
  return { name: manifest.name, dir };
}

function findAncestor<T extends ts.Node>(node: ts.Node, test: (n: ts.Node) => n is T): T | null {
  for (let n: ts.Node | undefined = node; n; n = n.parent) if (test(n)) return n;
  return null;
}

function isTopLevelVariable(declaration: ts.Declaration, sourceFile: ts.SourceFile): boolean {
  return ts.isVariableDeclaration(declaration) && declaration.parent.parent.parent === sourceFile;
}

/** Names a top-level statement declares (class, function, interface, type, enum, const/let). */
function declaredNames(statement: ts.Statement): string[] {
  if (ts.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((d) => (ts.isIdentifier(d.name) ? [d.name.text] : []));
  }
  const name = (statement as { name?: ts.Node }).name;
  return name && ts.isIdentifier(name) ? [name.text] : [];
}

/** The import cell: one line per module, in the order the source file first imports from it. */
function formatImports(file: string, needed: NeededImport[]): string {
  const byModule = new Map<string, NeededImport[]>();
  for (const n of [...needed].sort((a, b) => a.position - b.position))
    byModule.set(n.module, [...(byModule.get(n.module) ?? []), n]);
  const lines = [`// What ${file.split(sep).join('/')} imports, from the packages' public entry points.`];
  for (const [module, names] of byModule) {
    for (const n of names.filter((x) => x.kind !== 'named')) {
      const binding = n.kind === 'namespace' ? `* as ${n.local}` : n.local;
      lines.push(`import ${n.typeOnly ? 'type ' : ''}${binding} from '${module}';`);
    }
    const named = names.filter((x) => x.kind === 'named');
    if (named.length === 0) continue;
    const specifiers = named.map(
      (n) => `${n.typeOnly ? 'type ' : ''}${n.imported === n.local ? n.local : `${n.imported} as ${n.local}`}`,
    );
    const oneLine = `import { ${specifiers.join(', ')} } from '${module}';`;
    lines.push(
      oneLine.length <= 120 ? oneLine : `import {\n${specifiers.map((s) => `  ${s},`).join('\n')}\n} from '${module}';`,
    );
  }
  return lines.join('\n');
}
