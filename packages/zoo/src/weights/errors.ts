import { ResNetError } from '@resnet/core';

/** Why a download of weights was refused. */
export type WeightsDownloadFailure =
  | 'hash-mismatch'
  | 'http-status'
  | 'truncated'
  | 'interrupted'
  | 'stalled'
  | 'too-many-redirects'
  | 'offline';

/** What a refused download was: which URL, which file, which hashes. */
export interface WeightsDownloadContext {
  /** The URL requested. */
  url: string;
  /** The file name (`resnet50-11ad3fa6.pth`). */
  fileName: string;
  /** Where the file would have been kept (a path in Node, the cache name in a browser). */
  destination: string;
  /** The SHA-256 prefix the file name promises, or null for an unverified URL. */
  expected: string | null;
}

/**
 * A download of weights that was refused: nothing was kept. Its message is one line that names the
 * URL, the file, the expected and (when the bytes arrived) the actual SHA-256, and what to do.
 */
export class WeightsDownloadError extends ResNetError {
  override readonly name = 'WeightsDownloadError';
  readonly url: string;
  readonly fileName: string;
  readonly destination: string;
  readonly expected: string | null;
  constructor(
    readonly failure: WeightsDownloadFailure,
    context: WeightsDownloadContext,
    message: string,
    /** The SHA-256 of what arrived, when it arrived whole. */
    readonly actual: string | null = null,
  ) {
    super(message);
    this.url = context.url;
    this.fileName = context.fileName;
    this.destination = context.destination;
    this.expected = context.expected;
  }
}

/** A refusal in the common form: `<url>: <what>; <hashes>; nothing was kept for <file> (<where>)`. */
export function refusal(
  failure: Exclude<WeightsDownloadFailure, 'offline'>,
  context: WeightsDownloadContext,
  what: string,
  actual: string | null = null,
): WeightsDownloadError {
  const hashes =
    context.expected === null
      ? 'no SHA-256 to check (unverified URL)'
      : `expected SHA-256 ${context.expected}…${actual === null ? '' : `, got ${actual}`}`;
  return new WeightsDownloadError(
    failure,
    context,
    `${context.url}: ${what}; ${hashes}; nothing was kept for ${context.fileName} (${context.destination})`,
    actual,
  );
}
