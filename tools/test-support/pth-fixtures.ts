/**
 * The `.pth` fixtures written by torch.save (tools/fixtures/pth.py, Debian's torch): where they
 * are, what each one is, and the values torch loads from each. `pnpm fixtures` generates them into
 * `<fixtures>/pth` (or $RESNET_PTH_FIXTURES); a test that finds them missing or stale generates
 * them itself, so that one test file runs on its own. Files are named `<name>-<sha256[:8]>.pth`,
 * as torchvision names its checkpoints, ready to be served over HTTP.
 */
import { join, resolve } from 'node:path';
import { FIXTURES, generatedFixtures, REPO_ROOT } from './fixtures.js';

export interface PthFixture {
  /** File name inside the fixture folder, `<name>-<sha256[:8]>.pth`. */
  file: string;
  sha256: string;
  bytes: number;
  description: string;
  /** safetensors file (F32/I64) with the values torch loads, for files a reader must accept. */
  expected?: string;
  /** What a reader must refuse the file for ('legacy', 'global', 'truncated'...). */
  refusal?: string;
  /** For the malicious pickles: the file that running them would create. */
  marker?: string;
  /** For training checkpoints: the key holding the state_dict. */
  wrapper?: string;
  /** resnet18: its seeded input and torch's output, NCHW .npy files. */
  input?: string;
  output?: string;
}

export interface PthManifest {
  version: number;
  torch: string;
  torchvision: string;
  files: Record<string, PthFixture>;
}

export const PTH_FIXTURES = resolve(REPO_ROOT, process.env.RESNET_PTH_FIXTURES ?? join(FIXTURES, 'pth'));

/** The manifest of the `.pth` fixtures, generating them first when they are missing or stale. */
export function pthManifest(): PthManifest {
  return generatedFixtures<PthManifest>('tools/fixtures/pth.py', 'PTH_VERSION', PTH_FIXTURES);
}

/** Absolute path of a file of the fixture folder (a .pth, an expected .safetensors, a .npy). */
export function pthFixturePath(file: string): string {
  return join(PTH_FIXTURES, file);
}
