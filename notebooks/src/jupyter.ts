import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NotebookError } from './errors.js';
import type { Notebook } from './notebook.js';

/** Debian's Python, which has Jupyter (the `notebooks` group of scripts/system-deps.mjs). */
export const PYTHON = '/usr/bin/python3';
const NBCONVERT = '/usr/bin/jupyter-nbconvert';
/** Seconds a single cell may run before nbconvert gives up (a notebook must stay under 3 minutes). */
const CELL_TIMEOUT_SECONDS = 300;

/** This checkout's Jupyter data directory: the tslab kernel registered for this checkout lives here. */
export function jupyterDataDir(repoRoot: string): string {
  return join(repoRoot, '.cache', 'jupyter');
}

function tslabBinary(repoRoot: string): string {
  return join(repoRoot, 'notebooks', 'node_modules', '.bin', 'tslab');
}

/**
 * Registers the tslab kernel (TypeScript and JavaScript) with the tslab binary of this checkout,
 * in the checkout's own Jupyter directory, or with `user` also in the user's kernel registry so
 * that any Jupyter front end finds it.
 */
export function registerKernel(repoRoot: string, options: { user?: boolean } = {}): void {
  const binary = tslabBinary(repoRoot);
  if (!existsSync(binary)) {
    throw new NotebookError(`tslab is not installed at ${binary}; run \`pnpm install\` at the repository root`);
  }
  requireJupyter();
  const targets = [[`--prefix=${jupyterDataDir(repoRoot)}`], ...(options.user ? [['--user']] : [])];
  for (const target of targets) {
    const r = spawnSync(binary, ['install', `--python=${PYTHON}`, `--binary=${binary}`, ...target], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new NotebookError(`\`tslab install\` failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
    }
  }
}

/** Fails with the fix when Debian's Jupyter is missing. */
export function requireJupyter(): void {
  const present =
    existsSync(NBCONVERT) &&
    spawnSync(PYTHON, ['-c', 'import jupyter_client, IPython, nbconvert'], { stdio: 'ignore' }).status === 0;
  if (!present) {
    throw new NotebookError(
      'Jupyter is missing (jupyter-nbconvert, jupyter-client, python3-ipython); run `pnpm notebooks:setup`',
    );
  }
}

function kernelEnv(repoRoot: string): NodeJS.ProcessEnv {
  // Kernels registered for this checkout come first, so another checkout's tslab never runs here.
  const own = join(jupyterDataDir(repoRoot), 'share', 'jupyter');
  const rest = process.env.JUPYTER_PATH;
  return { ...process.env, JUPYTER_PATH: rest ? `${own}:${rest}` : own };
}

/**
 * Executes a notebook with nbconvert and returns the executed notebook. The kernel runs in the
 * notebook's folder (so `./lib/display` resolves); the result is written to `outputPath`.
 * Errors in cells do not stop the run: they stay in the outputs for `problemsOf` to report.
 */
export async function executeNotebook(
  repoRoot: string,
  inputPath: string,
  outputPath: string,
): Promise<{ notebook: Notebook; seconds: number }> {
  try {
    return await runNbconvert(repoRoot, inputPath, outputPath);
  } catch (e) {
    // tslab's kernel occasionally dies outside any cell (its compiler's file watcher throws
    // "Unexpected pending rebuildTimer", and the WASM backend turns any uncaught exception into
    // an exit). That says nothing about the notebook, so a death is retried once, visibly; a
    // cell that fails is never retried.
    if (!(e instanceof KernelDied)) throw e;
    console.warn(`notebooks: the kernel died running ${basename(inputPath)} (${e.message}); running it again`);
    return runNbconvert(repoRoot, inputPath, outputPath);
  }
}

class KernelDied extends NotebookError {}

async function runNbconvert(
  repoRoot: string,
  inputPath: string,
  outputPath: string,
): Promise<{ notebook: Notebook; seconds: number }> {
  requireJupyter();
  mkdirSync(dirname(outputPath), { recursive: true });
  rmSync(outputPath, { force: true });
  const started = performance.now();
  const args = [
    '--to',
    'notebook',
    '--execute',
    '--allow-errors',
    `--ExecutePreprocessor.timeout=${CELL_TIMEOUT_SECONDS}`,
    '--ExecutePreprocessor.kernel_name=tslab',
    `--output-dir=${dirname(outputPath)}`,
    `--output=${basename(outputPath)}`,
    inputPath,
  ];
  const child = spawn(NBCONVERT, args, { cwd: dirname(inputPath), env: kernelEnv(repoRoot) });
  let log = '';
  child.stdout.on('data', (chunk) => {
    log += chunk;
  });
  child.stderr.on('data', (chunk) => {
    log += chunk;
  });
  const status = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  const seconds = (performance.now() - started) / 1000;
  if (status !== 0 || !existsSync(outputPath)) {
    // The kernel's own messages come before nbconvert's traceback: keep the whole log.
    const logPath = outputPath.replace(/\.ipynb$/, '.log');
    writeFileSync(logPath, log);
    const last = log.trim().split('\n').at(-1);
    const Failure = /DeadKernelError/.test(log) ? KernelDied : NotebookError;
    throw new Failure(
      `nbconvert could not execute ${basename(inputPath)} (exit ${status}): ${last}; full log in ${logPath}`,
    );
  }
  return { notebook: JSON.parse(readFileSync(outputPath, 'utf8')) as Notebook, seconds };
}

/**
 * Runs `task` on every item, at most `limit` at a time (nbconvert and the kernel are each
 * single-threaded, so two notebooks use two cores), keeping the items' order in the results.
 */
export async function inParallel<T, R>(items: T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
