import { FormatError } from '../errors.js';
import type { ByteSource } from './byte-source.js';

// The zip container that torch.save (≥ 1.6) writes: stored entries (no compression), local
// headers padded with an extra field so that data starts on 64 bytes, data descriptors after the
// data, and zip64 end records. Only the central directory is trusted for sizes; every local header
// is checked against it, and entries may neither overlap nor reach into the directory, so reading
// every entry never costs more than the file's own size (no zip bomb by construction). Compressed
// entries are refused: torch never writes them.

/** One file of the archive, as the central directory and its local header describe it. */
export interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  headerOffset: number;
  /** First byte of the entry's data (after its local header). */
  dataOffset: number;
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_END = 0x06054b50;
const SIG_ZIP64_END = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const END_BYTES = 22;
const ZIP64_END_BYTES = 56;
const LOCATOR_BYTES = 20;
const CENTRAL_BYTES = 46;
const LOCAL_BYTES = 30;
const MAX_COMMENT = 0xffff;

const METHODS: Record<number, string> = {
  8: 'deflate',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstandard',
  95: 'xz',
  98: 'ppmd',
  99: 'AES encryption',
};

/** What the end-of-central-directory records say (zip64 values when present). */
interface DirectoryLocation {
  entries: number;
  offset: number;
  size: number;
  /** Where the end records begin: the directory must end before it. */
  end: number;
}

/**
 * Reads and checks the central directory and every local header: names, sizes, offsets, flags.
 * Nothing but these records is read, and no entry data.
 */
export function readZipDirectory(source: ByteSource): Map<string, ZipEntry> {
  const location = locateDirectory(source);
  const directory = source.read(location.offset, location.size);
  const view = new DataView(directory.buffer, directory.byteOffset, directory.byteLength);
  const entries = new Map<string, ZipEntry>();
  const rawNames = new Map<string, Uint8Array>();
  let p = 0;
  for (let i = 0; i < location.entries; i++) {
    if (p + CENTRAL_BYTES > directory.length || view.getUint32(p, true) !== SIG_CENTRAL) {
      throw new FormatError(`zip archive: central directory entry ${i} of ${location.entries} is missing or damaged`);
    }
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const disk = view.getUint16(p + 34, true);
    let headerOffset = view.getUint32(p + 42, true);
    const recordEnd = p + CENTRAL_BYTES + nameLength + extraLength + commentLength;
    if (recordEnd > directory.length) {
      throw new FormatError(`zip archive: central directory entry ${i} runs past the directory`);
    }
    const nameBytes = directory.subarray(p + CENTRAL_BYTES, p + CENTRAL_BYTES + nameLength);
    const name = decodeName(nameBytes, i);
    // zip64: saturated fields are given, in this order, by the 0x0001 extra field.
    const saturated = [size === 0xffffffff, compressedSize === 0xffffffff, headerOffset === 0xffffffff];
    if (saturated.some(Boolean) || disk === 0xffff) {
      const values = zip64Extra(
        directory.subarray(p + CENTRAL_BYTES + nameLength, p + CENTRAL_BYTES + nameLength + extraLength),
        saturated.filter(Boolean).length,
        name,
      );
      if (saturated[0]) size = values.shift() as number;
      if (saturated[1]) compressedSize = values.shift() as number;
      if (saturated[2]) headerOffset = values.shift() as number;
    }
    if (disk !== 0 && disk !== 0xffff) {
      throw new FormatError(`zip archive: '${name}' is on disk ${disk}; multi-part archives are not supported`);
    }
    if (flags & 1) throw new FormatError(`zip archive: '${name}' is encrypted; weights files are never encrypted`);
    if (entries.has(name)) {
      throw new FormatError(`zip archive: the entry '${name}' appears twice; refusing an ambiguous archive`);
    }
    entries.set(name, { name, method, flags, crc32, compressedSize, size, headerOffset, dataOffset: 0 });
    rawNames.set(name, nameBytes);
    p = recordEnd;
  }
  for (const entry of entries.values()) {
    entry.dataOffset = checkLocalHeader(source, entry, rawNames.get(entry.name) as Uint8Array, location.offset);
  }
  checkNoOverlap([...entries.values()], location.offset);
  return entries;
}

/**
 * The bytes of one entry, checked against its CRC-32 (unless the archive recorded none: torch
 * writes 0 when saving with `set_crc32_options(False)`). Only stored entries are read.
 */
export function readZipEntry(source: ByteSource, entry: ZipEntry): Uint8Array {
  if (entry.method !== 0) {
    const method = METHODS[entry.method] ?? 'an unknown method';
    throw new FormatError(
      `zip archive: '${entry.name}' is compressed with ${method} (method ${entry.method}); torch.save writes ` +
        'stored (uncompressed) entries and only those are read. Re-save the file with torch: ' +
        'torch.save(torch.load(path), new_path), or re-zip it without compression (zip -0)',
    );
  }
  if (entry.compressedSize !== entry.size) {
    throw new FormatError(
      `zip archive: stored entry '${entry.name}' declares ${entry.size} bytes but occupies ${entry.compressedSize}`,
    );
  }
  const data = source.read(entry.dataOffset, entry.size);
  if (entry.crc32 !== 0 || entry.size === 0) {
    const actual = crc32(data);
    if (actual !== entry.crc32) {
      throw new FormatError(
        `zip archive: '${entry.name}' is damaged: its CRC-32 is ${hex(actual)} but the archive records ${hex(entry.crc32)}`,
      );
    }
  }
  return data;
}

