import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { NotebookError } from './errors.js';
import type { Notebook } from './notebook.js';

/** Debian's Python, which has Jupyter (the `notebooks` group of scripts/system-deps.mjs). */
export const PYTHON = '/usr/bin/python3';
const NBCONVERT = '/usr/bin/jupyter-nbconvert';
const KERNELSPEC = '/usr/bin/jupyter-kernelspec';
/** Seconds a single cell may run before nbconvert gives up (a notebook must stay under 3 minutes). */
const CELL_TIMEOUT_SECONDS = 300;

/** This checkout's Jupyter data directory: the tslab kernel registered for this checkout lives here. */
export function jupyterDataDir(repoRoot: string): string {
  return join(repoRoot, '.cache', 'jupyter');
}

/** The tslab command of this checkout, which its registered kernels start. */
export function tslabBinary(repoRoot: string): string {
  return join(repoRoot, 'notebooks', 'node_modules', '.bin', 'tslab');
}

/** What registering did. */
export interface KernelRegistration {
  /** The kernel directories written, each holding `tslab` (TypeScript) and `jslab` (JavaScript). */
  dirs: string[];
  /** The tslab command the user's kernel started before, when it was another checkout's. */
  replaced?: string;
}

/**
 * Registers the tslab kernels (TypeScript and JavaScript), which start this checkout's tslab:
 * - in the checkout's own Jupyter directory (`.cache/jupyter`), which `notebooks:test` and
 *   `notebooks:generate` put first on JUPYTER_PATH, so their runs never start another tslab;
 * - with `user`, also in the user's kernel registry (jupyter_core's `jupyter_data_dir()`,
 *   `~/.local/share/jupyter`), the one directory every Jupyter searches wherever it is started
 *   and however it was installed (Debian's, a virtualenv's, pip's JupyterLab). JUPYTER_PATH would
 *   need the variable in every shell, `--sys-prefix` is Debian's `/usr` (root's, shared by all
 *   users), and Jupyter no longer reads configuration from the working directory (CVE-2022-39286).
 */
export function registerKernel(repoRoot: string, options: { user?: boolean } = {}): KernelRegistration {
  const binary = tslabBinary(repoRoot);
  if (!existsSync(binary)) {
    throw new NotebookError(`tslab is not installed at ${binary}; run \`pnpm install\` at the repository root`);
  }
  requireJupyter();
  const registration: KernelRegistration = { dirs: [join(jupyterDataDir(repoRoot), 'share', 'jupyter', 'kernels')] };
  const targets = [[`--prefix=${jupyterDataDir(repoRoot)}`]];
  if (options.user) {
    const userKernels = join(userDataDir(), 'kernels');
    const previous = kernelCommand(join(userKernels, 'tslab', 'kernel.json'));
    if (previous !== undefined && previous !== binary) registration.replaced = previous;
    registration.dirs.push(userKernels);
    targets.push(['--user']);
  }
  for (const target of targets) {
    const r = spawnSync(binary, ['install', `--python=${PYTHON}`, `--binary=${binary}`, ...target], {
      encoding: 'utf8',
    });
    if (r.status !== 0) {
      throw new NotebookError(`\`tslab install\` failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
    }
  }
  return registration;
}

/** The user's Jupyter data directory, as Jupyter itself computes it (HOME, JUPYTER_DATA_DIR, XDG). */
function userDataDir(): string {
  const r = spawnSync(PYTHON, ['-c', 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new NotebookError(`cannot ask Jupyter for its data directory: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/** The command a kernel.json starts, or undefined when there is no readable spec. */
function kernelCommand(specPath: string): string | undefined {
  try {
    const argv = (JSON.parse(readFileSync(specPath, 'utf8')) as { argv?: unknown }).argv;
    return Array.isArray(argv) && typeof argv[0] === 'string' ? argv[0] : undefined;
  } catch {
    return undefined;
  }
}

/** A kernel as Jupyter finds it: the directory of its spec and the command it starts. */
export interface FoundKernel {
  resourceDir: string;
  argv: string[];
}

/**
 * The kernels, by name, that a Jupyter started in `cwd` with `env` offers: Debian's
 * `jupyter kernelspec list`, the same lookup every Jupyter front end makes.
 */
export function findKernels(cwd: string, env: NodeJS.ProcessEnv = process.env): Map<string, FoundKernel> {
  requireJupyter();
  const r = spawnSync(KERNELSPEC, ['list', '--json'], { cwd, env, encoding: 'utf8' });
  if (r.status !== 0) {
    throw new NotebookError(`\`jupyter kernelspec list\` failed (exit ${r.status}): ${(r.stderr || r.stdout).trim()}`);
  }
  const specs = (
    JSON.parse(r.stdout) as { kernelspecs: Record<string, { resource_dir: string; spec: { argv: string[] } }> }
  ).kernelspecs;
  return new Map(Object.entries(specs).map(([name, k]) => [name, { resourceDir: k.resource_dir, argv: k.spec.argv }]));
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
