import { FormatError } from '../errors.js';
import { shapeSize } from './host-tensor.js';

/**
 * A tensor as torch stores it: a window onto a storage (a flat run of elements), element `i` of
 * the tensor at `offset + Σ index_d · stride_d`. Views of one storage (slices, transposes,
 * `expand`) share its elements; strides may be anything non-negative.
 */
export interface StridedView {
  offset: number;
  shape: number[];
  stride: number[];
}

/** Most dimensions a stored tensor may have. */
export const MAX_RANK = 32;

/**
 * Checks that every element of the view lies inside a storage of `storageSize` elements, before
 * anything is read or allocated; returns the view's element count. `what` names the tensor.
 */
export function checkView(view: StridedView, storageSize: number, what: string): number {
  const { offset, shape, stride } = view;
  if (shape.length > MAX_RANK || stride.length !== shape.length) {
    throw new FormatError(
      `${what}: shape [${shape.join(', ')}] and strides [${stride.join(', ')}] must have the same rank ≤ ${MAX_RANK}`,
    );
  }
  const count = shapeSize(shape, what);
  if (!Number.isSafeInteger(offset) || offset < 0) throw new FormatError(`${what}: invalid storage offset ${offset}`);
  for (const s of stride) {
    if (!Number.isSafeInteger(s) || s < 0) throw new FormatError(`${what}: invalid stride ${s} (strides are ≥ 0)`);
  }
  if (count === 0) return 0;
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += ((shape[d] as number) - 1) * (stride[d] as number);
  if (!(last < storageSize)) {
    throw new FormatError(
      `${what}: a tensor of shape [${shape.join(', ')}] with strides [${stride.join(', ')}] from offset ${offset} ` +
        `reaches element ${last}, but its storage holds ${storageSize} elements (truncated or damaged file)`,
    );
  }
  return count;
}

/**
 * The view's elements in row-major order, copied bit for bit out of the storage (a checked view:
 * see `checkView`). Returns the storage itself when the view is all of it, in order.
 */
export function gatherView<T extends Float32Array | Int32Array>(storage: T, view: StridedView): T {
  const { offset, shape, stride } = view;
  const count = shapeSize(shape, 'view');
  if (offset === 0 && count === storage.length && isContiguous(shape, stride)) return storage;
  // Copy 32-bit patterns, never float values, so that NaN payloads survive.
  const from = new Int32Array(storage.buffer, storage.byteOffset, storage.length);
  const out = new Int32Array(count);
  if (count > 0 && isContiguous(shape, stride)) {
    out.set(from.subarray(offset, offset + count));
  } else if (count > 0) {
    const rank = shape.length;
    const inner = rank === 0 ? 1 : (shape[rank - 1] as number);
    const step = rank === 0 ? 0 : (stride[rank - 1] as number);
    const index = new Array<number>(Math.max(0, rank - 1)).fill(0);
    let base = offset;
    let o = 0;
    for (;;) {
      for (let k = 0, s = base; k < inner; k++, s += step) out[o++] = from[s] as number;
      let d = rank - 2;
      for (; d >= 0; d--) {
        base += stride[d] as number;
        const next = (index[d] as number) + 1;
        index[d] = next;
        if (next < (shape[d] as number)) break;
        base -= (stride[d] as number) * (shape[d] as number);
        index[d] = 0;
      }
      if (d < 0) break;
    }
  }
  return (storage instanceof Float32Array ? new Float32Array(out.buffer) : out) as T;
}

/** Row-major order with no gaps (dimensions of size 1 may have any stride, as in torch). */
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d] as number;
  }
  return true;
}
