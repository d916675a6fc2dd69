import { FormatError } from '../errors.js';

/**
 * Random access to a file's bytes: the whole file in memory, or (in `@resnet/core/node`) an open
 * file read piece by piece. Readers check every offset and length against `size` before they call
 * `read`, so a file that lies about its layout costs no allocation.
 */
export interface ByteSource {
  /** Total length in bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (a view or a fresh copy; callers never write to it). */
  read(offset: number, length: number): Uint8Array;
  /** True when every `read` returns new memory that nobody else holds: decoders may keep it. */
  readonly readsAreCopies?: boolean;
  /**
   * Fills `target` with the bytes from `offset` and returns it: lets a reader reuse one buffer
   * for many reads. Optional; readers fall back to `read`.
   */
  readInto?(offset: number, target: Uint8Array): Uint8Array;
}

/** A ByteSource over bytes already in memory (views, no copies). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
        throw new FormatError(`invalid byte range ${offset}+${length}`);
      }
      if (offset + length > bytes.length) {
        throw new FormatError(
          `truncated file: bytes ${offset}–${offset + length} requested, the file holds ${bytes.length}`,
        );
      }
      return bytes.subarray(offset, offset + length);
    },
  };
}
