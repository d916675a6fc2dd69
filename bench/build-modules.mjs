// Loads the packages of one build of this repository, so a benchmark can run today's main beside
// this checkout (`--before DIR`, DIR a built checkout): everything is required (CommonJS builds)
// from DIR/bench, so @resnet/* and the tfjs they use all come from that build.
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** `require` for the packages of the checkout at `root` (default: this one). */
export function buildRequire(root) {
  return createRequire(join(resolve(root ?? join(HERE, '..')), 'bench', 'package.json'));
}
