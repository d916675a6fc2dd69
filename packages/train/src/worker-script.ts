import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ResNetError } from '@resnet/core';

/**
 * The URL of one of this package's worker scripts (`dist/<name>.js`): next to the running module
 * when built, or in the package's dist when running from source (tests).
 */
export function workerScript(name: string, base: string): URL {
  for (const candidate of [`./${name}.js`, `../dist/${name}.js`]) {
    const url = new URL(candidate, base);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new ResNetError(`the worker script dist/${name}.js is missing; build @resnet/train (pnpm build)`);
}
