import { FormatError } from '../errors.js';
import { type ByteSource, memorySource } from './byte-source.js';
import { decodeElements, ELEMENT_BYTES, type FileDtype } from './elements.js';
import { type HostTensor, shapeSize } from './host-tensor.js';

/** Largest header accepted (the reference implementation's limit is 100 MB). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000;
/** Most tensors a file may declare. */
export const MAX_SAFETENSORS_TENSORS = 100_000;

/** The safetensors dtypes we read, by their names in the format. */
const FILE_DTYPES: Record<string, FileDtype> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
};
const DTYPE_BYTES: Record<string, number> = Object.fromEntries(
  Object.entries(FILE_DTYPES).map(([name, dtype]) => [name, ELEMENT_BYTES[dtype]]),
);

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
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
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
export function decodeSafetensorsEntry(entry: SafetensorsEntry, bytes: Uint8Array, owned = false): HostTensor {
  const dtype = FILE_DTYPES[entry.dtype] as FileDtype;
  const data = decodeElements(bytes, dtype, true, `safetensors tensor '${entry.name}'`, owned);
  return { dtype: data instanceof Float32Array ? 'float32' : 'int32', shape: entry.shape, data };
}

/**
 * Reads a safetensors file from a ByteSource: the header length and the header are checked
 * (lengths, offsets, dtypes, tensor count) before any tensor byte is read.
 */
export function readSafetensors(source: ByteSource): {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
  sourceDtypes: Map<string, FileDtype>;
} {
  const header = readSafetensorsHeader(source);
  const tensors = new Map<string, HostTensor>();
  const sourceDtypes = new Map<string, FileDtype>();
  for (const e of header.entries) {
    const bytes = source.read(header.dataStart + e.begin, e.end - e.begin);
    tensors.set(e.name, decodeSafetensorsEntry(e, bytes, source.readsAreCopies));
    sourceDtypes.set(e.name, FILE_DTYPES[e.dtype] as FileDtype);
  }
  return { tensors, metadata: header.metadata, sourceDtypes };
}

/** Reads and checks the header of a safetensors ByteSource (no tensor byte is read). */
export function readSafetensorsHeader(source: ByteSource): SafetensorsHeader {
  const first = source.read(0, Math.min(8, source.size));
  let prefix = first;
  if (first.length === 8) {
    const headerLength = Number(new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true));
    // A length beyond the file or the limit is refused (with the parser's message) before reading it.
    if (8 + headerLength > source.size || headerLength > MAX_SAFETENSORS_HEADER_BYTES) {
      parseSafetensorsHeader(first, source.size);
    }
    prefix = source.read(0, 8 + headerLength);
  }
  return parseSafetensorsHeader(prefix, source.size);
}

/** The dtype a checked entry holds, as `decodeSafetensorsEntry` reads it (floats → float32, integers → int32). */
export function safetensorsEntryDtype(entry: SafetensorsEntry): 'float32' | 'int32' {
  const dtype = FILE_DTYPES[entry.dtype];
  return dtype === 'int64' || dtype === 'int32' ? 'int32' : 'float32';
}

/** Parses a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array): {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
} {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('parseSafetensors expects the file as a Uint8Array');
  const { tensors, metadata } = readSafetensors(memorySource(bytes));
  return { tensors, metadata };
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
