import { FormatError } from '../errors.js';
import { type HostTensor, shapeSize } from '../weights/host-tensor.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Largest header accepted (NumPy itself refuses headers above 10 kB by default). */
const MAX_HEADER_BYTES = 65_536;

/** Bytes per element of the NumPy dtypes we read, and what they become. */
const DESCRS: Record<string, { bytes: number; to: 'float32' | 'int32'; kind: 'f' | 'i' | 'u' }> = {
  '<f4': { bytes: 4, to: 'float32', kind: 'f' },
  '<f8': { bytes: 8, to: 'float32', kind: 'f' },
  '<i8': { bytes: 8, to: 'int32', kind: 'i' },
  '<i4': { bytes: 4, to: 'int32', kind: 'i' },
  '|u1': { bytes: 1, to: 'int32', kind: 'u' },
  '|i1': { bytes: 1, to: 'int32', kind: 'i' },
};

/** The parsed header of a .npy file. */
export interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
  dataStart: number;
}

/**
 * Parses a NumPy .npy file (format 1.0–3.0) into a host tensor: float32/float64 become float32,
 * int8/int32/int64/uint8 become int32 (refusing values outside int32). Fortran order, object
 * arrays, big-endian data and a byte count that does not match the header are refused.
 */
export function parseNpy(bytes: Uint8Array): HostTensor {
  const header = parseNpyHeader(bytes);
  const d = DESCRS[header.descr] as (typeof DESCRS)[string];
  const n = shapeSize(header.shape, '.npy');
  const expected = n * d.bytes;
  const actual = bytes.length - header.dataStart;
  if (actual !== expected) {
    throw new FormatError(
      `${actual < expected ? 'truncated' : 'oversized'} .npy file: ${header.descr} [${header.shape.join(', ')}] needs ${expected} data bytes, the file holds ${actual}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + header.dataStart, expected);
  if (d.to === 'float32') {
    const out = new Float32Array(n);
    if (d.bytes === 4) for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
    else for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
    return { dtype: 'float32', shape: header.shape, data: out };
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v =
      d.bytes === 8
        ? Number(view.getBigInt64(i * 8, true))
        : d.bytes === 4
          ? view.getInt32(i * 4, true)
          : d.kind === 'u'
            ? view.getUint8(i)
            : view.getInt8(i);
    if (v > 2147483647 || v < -2147483648)
      throw new FormatError(`.npy value ${v} at index ${i} is outside the int32 range`);
    out[i] = v;
  }
  return { dtype: 'int32', shape: header.shape, data: out };
}

/** Parses and checks the header only. */
export function parseNpyHeader(bytes: Uint8Array): NpyHeader {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('parseNpy expects the file as a Uint8Array');
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new FormatError('not a .npy file: it must start with \\x93NUMPY (save arrays with numpy.save)');
  }
  const major = bytes[6] as number;
  if (major < 1 || major > 3)
    throw new FormatError(`.npy format version ${major}.${bytes[7]} is not supported (1.0–3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) throw new FormatError('truncated .npy file: no header length');
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lenBytes;
  if (headerLength > MAX_HEADER_BYTES)
    throw new FormatError(`.npy header declares ${headerLength} bytes; the limit is ${MAX_HEADER_BYTES}`);
  if (start + headerLength > bytes.length) {
    throw new FormatError(
      `truncated .npy file: the header declares ${headerLength} bytes, ${bytes.length - start} follow`,
    );
  }
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: true }).decode(
      bytes.subarray(start, start + headerLength),
    );
  } catch {
    throw new FormatError('.npy header is not valid text');
  }
  const dict = parsePythonDict(text.trim());
  const descr = dict.descr;
  if (typeof descr !== 'string') throw new FormatError(".npy header has no 'descr' string");
  if (!(descr in DESCRS)) {
    throw new FormatError(
      `.npy dtype '${descr}' is not supported; use float32 ('<f4') or float64 for inputs, int64 or int32 for labels (little-endian)`,
    );
  }
  if (typeof dict.fortran_order !== 'boolean') throw new FormatError(".npy header has no 'fortran_order' boolean");
  if (dict.fortran_order) {
    throw new FormatError('.npy array is in Fortran order; save a C-ordered array (numpy.ascontiguousarray)');
  }
  const shape = dict.shape;
  if (!Array.isArray(shape) || shape.length > 8) throw new FormatError(".npy header needs a 'shape' tuple of rank ≤ 8");
  shapeSize(shape, '.npy');
  return { descr, fortranOrder: false, shape, dataStart: start + headerLength };
}

type PyValue = string | boolean | number[];

/** A tiny parser for the literal dict NumPy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } */
function parsePythonDict(text: string): Record<string, PyValue> {
  const out: Record<string, PyValue> = {};
  let i = 0;
  const fail = (what: string): never => {
    throw new FormatError(`.npy header is not a NumPy header dict (${what} at character ${i})`);
  };
  const ws = () => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const str = (): string => {
    const q = text[i];
    if (q !== "'" && q !== '"') fail('expected a quoted string');
    const end = text.indexOf(q as string, i + 1);
    if (end < 0) fail('unterminated string');
    const s = text.slice(i + 1, end);
    i = end + 1;
    return s;
  };
  ws();
  if (text[i] !== '{') fail("expected '{'");
  i++;
  for (;;) {
    ws();
    if (text[i] === '}') {
      i++;
      break;
    }
    const key = str();
    ws();
    if (text[i] !== ':') fail("expected ':'");
    i++;
    ws();
    let value: PyValue;
    if (text[i] === "'" || text[i] === '"') value = str();
    else if (text.startsWith('True', i)) {
      value = true;
      i += 4;
    } else if (text.startsWith('False', i)) {
      value = false;
      i += 5;
    } else if (text[i] === '(') {
      const end = text.indexOf(')', i);
      if (end < 0) fail('unterminated tuple');
      const inner = text.slice(i + 1, end).trim();
      i = end + 1;
      value =
        inner === ''
          ? []
          : inner
              .split(',')
              .map((s) => s.trim())
              .filter((s, k, all) => s !== '' || k !== all.length - 1)
              .map((s) => {
                if (!/^\d+L?$/.test(s)) fail(`bad shape entry ${JSON.stringify(s)}`);
                return Number.parseInt(s, 10);
              });
    } else {
      return fail('unsupported value');
    }
    if (key in out) fail(`duplicate key '${key}'`);
    out[key] = value;
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') fail("expected ',' or '}'");
  }
  ws();
  if (i !== text.length) fail('trailing characters');
  return out;
}

/** Serialises a host tensor as .npy 1.0 (float32 as '<f4', int32 as '<i8' unless `intDescr` is '<i4'). */
export function serializeNpy(t: HostTensor, options: { intDescr?: '<i8' | '<i4' } = {}): Uint8Array {
  const descr = t.dtype === 'float32' ? '<f4' : (options.intDescr ?? '<i8');
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += `${' '.repeat((64 - (total % 64)) % 64)}\n`;
  const itemBytes = descr === '<i8' ? 8 : 4;
  const out = new Uint8Array(10 + header.length + t.data.length * itemBytes);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let k = 0; k < header.length; k++) out[10 + k] = header.charCodeAt(k);
  let pos = 10 + header.length;
  for (const v of t.data) {
    if (descr === '<f4') view.setFloat32(pos, v, true);
    else if (descr === '<i4') view.setInt32(pos, v, true);
    else view.setBigInt64(pos, BigInt(v), true);
    pos += itemBytes;
  }
  return out;
}
