import { FormatError } from '../errors.js';

/**
 * Element types that weight files store and that we read: floats become float32 (float16 and
 * bfloat16 exactly, float64 rounded to nearest as torch's `.float()` does), integers become int32
 * (values outside int32 are refused: tfjs has no int64).
 */
export type FileDtype = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32';

export const ELEMENT_BYTES: Readonly<Record<FileDtype, number>> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
};

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Decodes a run of elements stored with the given byte order into float32 (floats) or int32
 * (integers), bit-exact where the conversion is exact (NaN payloads and −0 included). `what`
 * names the tensor in error messages. `bytes` must hold a whole number of elements; when `owned`,
 * nobody else holds them and the result may use their memory instead of a copy.
 */
export function decodeElements(
  bytes: Uint8Array,
  dtype: FileDtype,
  littleEndian: boolean,
  what: string,
  owned = false,
): Float32Array | Int32Array {
  const size = ELEMENT_BYTES[dtype];
  if (bytes.length % size !== 0) {
    throw new FormatError(`${what}: ${bytes.length} bytes is not a whole number of ${dtype} elements`);
  }
  const n = bytes.length / size;
  const host = hostOrder(bytes, size, littleEndian);
  const shared = host === bytes && !owned;
  switch (dtype) {
    case 'float32': {
      const values = new Float32Array(host.buffer, host.byteOffset, n);
      return shared ? values.slice() : values;
    }
    case 'int32': {
      const values = new Int32Array(host.buffer, host.byteOffset, n);
      return shared ? values.slice() : values;
    }
    case 'float64':
      return Float32Array.from(new Float64Array(host.buffer, host.byteOffset, n));
    case 'float16': {
      const table = halfTable();
      const from = new Uint16Array(host.buffer, host.byteOffset, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[from[i] as number] as number;
      return new Float32Array(out.buffer);
    }
    case 'bfloat16': {
      const from = new Uint16Array(host.buffer, host.byteOffset, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = (from[i] as number) << 16;
      return new Float32Array(out.buffer);
    }
    case 'int64':
      return int64ToInt32(new Int32Array(host.buffer, host.byteOffset, n * 2), what);
  }
}

/** The bytes with each element in the host's byte order, at an aligned offset (copied when needed). */
function hostOrder(bytes: Uint8Array, size: number, littleEndian: boolean): Uint8Array {
  const swap = littleEndian !== LITTLE_ENDIAN_HOST && size > 1;
  if (!swap && bytes.byteOffset % size === 0) return bytes;
  const out = new Uint8Array(bytes.length);
  if (!swap) {
    out.set(bytes);
    return out;
  }
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j] as number;
  }
  return out;
}

function int64ToInt32(words: Int32Array, what: string): Int32Array {
  const n = words.length / 2;
  const out = new Int32Array(n);
  const [low, high] = LITTLE_ENDIAN_HOST ? [0, 1] : [1, 0];
  for (let i = 0; i < n; i++) {
    const lo = words[2 * i + low] as number;
    const hi = words[2 * i + high] as number;
    if (hi !== lo >> 31) {
      const value = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
      throw new FormatError(`${what} holds ${value}, outside the int32 range tfjs supports`);
    }
    out[i] = lo;
  }
  return out;
}

let HALF_TABLE: Uint32Array | undefined;

/** float16 bit pattern → float32 bit pattern, for all 65536 values (subnormals, ±inf, NaN payloads). */
function halfTable(): Uint32Array {
  if (HALF_TABLE) return HALF_TABLE;
  const table = new Uint32Array(65536);
  const scratch = new Float32Array(1);
  const bits = new Uint32Array(scratch.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      scratch[0] = mantissa * 2 ** -24; // zero or subnormal: exact in float32
      table[h] = (sign | (bits[0] as number)) >>> 0;
    } else if (exponent === 31) {
      table[h] = (sign | 0x7f800000 | (mantissa << 13)) >>> 0;
    } else {
      table[h] = (sign | ((exponent + 112) << 23) | (mantissa << 13)) >>> 0;
    }
  }
  HALF_TABLE = table;
  return table;
}
