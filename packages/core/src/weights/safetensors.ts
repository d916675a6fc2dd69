import { FormatError } from '../errors.js';
import { type HostTensor, shapeSize } from './host-tensor.js';

/** Largest header accepted (the reference implementation's limit is 100 MB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;
/** Most tensors a file may declare. */
export const MAX_SAFETENSORS_TENSORS = 100_000;

/** Bytes per element of the dtypes we read. */
const DTYPE_BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

/** One entry of a safetensors header, checked. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  begin: number;
  end: number;
}

/** A checked safetensors header: where each tensor lies, before any tensor byte is read. */
export interface SafetensorsHeader {
  /** Bytes before the data section (8 + header length). */
  dataStart: number;
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/**
 * Reads and checks the header of a safetensors file of `fileSize` bytes from its first bytes
 * (`prefix` must hold at least 8 + the declared header length, or the whole file if smaller).
 * Refuses a header that is not JSON, names an unsupported dtype, declares impossible shapes,
 * points outside the file, overlaps or leaves holes, before any tensor is read.
 */
export function parseSafetensorsHeader(prefix: Uint8Array, fileSize: number): SafetensorsHeader {
  if (fileSize < 8 || prefix.length < 8) {
    throw new FormatError(`not a safetensors file: ${fileSize} bytes, but the 8-byte header length alone needs 8`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
    throw new FormatError(
      `safetensors header declares ${headerLength} bytes; the limit is ${MAX_SAFETENSORS_HEADER_BYTES}`,
    );
  }
  if (8 + headerLength > fileSize) {
    throw new FormatError(
      `truncated safetensors file: the header declares ${headerLength} bytes but only ${fileSize - 8} follow the length`,
    );
  }
  if (prefix.length < 8 + headerLength) {
    throw new FormatError(`safetensors header: need ${8 + headerLength} bytes to read it, got ${prefix.length}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(prefix.subarray(8, 8 + headerLength));
  } catch {
    throw new FormatError('safetensors header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`safetensors header is not JSON (${(e as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new FormatError('safetensors header must be a JSON object of tensor entries');
  }
  const dataLength = fileSize - 8 - headerLength;
  const entries: SafetensorsEntry[] = [];
  let metadata: Record<string, string> = {};
  const keys = Object.keys(json);
  if (keys.length > MAX_SAFETENSORS_TENSORS + 1) {
    throw new FormatError(`safetensors header lists ${keys.length} tensors; the limit is ${MAX_SAFETENSORS_TENSORS}`);
  }
  for (const name of keys) {
    const value = (json as Record<string, unknown>)[name];
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new FormatError('safetensors __metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') throw new FormatError(`safetensors __metadata__.${k} must be a string`);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    entries.push(checkEntry(name, value, dataLength));
  }
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.begin !== cursor) {
      throw new FormatError(
        e.begin < cursor
          ? `safetensors tensor '${e.name}' overlaps another tensor (bytes ${e.begin}–${e.end})`
          : `safetensors data has a hole before tensor '${e.name}' (bytes ${cursor}–${e.begin} unused)`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw new FormatError(
      cursor < dataLength
        ? `safetensors data has ${dataLength - cursor} bytes after the last tensor`
        : `truncated safetensors file: tensors need ${cursor} data bytes but the file holds ${dataLength}`,
    );
  }
  return { dataStart: 8 + headerLength, entries, metadata };
}

function checkEntry(name: string, value: unknown, dataLength: number): SafetensorsEntry {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new FormatError(`safetensors entry '${name}' must be an object with dtype, shape and data_offsets`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in DTYPE_BYTES)) {
    throw new FormatError(
      `safetensors tensor '${name}' has unsupported dtype ${JSON.stringify(dtype)}; supported: ${Object.keys(DTYPE_BYTES).join(', ')}`,
    );
  }
  if (!Array.isArray(shape) || shape.length > 8) {
    throw new FormatError(`safetensors tensor '${name}' needs a shape array of rank ≤ 8`);
  }
  const size = shapeSize(shape as number[], `safetensors tensor '${name}'`);
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new FormatError(`safetensors tensor '${name}' needs data_offsets [begin, end] with 0 ≤ begin ≤ end`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new FormatError(
      `truncated safetensors file: tensor '${name}' ends at data byte ${end} but the file holds ${dataLength}`,
    );
  }
  const expected = size * (DTYPE_BYTES[dtype] as number);
  if (end - begin !== expected) {
    throw new FormatError(
      `safetensors tensor '${name}': ${dtype} [${(shape as number[]).join(', ')}] needs ${expected} bytes but its offsets span ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], begin, end };
}

/** Decodes one checked entry's bytes (exactly `end − begin` bytes) to a host tensor. */
export function decodeSafetensorsEntry(entry: SafetensorsEntry, bytes: Uint8Array): HostTensor {
  const n = shapeSize(entry.shape, entry.name);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (entry.dtype === 'I64' || entry.dtype === 'I32') {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const v = entry.dtype === 'I64' ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true);
      if (v > 2147483647 || v < -2147483648) {
        throw new FormatError(`safetensors tensor '${entry.name}' holds ${v}, outside the int32 range tfjs supports`);
      }
      out[i] = v;
    }
    return { dtype: 'int32', shape: entry.shape, data: out };
  }
  const out = new Float32Array(n);
  if (entry.dtype === 'F32') {
    if (bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, n));
    else for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (entry.dtype === 'F64') {
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  } else if (entry.dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  } else {
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    for (let i = 0; i < n; i++) {
      u[0] = view.getUint16(i * 2, true) << 16;
      out[i] = f[0] as number;
    }
  }
  return { dtype: 'float32', shape: entry.shape, data: out };
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array): {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
} {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('parseSafetensors expects the file as a Uint8Array');
  const header = parseSafetensorsHeader(bytes, bytes.length);
  const tensors = new Map<string, HostTensor>();
  for (const e of header.entries) {
    tensors.set(
      e.name,
      decodeSafetensorsEntry(e, bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end)),
    );
  }
  return { tensors, metadata: header.metadata };
}

/**
 * Serialises tensors to safetensors. int32 tensors are written as I64 (torch's dtype for
 * counters such as num_batches_tracked) unless `intDtype` says 'I32'.
 */
export function serializeSafetensors(
  tensors: Iterable<[string, HostTensor]>,
  options: { metadata?: Record<string, string>; intDtype?: 'I64' | 'I32' } = {},
): Uint8Array {
  const intDtype = options.intDtype ?? 'I64';
  const header: Record<string, unknown> = {};
  const parts: { name: string; t: HostTensor; dtype: string; bytes: number }[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === '__metadata__') throw new FormatError("a tensor cannot be named '__metadata__'");
    const dtype = t.dtype === 'float32' ? 'F32' : intDtype;
    const bytes = t.data.length * (DTYPE_BYTES[dtype] as number);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    parts.push({ name, t, dtype, bytes });
    offset += bytes;
  }
  if (options.metadata) header.__metadata__ = options.metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const { t, dtype } of parts) {
    if (dtype === 'F32') {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
      pos += t.data.byteLength;
    } else {
      for (const v of t.data) {
        if (dtype === 'I64') {
          view.setBigInt64(pos, BigInt(v), true);
          pos += 8;
        } else {
          view.setInt32(pos, v, true);
          pos += 4;
        }
      }
    }
  }
  return out;
}
