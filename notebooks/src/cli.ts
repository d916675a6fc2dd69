#!/usr/bin/env node
/**
 * The notebooks' one entry point (root scripts `notebooks:*`):
 *   setup [--checkout-only]
 *                       install Debian's Jupyter when missing, register this checkout's tslab kernels
 *                       for this user (any Jupyter started in the checkout offers them) and for the
 *                       checkout's own runs (or only the latter)
 *   generate [name…]    rebuild notebooks from notebooks/content and the source regions, execute
 *                       them and write them with their outputs
 *   check               fail when a committed notebook differs from what `generate` would write
 *   test [name…]        execute every committed notebook; fail on any error or stderr output
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NotebookError } from './errors.js';
import { type GeneratedNotebook, generateNotebooks, NOTEBOOKS_DIR } from './generate.js';
import { executeNotebook, findKernels, inParallel, registerKernel, tslabBinary } from './jupyter.js';
import { cellText, forCommit, type Notebook, problemsOf, serializeNotebook, withoutOutputs } from './notebook.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const scratch = join(repoRoot, '.cache', 'notebooks');

function select(all: GeneratedNotebook[], names: string[]): GeneratedNotebook[] {
  if (names.length === 0) return all;
  return names.map((wanted) => {
    const found = all.filter((n) => n.name === wanted || n.name.startsWith(`${wanted}-`));
    if (found.length !== 1) {
      throw new NotebookError(
        `no single notebook matches ${JSON.stringify(wanted)}; name one of ${all.map((n) => n.name).join(', ')} (or its number)`,
      );
    }
    return found[0] as GeneratedNotebook;
  });
}

function readNotebook(path: string): Notebook {
  return JSON.parse(readFileSync(path, 'utf8')) as Notebook;
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

async function setup(args: string[]): Promise<void> {
  // --user was the opt-in before registering for the user became the default; it is accepted.
  const unknown = args.filter((a) => a !== '--checkout-only' && a !== '--user');
  if (unknown.length > 0) throw new NotebookError(`setup: unknown option ${unknown[0]}; use setup [--checkout-only]`);
  const user = !args.includes('--checkout-only');
  const deps = (await import(pathToFileURL(join(repoRoot, 'scripts', 'system-deps.mjs')).href)) as {
    installSystemPackages(groups: string[], log: (m: string) => void): boolean;
  };
  if (!deps.installSystemPackages(['notebooks'], (m) => console.log(`notebooks: ${m}`))) {
    throw new NotebookError(
      "could not install Debian's Jupyter; run `apt-get install jupyter-nbconvert jupyter-client python3-ipython` as root",
    );
  }
  const { dirs, replaced } = registerKernel(repoRoot, { user });
  const [own, forUser] = dirs;
  console.log(`notebooks: tslab kernels (TypeScript and JavaScript) registered for ${repoRoot}`);
  if (forUser) console.log(`  in ${forUser}: any Jupyter you start (jupyter notebook, jupyter lab) offers them`);
  console.log(`  in ${own}: notebooks:test and notebooks:generate run this one, whatever else is registered`);
  if (replaced) console.log(`notebooks: the user's tslab kernel started ${replaced}; it now starts this checkout's`);
  if (!user) return;
  // What a Jupyter started in the checkout finds, as a new user's would.
  const found = findKernels(repoRoot).get('tslab');
  if (found?.argv[0] !== tslabBinary(repoRoot)) {
    throw new NotebookError(
      `a Jupyter started here finds ${found ? `another tslab kernel first (${found.resourceDir}, starting ${found.argv[0]}): remove it, or unset the JUPYTER_PATH that points there` : 'no tslab kernel'}`,
    );
  }
  console.log('notebooks: open them with `jupyter notebook notebooks/` (or `jupyter lab`) and the TypeScript kernel');
}

/** Notebooks executed at once: one per core, at most two (each run is single-threaded). */
const PARALLEL = Math.min(2, availableParallelism());

async function generate(names: string[]): Promise<void> {
  const notebooks = select(generateNotebooks(repoRoot), names);
  registerKernel(repoRoot);
  const outcomes = await inParallel(notebooks, PARALLEL, async (nb) => {
    // Executed from a pending file beside the final one (the kernel's folder matters for
    // ./lib imports); the committed notebook is replaced only after a clean run.
    const pending = join(dirname(nb.path), `.${nb.name}.pending.ipynb`);
    writeFileSync(pending, serializeNotebook(nb.notebook));
    try {
      let run: Awaited<ReturnType<typeof executeNotebook>>;
      try {
        run = await executeNotebook(repoRoot, pending, join(scratch, `${nb.name}.ipynb`));
      } catch (e) {
        if (!(e instanceof NotebookError)) throw e;
        console.error(`notebooks: ${nb.name} not written: ${e.message}`);
        return false;
      }
      const { notebook, seconds } = run;
      const problems = problemsOf(notebook);
      if (problems.length > 0) {
        console.error(`notebooks: ${nb.name} not written, its run failed:\n  ${problems.join('\n  ')}`);
        return false;
      }
      writeAtomic(nb.path, serializeNotebook(forCommit(notebook)));
      console.log(`notebooks: wrote ${NOTEBOOKS_DIR}/${nb.name}.ipynb (executed in ${seconds.toFixed(1)} s)`);
      return true;
    } finally {
      rmSync(pending, { force: true });
    }
  });
  if (outcomes.includes(false)) process.exitCode = 1;
}

