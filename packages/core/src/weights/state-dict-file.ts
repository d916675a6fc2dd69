import { ArgumentError, FormatError } from '../errors.js';
import { type ByteSource, memorySource } from './byte-source.js';
import type { FileDtype } from './elements.js';
import type { HostTensor } from './host-tensor.js';
import { readSafetensors } from './safetensors.js';
import { readTorchCheckpoint } from './torch-checkpoint.js';

/** A state_dict read from a weights file, whatever its format. */
export interface StateDictFile {
  /** 'pth': a torch.save zip archive; 'safetensors': Hugging Face's safetensors. */
  format: 'pth' | 'safetensors';
  /** Tensors by torch name, in the file's order: floats as float32, integers as int32. */
  tensors: Map<string, HostTensor>;
  /** The dtype each tensor had in the file ('float16', 'float64', 'int64'...), before that conversion. */
  sourceDtypes: Map<string, FileDtype>;
  /**
   * safetensors: the file's `__metadata__`. pth: `archive`, `version`, `byteorder`, and `wrapper`
   * ('state_dict' or 'model') when the state_dict came out of a training checkpoint.
   */
  metadata: Record<string, string>;
}

/**
 * Reads a state_dict from a weights file held in memory: a `.pth` written by `torch.save`
 * (torch ≥ 1.6) or a safetensors file, told apart by their first bytes. Nothing in a `.pth` is
 * executed: its pickle may only rebuild tensors and dicts. Pass the result's `tensors` to
 * `loadStateDict`.
 */
export function parseStateDict(bytes: Uint8Array | ArrayBuffer): StateDictFile {
  if (bytes instanceof ArrayBuffer) return readStateDict(memorySource(new Uint8Array(bytes)));
  if (!(bytes instanceof Uint8Array)) {
    throw new ArgumentError(
      'bytes',
      "a weights file's bytes as a Uint8Array, Buffer or ArrayBuffer",
      bytes,
      'Read the file first, e.g. new Uint8Array(await (await fetch(url)).arrayBuffer())',
    );
  }
  return readStateDict(memorySource(bytes));
}

/** `parseStateDict` over any ByteSource (a file on disk reads only what its headers point at). */
export function readStateDict(source: ByteSource): StateDictFile {
  if (weightsFormat(source) === 'pth') return { format: 'pth', ...readTorchCheckpoint(source) };
  return { format: 'safetensors', ...readSafetensors(source) };
}

/** Which weights format a source holds, from its first bytes; refuses (saying why) what is neither. */
export function weightsFormat(source: ByteSource): StateDictFile['format'] {
  const kind = sniff(source.read(0, Math.min(source.size, 512)));
  if (kind === 'zip') return 'pth';
  if (kind === 'safetensors') return 'safetensors';
  throw new FormatError(kind);
}

const RESAVE =
  'Re-save it with torch ≥ 1.6 (only if you trust the file: torch.load runs its pickle): ' +
  'torch.save(torch.load(path), new_path)';

/** Legacy torch.save files start with a pickled magic number (protocol 2, LONG1, 10 bytes). */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/** 'zip', 'safetensors', or a sentence saying what the file is and how to make it readable. */
function sniff(head: Uint8Array): string {
  const starts = (bytes: number[], at = 0) => bytes.every((b, i) => head[at + i] === b);
  if (starts([0x50, 0x4b, 0x03, 0x04]) || starts([0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (starts(LEGACY_MAGIC)) {
    return `this .pth is in torch's legacy format (torch < 1.6, or torch.save with _use_new_zipfile_serialization=False), which only Python's unpickler reads. ${RESAVE}`;
  }
  if (starts([0x75, 0x73, 0x74, 0x61, 0x72], 257)) {
    return `this is a tar archive: the format of torch < 0.4, which only Python's unpickler reads. ${RESAVE}`;
  }
  // Before the pickle test: a safetensors header length can start with the byte 0x80 too.
  if (head.length > 8 && head[8] === 0x7b) return 'safetensors';
  if (head[0] === 0x80 && head.length > 1 && (head[1] as number) <= 5) {
    return `this is a bare Python pickle, not an archive written by torch.save (≥ 1.6). ${RESAVE}`;
  }
  const shown = Array.from(head.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return (
    `not a weights file that can be read: expected a .pth written by torch.save (a zip archive, starting "PK") or ` +
    `safetensors (a header length, then "{"); the file has ${head.length < 8 ? `${head.length} bytes` : `first bytes ${shown}`}`
  );
}