function locateDirectory(source: ByteSource): DirectoryLocation {
  if (source.size < END_BYTES) {
    throw new FormatError(`truncated zip archive: ${source.size} bytes, fewer than its end record alone`);
  }
  const tailStart = Math.max(0, source.size - END_BYTES - MAX_COMMENT);
  const tail = source.read(tailStart, source.size - tailStart);
  const view = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
  let at = -1;
  for (let i = tail.length - END_BYTES; i >= 0; i--) {
    if (view.getUint32(i, true) === SIG_END && i + END_BYTES + view.getUint16(i + 20, true) === tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    throw new FormatError(
      'truncated or damaged zip archive: no end-of-central-directory record at its end (was the download interrupted?)',
    );
  }
  const endOffset = tailStart + at;
  const fields = {
    disk: view.getUint16(at + 4, true),
    directoryDisk: view.getUint16(at + 6, true),
    entriesOnDisk: view.getUint16(at + 8, true),
    entries: view.getUint16(at + 10, true),
    size: view.getUint32(at + 12, true),
    offset: view.getUint32(at + 16, true),
  };
  let location: DirectoryLocation = {
    entries: fields.entries,
    offset: fields.offset,
    size: fields.size,
    end: endOffset,
  };
  const locatorOffset = endOffset - LOCATOR_BYTES;
  const hasLocator =
    locatorOffset >= 0 && dataView(source.read(locatorOffset, 4)).getUint32(0, true) === SIG_ZIP64_LOCATOR;
  if (hasLocator) {
    location = readZip64End(source, locatorOffset);
    const agree =
      (fields.entries === 0xffff || fields.entries === location.entries) &&
      (fields.size === 0xffffffff || fields.size === location.size) &&
      (fields.offset === 0xffffffff || fields.offset === location.offset);
    if (!agree) throw new FormatError('zip archive: the zip64 end record disagrees with the end record');
  } else {
    if (fields.entries === 0xffff || fields.size === 0xffffffff || fields.offset === 0xffffffff) {
      throw new FormatError('zip archive: the end record needs zip64 values but the archive has no zip64 locator');
    }
    if (fields.disk !== 0 || fields.directoryDisk !== 0 || fields.entriesOnDisk !== fields.entries) {
      throw new FormatError('zip archive spans several disks; multi-part archives are not supported');
    }
  }
  if (location.offset + location.size > location.end) {
    throw new FormatError(
      `truncated or damaged zip archive: its central directory (bytes ${location.offset}–${location.offset + location.size}) ` +
        `runs past the end records at byte ${location.end}`,
    );
  }
  if (location.entries * CENTRAL_BYTES > location.size) {
    throw new FormatError(
      `zip archive declares ${location.entries} entries, more than its ${location.size}-byte central directory can hold`,
    );
  }
  return location;
}

function readZip64End(source: ByteSource, locatorOffset: number): DirectoryLocation {
  const locator = dataView(source.read(locatorOffset, LOCATOR_BYTES));
  const disk = locator.getUint32(4, true);
  const offset = safeUint64(locator, 8, 'zip64 end record offset');
  const disks = locator.getUint32(16, true);
  if (disk !== 0 || disks > 1)
    throw new FormatError('zip archive spans several disks; multi-part archives are not supported');
  if (offset + ZIP64_END_BYTES > locatorOffset) {
    throw new FormatError(`zip archive: the zip64 end record offset ${offset} is outside the archive`);
  }
  const record = dataView(source.read(offset, ZIP64_END_BYTES));
  if (record.getUint32(0, true) !== SIG_ZIP64_END) {
    throw new FormatError(`zip archive: no zip64 end record at byte ${offset}`);
  }
  const entriesOnDisk = safeUint64(record, 24, 'zip64 entry count');
  const entries = safeUint64(record, 32, 'zip64 entry count');
  if (record.getUint32(16, true) !== 0 || record.getUint32(20, true) !== 0 || entriesOnDisk !== entries) {
    throw new FormatError('zip archive spans several disks; multi-part archives are not supported');
  }
  return {
    entries,
    size: safeUint64(record, 40, 'zip64 central directory size'),
    offset: safeUint64(record, 48, 'zip64 central directory offset'),
    end: offset,
  };
}

/** The 64-bit values of a zip64 extended-information extra field (0x0001). */
function zip64Extra(extra: Uint8Array, count: number, name: string): number[] {
  const view = dataView(extra);
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = view.getUint16(p, true);
    const length = view.getUint16(p + 2, true);
    if (p + 4 + length > extra.length) break;
    if (id === 0x0001) {
      if (length < count * 8) break;
      return Array.from({ length: count }, (_, k) => safeUint64(view, p + 4 + 8 * k, `zip64 size of '${name}'`));
    }
    p += 4 + length;
  }
  throw new FormatError(`zip archive: '${name}' needs zip64 sizes but has no valid zip64 extra field`);
}

