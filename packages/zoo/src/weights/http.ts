/**
 * One HTTP download loop for Node and browsers (both have `fetch`): status, redirects, the body
 * streamed chunk by chunk with progress, a stall timeout and the Content-Length check. What to do
 * with the bytes (a file and a streaming hash in Node, memory and SubtleCrypto in a browser) is the
 * caller's `sink`.
 */
import { refusal, type WeightsDownloadContext, type WeightsDownloadError } from './errors.js';

/** Progress of a download, for `onProgress` callbacks. */
export interface DownloadProgress {
  url: string;
  fileName: string;
  /** Bytes received so far. */
  received: number;
  /** Bytes announced by the server (Content-Length), or null when it did not say. */
  total: number | null;
}

export interface HttpOptions {
  /** Called for every chunk received. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Give up when no byte arrives for this long (ms), also while waiting for the headers. */
  stallTimeoutMs: number;
  /**
   * Redirects followed by us (Node: the count is bounded and reported), or 'browser' to let the
   * platform follow them (browsers hide the Location of a redirect from scripts).
   */
  maxRedirects: number | 'browser';
  /** Called when the server cannot be reached at all (DNS, refused connection): the error to throw. */
  offline: (reason: string) => WeightsDownloadError;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** The reason a `fetch` failed before any response, as one short phrase. */
function networkReason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code)
    return `${cause.code}${cause.message && !cause.message.includes(cause.code) ? `: ${cause.message}` : ''}`;
  if (cause?.message) return cause.message;
  return (e as Error).message ?? String(e);
}

/**
 * Downloads `context.url` into `sink`, chunk by chunk. Resolves with the byte count when the body
 * arrived whole; otherwise rejects with a `WeightsDownloadError` (status, redirects, truncation,
 * interruption, stall, offline). The caller discards whatever the sink received on rejection.
 */
export async function download(
  context: WeightsDownloadContext,
  sink: (chunk: Uint8Array) => void | Promise<void>,
  options: HttpOptions,
): Promise<number> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const controller = new AbortController();
  const outer = options.signal;
  const onAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onAbort();
  outer?.addEventListener('abort', onAbort, { once: true });
  let stalled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      controller.abort(new Error('stalled'));
    }, options.stallTimeoutMs);
  };
  const stallError = (received: number, total: number | null): WeightsDownloadError =>
    refusal(
      'stalled',
      context,
      `no data for ${options.stallTimeoutMs / 1000} s after ${received}${total === null ? '' : ` of ${total}`} bytes; the server stalled`,
    );

  try {
    arm();
    let url = context.url;
    let response: Response;
    for (let hops = 0; ; hops++) {
      try {
        response = await doFetch(url, {
          signal: controller.signal,
          redirect: options.maxRedirects === 'browser' ? 'follow' : 'manual',
          headers:
            options.maxRedirects === 'browser' ? undefined : { 'User-Agent': 'resnet-zoo (torch.hub compatible)' },
        });
      } catch (e) {
        if (stalled) throw stallError(0, null);
        if (outer?.aborted) throw outer.reason ?? e;
        throw options.offline(networkReason(e));
      }
      if (options.maxRedirects === 'browser' || !REDIRECT.has(response.status)) break;
      const location = response.headers.get('location');
      await response.body?.cancel().catch(() => undefined);
      if (!location) {
        throw refusal('http-status', context, `HTTP ${response.status} redirect without a Location header`);
      }
      if (hops + 1 > options.maxRedirects) {
        throw refusal(
          'too-many-redirects',
          context,
          `more than ${options.maxRedirects} redirects (the last to ${new URL(location, url).href})`,
        );
      }
      url = new URL(location, url).href;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const via = url === context.url ? '' : ` (redirected to ${url})`;
      throw refusal('http-status', context, `HTTP ${response.status} ${response.statusText}${via}`.trimEnd());
    }
    const length = response.headers.get('content-length');
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    const total = length !== null && /^\d+$/.test(length) && !encoded ? Number(length) : null;
    if (!response.body) throw refusal('interrupted', context, 'the response has no body');
    const reader = response.body.getReader();
    let received = 0;
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (e) {
        if (stalled) throw stallError(received, total);
        if (outer?.aborted) throw outer.reason ?? e;
        throw refusal(
          'interrupted',
          context,
          `the connection broke after ${received}${total === null ? '' : ` of ${total}`} bytes (${networkReason(e)})`,
        );
      }
      if (chunk.done) break;
      arm();
      received += chunk.value.byteLength;
      await sink(chunk.value);
      options.onProgress?.({ url: context.url, fileName: context.fileName, received, total });
    }
    if (total !== null && received !== total) {
      throw refusal('truncated', context, `the transfer ended after ${received} of the ${total} bytes announced`);
    }
    return received;
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}
