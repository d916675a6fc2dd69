/**
 * Weights we trained and ship inside @resnet/zoo (`source: 'resnet'` entries): their bytes are a
 * float16 safetensors file embedded as base64 in a module of its own, imported only when asked
 * for (a separate chunk for bundlers; no file access, so Node, browsers and notebooks alike).
 */
import { type HostTensor, parseStateDict, ResNetError } from '@resnet/core';
import type { WeightsEntry } from './registry.js';

/** The embedded files by `arch/NAME`, each loaded on first use. */
const SHIPPED_FILES: Readonly<Record<string, () => Promise<{ readonly BASE64: string }>>> = {
  'resnet20/FASHION_MNIST': () => import('./resnet20-fashion-mnist-f16.js'),
};

/** The bytes of a base64 string (atob: Node ≥ 16, browsers, workers). */
function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return null; // an insecure browser context: the bundle is then trusted as it is
  const digest = new Uint8Array(await subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The state dict of a shipped entry (float16 widened to float32 exactly), its file checked against
 * the SHA-256 recorded in the entry's provenance.
 */
export async function shippedStateDict(
  entry: WeightsEntry,
): Promise<{ tensors: Map<string, HostTensor>; sha256: string | null }> {
  const load = SHIPPED_FILES[`${entry.arch}/${entry.name}`];
  if (entry.source !== 'resnet' || !load || !entry.provenance)
    throw new ResNetError(`${entry.arch} ${entry.name} is not a set of weights shipped inside @resnet/zoo`);
  const bytes = fromBase64((await load()).BASE64);
  const sha256 = await sha256Hex(bytes);
  if (sha256 !== null && sha256 !== entry.provenance.float16.sha256) {
    throw new ResNetError(
      `the embedded weights of ${entry.arch} ${entry.name} (${entry.fileName}) are damaged: SHA-256 ${sha256}, expected ${entry.provenance.float16.sha256}; reinstall @resnet/zoo`,
    );
  }
  return { tensors: parseStateDict(bytes).tensors, sha256 };
}