/** Checks an entry's local header against the directory; returns where its data starts. */
function checkLocalHeader(source: ByteSource, entry: ZipEntry, rawName: Uint8Array, directoryOffset: number): number {
  if (entry.headerOffset + LOCAL_BYTES > directoryOffset) {
    throw new FormatError(
      `zip archive: '${entry.name}' has its header at byte ${entry.headerOffset}, past the start of the central directory`,
    );
  }
  const header = dataView(source.read(entry.headerOffset, LOCAL_BYTES));
  if (header.getUint32(0, true) !== SIG_LOCAL) {
    throw new FormatError(`zip archive: no local header for '${entry.name}' at byte ${entry.headerOffset}`);
  }
  const nameLength = header.getUint16(26, true);
  const extraLength = header.getUint16(28, true);
  const dataOffset = entry.headerOffset + LOCAL_BYTES + nameLength + extraLength;
  if (nameLength !== rawName.length || dataOffset > directoryOffset) {
    throw new FormatError(`zip archive: the local header of '${entry.name}' does not match the central directory`);
  }
  const localName = source.read(entry.headerOffset + LOCAL_BYTES, nameLength);
  if (localName.some((b, k) => b !== rawName[k])) {
    throw new FormatError(`zip archive: the local header of '${entry.name}' names another file`);
  }
  if (header.getUint16(8, true) !== entry.method || header.getUint16(6, true) & 1) {
    throw new FormatError(`zip archive: the local header of '${entry.name}' disagrees on compression or encryption`);
  }
  return dataOffset;
}

/** Entries may not share bytes: that is how a small archive claims gigabytes (a zip bomb). */
function checkNoOverlap(entries: ZipEntry[], directoryOffset: number): void {
  const sorted = [...entries].sort((a, b) => a.headerOffset - b.headerOffset);
  for (let i = 0; i < sorted.length; i++) {
    const entry = sorted[i] as ZipEntry;
    const end = entry.dataOffset + entry.compressedSize;
    const next = sorted[i + 1];
    const limit = next ? next.headerOffset : directoryOffset;
    if (end > limit) {
      throw new FormatError(
        next
          ? `zip archive: '${entry.name}' (bytes ${entry.headerOffset}–${end}) overlaps '${next.name}' at byte ${next.headerOffset}; ` +
              'entries that share bytes are how zip bombs claim more data than the file holds, refusing it'
          : `truncated or damaged zip archive: '${entry.name}' claims ${entry.compressedSize} bytes from byte ` +
              `${entry.dataOffset}, past the central directory at byte ${directoryOffset}`,
      );
    }
  }
}

function decodeName(bytes: Uint8Array, index: number): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError(`zip archive: the name of entry ${index} is not valid UTF-8`);
  }
}

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function safeUint64(view: DataView, at: number, what: string): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new FormatError(`zip archive: ${what} ${value} is impossibly large`);
  return Number(value);
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as zip uses), table-driven, eight bytes per step. */
export function crc32(bytes: Uint8Array): number {
  const table = crcTables();
  let crc = 0xffffffff;
  let i = 0;
  const n8 = bytes.length - (bytes.length % 8);
  for (; i < n8; i += 8) {
    const a =
      (crc ^
        ((bytes[i] as number) |
          ((bytes[i + 1] as number) << 8) |
          ((bytes[i + 2] as number) << 16) |
          ((bytes[i + 3] as number) << 24))) >>>
      0;
    crc =
      (table[7 * 256 + (a & 0xff)] as number) ^
      (table[6 * 256 + ((a >>> 8) & 0xff)] as number) ^
      (table[5 * 256 + ((a >>> 16) & 0xff)] as number) ^
      (table[4 * 256 + (a >>> 24)] as number) ^
      (table[3 * 256 + (bytes[i + 4] as number)] as number) ^
      (table[2 * 256 + (bytes[i + 5] as number)] as number) ^
      (table[256 + (bytes[i + 6] as number)] as number) ^
      (table[bytes[i + 7] as number] as number);
  }
  for (; i < bytes.length; i++) crc = (table[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function crcTables(): Uint32Array {
  if (CRC_TABLE) return CRC_TABLE;
  const table = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  for (let t = 1; t < 8; t++) {
    for (let n = 0; n < 256; n++) {
      const prev = table[(t - 1) * 256 + n] as number;
      table[t * 256 + n] = ((prev >>> 8) ^ (table[prev & 0xff] as number)) >>> 0;
    }
  }
  CRC_TABLE = table;
  return table;
}
