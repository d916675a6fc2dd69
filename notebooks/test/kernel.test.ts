import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findKernels } from '../src/jupyter.js';

// `pnpm notebooks:setup` as a new user runs it: the built CLI, a home directory Jupyter has never
// seen and no Jupyter variables (the test runner's own environment is left out), then Debian's
// Jupyter asked from the checkout which kernels it offers, and a notebook executed with one.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const cli = join(repoRoot, 'notebooks', 'dist', 'cli.js');
const ourTslab = join(repoRoot, 'notebooks', 'node_modules', '.bin', 'tslab');
const homes: string[] = [];

afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

/** The environment of a user who has never used Jupyter. */
function newUser(): NodeJS.ProcessEnv & { HOME: string } {
  const home = mkdtempSync(join(tmpdir(), 'resnet-notebooks-home-'));
  homes.push(home);
  return { PATH: process.env.PATH, HOME: home, LANG: 'C.UTF-8' };
}

function setup(env: NodeJS.ProcessEnv, ...args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'setup', ...args], { cwd: repoRoot, env, encoding: 'utf8' });
  expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

const userKernels = (home: string) => join(home, '.local', 'share', 'jupyter', 'kernels');

describe('pnpm notebooks:setup, for a new user', () => {
  const env = newUser();
  let before: string | undefined;
  let out: string;
  beforeAll(() => {
    before = findKernels(repoRoot, env).get('tslab')?.argv[0];
    out = setup(env);
  });

  it('registers the TypeScript and JavaScript kernels where a Jupyter started in the checkout finds them', () => {
    expect(before).not.toBe(ourTslab);
    expect(out).toContain(userKernels(env.HOME));
    for (const cwd of [repoRoot, join(repoRoot, 'notebooks')]) {
      const kernels = findKernels(cwd, env);
      for (const name of ['tslab', 'jslab']) {
        expect([name, kernels.get(name)?.argv[0]]).toEqual([name, ourTslab]);
        expect(kernels.get(name)?.resourceDir).toBe(join(userKernels(env.HOME), name));
      }
    }
  });

  it('gives a kernel that runs TypeScript in a notebook executed by that user’s Jupyter', () => {
    const dir = mkdtempSync(join(tmpdir(), 'resnet-notebooks-run-'));
    homes.push(dir);
    const notebook = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: { kernelspec: { name: 'tslab', display_name: 'TypeScript', language: 'typescript' } },
      cells: [
        {
          cell_type: 'code',
          id: 'answer',
          metadata: {},
          execution_count: null,
          outputs: [],
          source: 'const answer: number = 6 * 7;\nanswer',
        },
      ],
    };
    writeFileSync(join(dir, 'in.ipynb'), JSON.stringify(notebook));
    const r = spawnSync(
      '/usr/bin/jupyter-nbconvert',
      ['--to', 'notebook', '--execute', '--ExecutePreprocessor.timeout=120', '--output=out', join(dir, 'in.ipynb')],
      { cwd: repoRoot, env, encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const executed = JSON.parse(readFileSync(join(dir, 'out.ipynb'), 'utf8'));
    // tslab shows a cell's last value on stdout.
    expect(executed.cells[0].outputs).toEqual([{ name: 'stdout', output_type: 'stream', text: ['42\n'] }]);
  });

  it('takes the user’s tslab kernel over from another checkout, and says so', () => {
    const env = newUser();
    const elsewhere = '/elsewhere/resnet/notebooks/node_modules/.bin/tslab';
    mkdirSync(join(userKernels(env.HOME), 'tslab'), { recursive: true });
    writeFileSync(
      join(userKernels(env.HOME), 'tslab', 'kernel.json'),
      JSON.stringify({ argv: [elsewhere, 'kernel', '--config-path', '{connection_file}'], display_name: 'TypeScript' }),
    );
    expect(findKernels(repoRoot, env).get('tslab')?.argv[0]).toBe(elsewhere);
    expect(setup(env)).toContain(`the user's tslab kernel started ${elsewhere}; it now starts this checkout's`);
    expect(findKernels(repoRoot, env).get('tslab')?.argv[0]).toBe(ourTslab);
  });

  it('with --checkout-only, registers for the checkout’s own runs and leaves the user’s kernels alone', () => {
    const env = newUser();
    setup(env, '--checkout-only');
    expect(existsSync(userKernels(env.HOME))).toBe(false);
    const own = join(repoRoot, '.cache', 'jupyter', 'share', 'jupyter');
    expect(findKernels(repoRoot, { ...env, JUPYTER_PATH: own }).get('tslab')?.argv[0]).toBe(ourTslab);
  });

  it('rejects an unknown option with the ones it takes', () => {
    const r = spawnSync(process.execPath, [cli, 'setup', '--global'], {
      cwd: repoRoot,
      env: newUser(),
      encoding: 'utf8',
    });
    expect([r.status, r.stderr.trim()]).toEqual([
      1,
      'notebooks: setup: unknown option --global; use setup [--checkout-only]',
    ]);
  });
});
