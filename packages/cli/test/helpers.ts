import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { type HostTensor, parseNpy } from '@resnet/core';

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
