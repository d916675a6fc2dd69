import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { type HostTensor, parseNpy } from '@resnet/core';
import { expect } from 'vitest';

/** The built bin, run in a child process as a user runs it. */
export const BIN = resolve(import.meta.dirname, '../dist/bin.js');
const run = promisify(execFile);

export async function resnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return resnetWithEnv({}, ...args);
}

/** `resnet` with extra environment variables (RESNET_HOME, RESNET_WEIGHTS_MIRROR, ...). */
export async function resnetWithEnv(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

export const readNpy = (path: string): HostTensor => parseNpy(new Uint8Array(readFileSync(path)));

/** The last line of stdout (where --json puts its result). */
export const lastLine = (stdout: string): string => stdout.trimEnd().split('\n').at(-1) as string;

/** Every file under a folder, recursively, relative to it ([] when it does not exist). */
export const filesUnder = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String).sort() : [];

/** A refusal as the CLI makes them: the exit code, one line on stderr matching `message`, no stack trace. */
export function expectRefusal(
  r: { code: number; stdout: string; stderr: string },
  code: number,
  message: RegExp,
): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}