/** The first cell where two notebooks (without outputs) differ, for the check's message. */
function firstDifference(committed: Notebook, generated: Notebook): string {
  const n = Math.max(committed.cells.length, generated.cells.length);
  for (let i = 0; i < n; i++) {
    const a = committed.cells[i];
    const b = generated.cells[i];
    if (!a || !b) return `it has ${committed.cells.length} cells, the generator makes ${generated.cells.length}`;
    if (a.cell_type !== b.cell_type || cellText(a) !== cellText(b)) {
      const line = cellText(b).split('\n')[0]?.slice(0, 80);
      return `cell ${i + 1} differs (the generator's starts: ${JSON.stringify(line)})`;
    }
    if (a.id !== b.id) return `cell ${i + 1} has id ${a.id}, the generator gives ${b.id}`;
  }
  return 'its metadata differs';
}

function check(): void {
  const notebooks = generateNotebooks(repoRoot);
  const problems: string[] = [];
  for (const nb of notebooks) {
    const file = `${NOTEBOOKS_DIR}/${nb.name}.ipynb`;
    if (!existsSync(nb.path)) {
      problems.push(`${file} is missing; run \`pnpm notebooks:generate ${nb.name}\``);
      continue;
    }
    const committed = readNotebook(nb.path);
    if (serializeNotebook(withoutOutputs(committed)) !== serializeNotebook(nb.notebook)) {
      problems.push(
        `${file} is stale: ${firstDifference(committed, nb.notebook)}; run \`pnpm notebooks:generate ${nb.name}\``,
      );
      continue;
    }
    const unexecuted = committed.cells.filter((c) => c.cell_type === 'code' && typeof c.execution_count !== 'number');
    if (unexecuted.length > 0) {
      problems.push(
        `${file} has ${unexecuted.length} code cells without outputs; run \`pnpm notebooks:generate ${nb.name}\``,
      );
    }
    for (const p of problemsOf(committed)) problems.push(`${file}: ${p}`);
  }
  const known = new Set(notebooks.map((n) => `${n.name}.ipynb`));
  for (const f of readdirSync(join(repoRoot, NOTEBOOKS_DIR))) {
    if (f.endsWith('.ipynb') && !f.startsWith('.') && !known.has(f)) {
      problems.push(
        `${NOTEBOOKS_DIR}/${f} has no content file in ${NOTEBOOKS_DIR}/content; delete it or add its content`,
      );
    }
  }
  if (problems.length > 0) throw new NotebookError(problems.join('\n'));
  console.log(`notebooks: ${notebooks.length} notebooks match their content files and source regions`);
}

async function test(names: string[]): Promise<void> {
  const notebooks = select(generateNotebooks(repoRoot), names);
  for (const nb of notebooks) {
    if (!existsSync(nb.path))
      throw new NotebookError(`${nb.path} is missing; run \`pnpm notebooks:generate ${nb.name}\``);
  }
  registerKernel(repoRoot);
  const started = performance.now();
  const outcomes = await inParallel(notebooks, PARALLEL, async (nb) => {
    let run: Awaited<ReturnType<typeof executeNotebook>>;
    try {
      run = await executeNotebook(repoRoot, nb.path, join(scratch, 'test', `${nb.name}.ipynb`));
    } catch (e) {
      if (!(e instanceof NotebookError)) throw e;
      console.log(`  ✗ ${nb.name}\n      ${e.message}`);
      return false;
    }
    const { notebook, seconds } = run;
    const problems = problemsOf(notebook);
    const mark = problems.length === 0 ? '✓' : '✗';
    console.log(`  ${mark} ${nb.name} (${seconds.toFixed(1)} s)${problems.map((p) => `\n      ${p}`).join('')}`);
    return problems.length === 0;
  });
  const passed = outcomes.filter(Boolean).length;
  const wall = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`notebooks: ${notebooks.length} executed in ${wall} s, ${PARALLEL} at a time`);
  console.log(`notebooks: ${passed} passed, ${outcomes.length - passed} failed`);
  if (passed < outcomes.length) process.exitCode = 1;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'setup') return setup(args);
  if (command === 'generate') return generate(args);
  if (command === 'check') return check();
  if (command === 'test') return test(args);
  throw new NotebookError(
    `unknown command ${JSON.stringify(command ?? '')}; use setup [--checkout-only], generate [name…], check or test [name…]`,
  );
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (!(e instanceof NotebookError)) throw e;
  console.error(`notebooks: ${e.message}`);
  process.exitCode = 1;
});
