// The browser side of weights-browser.test.ts, bundled by esbuild: fetchWeights from the test's
// weights server (same origin), reporting what happened as plain data.
import { type FetchWeightsOptions, fetchWeights, WEIGHTS_CACHE_NAME, WeightsDownloadError } from '../../src/index.js';

/** What a fetchWeights call did, as data the test reads. */
export interface Outcome {
  ok: boolean;
  sha256?: string;
  size?: number;
  fromCache?: boolean;
  progress: { received: number; total: number | null }[];
  error?: { name: string; failure?: string; message: string; expected?: string | null; actual?: string | null };
}

async function runFetch(arch: string, weights: string, options: Omit<FetchWeightsOptions, 'onProgress'> = {}) {
  const progress: Outcome['progress'] = [];
  try {
    const w = await fetchWeights(arch, weights, { ...options, onProgress: (p) => progress.push(p) });
    return { ok: true, sha256: w.sha256, size: w.bytes.byteLength, fromCache: w.fromCache, progress } as Outcome;
  } catch (e) {
    const err = e as Error;
    const d = e instanceof WeightsDownloadError ? e : undefined;
    return {
      ok: false,
      progress,
      error: { name: err.name, failure: d?.failure, message: err.message, expected: d?.expected, actual: d?.actual },
    } as Outcome;
  }
}

/** URLs in the Cache API cache. */
async function cachedUrls(): Promise<string[]> {
  const cache = await caches.open(WEIGHTS_CACHE_NAME);
  return (await cache.keys()).map((r) => r.url);
}

Object.assign(globalThis, { runFetch, cachedUrls });
