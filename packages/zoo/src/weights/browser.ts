/**
 * Weights in a browser (or any runtime with `fetch`): download with progress, verify with
 * SubtleCrypto's SHA-256 against the prefix in the file name, keep in the Cache API so that a
 * reload does not download again. No `node:` module here.
 */
import { ArgumentError, knownKeysOf, ResNetError } from '@resnet/core';
import { refusal, WeightsDownloadError, type WeightsDownloadContext } from './errors.js';
import { toHex } from './hash.js';
import { type DownloadProgress, download } from './http.js';
import type { WeightsEntry } from './registry.js';
import { weightsArgumentKind, weightsSource, type WeightsSourceOptions } from './source.js';

/** The Cache API cache that `fetchWeights` keeps files in by default. */
export const WEIGHTS_CACHE_NAME = 'resnet-weights';

export interface FetchWeightsOptions extends WeightsSourceOptions {
  /** Called for every chunk received. */
  onProgress?: (progress: DownloadProgress) => void;
  /** The Cache API cache to keep files in, or false for none. Default 'resnet-weights'. */
  cache?: string | false;
  /** Give up when no byte arrives for this long, in ms. Default 60 000. */
  stallTimeoutMs?: number;
  signal?: AbortSignal;
  /** The fetch to use. Default: the global one. */
  fetch?: typeof fetch;
}

/** Verified bytes of a weights file. */
export interface FetchedWeights {
  bytes: Uint8Array;
  url: string;
  fileName: string;
  /** The registry entry when the weights were named. */
  entry: WeightsEntry | null;
  /** Full SHA-256 in hex. */
  sha256: string;
  /** True when the bytes came from the Cache API without a request. */
  fromCache: boolean;
}

/** The options `fetchWeights` knows. */
export const FETCH_OPTION_KEYS = [
  'mirror',
  'allowUnverified',
  'onProgress',
  'cache',
  'stallTimeoutMs',
  'signal',
  'fetch',
] as const;

async function sha256(bytes: Uint8Array): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) {
    throw new ResNetError(
      'crypto.subtle is unavailable (browsers offer it only in secure contexts): serve the page over https or from localhost to verify weights',
    );
  }
  return toHex(new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>)));
}

async function openCache(name: string | false): Promise<Cache | null> {
  if (name === false || typeof globalThis.caches === 'undefined') return null;
  try {
    return await globalThis.caches.open(name);
  } catch {
    return null; // storage disabled (private mode, opaque origin): work without a cache
  }
}

/**
 * The verified bytes of `weights` for `arch`: a NAME of its torchvision entries or `DEFAULT` (the
 * default), or a URL (absolute, or relative to the page) whose file name carries its SHA-256
 * prefix (without one only with `allowUnverified`). Served from the Cache API when there, checked
 * again; otherwise fetched with progress, hashed, compared, then cached. A refused download
 * (hash, HTTP status, truncation, broken connection) caches nothing.
 */
export async function fetchWeights(
  arch: string,
  weights: string | WeightsEntry = 'DEFAULT',
  options: FetchWeightsOptions = {},
): Promise<FetchedWeights> {
  if (options === null || typeof options !== 'object') {
    throw new ArgumentError('options', 'an options object such as { onProgress }', options);
  }
  knownKeysOf('options', options as Record<string, unknown>, FETCH_OPTION_KEYS);
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const absolute =
    typeof weights === 'string' && weights.length > 0 && weightsArgumentKind(weights) === 'path' && base
      ? new URL(weights, base).href
      : weights;
  const source = weightsSource(arch, absolute, options);
  const cacheName = options.cache ?? WEIGHTS_CACHE_NAME;
  const context: WeightsDownloadContext = {
    url: source.url,
    fileName: source.fileName,
    destination: cacheName === false ? 'no cache' : `Cache API "${cacheName}"`,
    expected: source.sha256Prefix,
  };
  const fetched = (bytes: Uint8Array, digest: string, fromCache: boolean): FetchedWeights => ({
    bytes,
    url: source.url,
    fileName: source.fileName,
    entry: source.entry,
    sha256: digest,
    fromCache,
  });
  const verified = (digest: string): boolean => context.expected === null || digest.startsWith(context.expected);

  const cache = await openCache(cacheName);
  const hit = await cache?.match(source.url);
  if (hit) {
    const bytes = new Uint8Array(await hit.arrayBuffer());
    const digest = await sha256(bytes);
    if (verified(digest)) return fetched(bytes, digest, true);
    await cache?.delete(source.url);
  }

  const chunks: Uint8Array[] = [];
  const size = await download(context, (chunk) => void chunks.push(chunk), {
    stallTimeoutMs: options.stallTimeoutMs ?? 60_000,
    maxRedirects: 'browser',
    onProgress: options.onProgress,
    signal: options.signal,
    fetch: options.fetch,
    offline: (reason) =>
      new WeightsDownloadError(
        'offline',
        context,
        `cannot reach ${source.url} (${reason}): the network is down, or the server does not allow this page's origin (CORS); serve ${source.fileName} from your own origin and pass its URL`,
      ),
  });
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  chunks.length = 0;
  const digest = await sha256(bytes);
  if (!verified(digest)) {
    throw refusal(
      'hash-mismatch',
      context,
      `the ${size} bytes received do not match the SHA-256 prefix in the file name (a corrupted transfer, a wrong mirror or a tampered file)`,
      digest,
    );
  }
  await cache
    ?.put(
      source.url,
      new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      }),
    )
    .catch(() => undefined); // a full quota costs the next visit a download, not this one its weights
  return fetched(bytes, digest, false);
}
