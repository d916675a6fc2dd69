/**
 * Node-only helpers: files on disk. Import from `@resnet/core/node`; the main entry stays
 * free of `node:` modules so it bundles for browsers.
 */
import { closeSync, fstatSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { ArgumentError, FormatError, ResNetError } from './errors.js';
import { parseNpy, serializeNpy } from './io/npy.js';
import type { Module } from './module.js';
import type { ByteSource } from './weights/byte-source.js';
import type { HostTensor } from './weights/host-tensor.js';
import { readSafetensors, serializeSafetensors } from './weights/safetensors.js';
import { readStateDict, type StateDictFile, weightsFormat } from './weights/state-dict-file.js';
import { type LoadReport, type LoadStateDictOptions, loadStateDict } from './weights/state-dict.js';
import { streamSafetensors } from './weights/stream-load.js';
import { MAX_MANIFEST_TENSORS, manifestByteLength } from './weights/tfjs-format.js';

/** Largest model.json accepted. */
const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Shard size used when saving, as the tfjs converter does. */
const SHARD_BYTES = 4 * 1024 * 1024;

function fileError(path: string, e: unknown): ResNetError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ResNetError(`file not found: ${path}`);
  if (code === 'EISDIR') return new ResNetError(`expected a file, got a directory: ${path}`);
  if (code === 'EACCES') return new ResNetError(`permission denied reading ${path}`);
  return new ResNetError(`cannot read ${path}: ${(e as Error).message}`);
}

function readRange(fd: number, position: number, length: number): Uint8Array {
  return readInto(fd, new Uint8Array(length), position);
}

/** Fills `out` with the file's bytes from `position`. */
function readInto(fd: number, out: Uint8Array, position: number): Uint8Array {
  let done = 0;
  while (done < out.length) {
    const n = readSync(fd, out, done, out.length - done, position + done);
    if (n === 0) throw new FormatError(`file ended after ${position + done} bytes while reading`);
    done += n;
  }
  return out;
}

/**
 * Runs `read` over an open file as a ByteSource: readers fetch only the byte ranges that the
 * file's headers point at, after checking them against the file's size.
 */
function withFileSource<T>(path: string, read: (source: ByteSource) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw fileError(path, e);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new ResNetError(`expected a file, got a directory: ${path}`);
    return read({
      size: stat.size,
      read: (offset, length) => readRange(fd, offset, length),
      readInto: (offset, target) => readInto(fd, target, offset),
      readsAreCopies: true,
    });
  } catch (e) {
    if (e instanceof ResNetError) throw e;
    throw fileError(path, e);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a safetensors file: its size and header are checked (lengths, offsets, dtypes, tensor
 * count) before any tensor byte is read, so a file that lies about its sizes costs nothing.
 */
export function readSafetensorsFile(path: string): {
  tensors: Map<string, HostTensor>;
  metadata: Record<string, string>;
} {
  const { tensors, metadata } = withFileSource(path, readSafetensors);
  return { tensors, metadata };
}

/**
 * Reads a state_dict from a `.pth` file written by `torch.save` (torch ≥ 1.6) or a safetensors
 * file, whichever it is. Only what the file's directory or header points at is read, after every
 * offset and size was checked against the file; a `.pth`'s pickle is never executed.
 */
export function readStateDictFile(path: string): StateDictFile {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArgumentError('path', 'the path of a .pth or .safetensors file', path);
  }
  try {
    return withFileSource(path, readStateDict);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`${path}: ${e.message}`);
    throw e;
  }
}

/**
 * Loads a torchvision `state_dict` from a `.pth` (as torchvision publishes them) or safetensors
 * file into a model: names and shapes are checked first, all or nothing. A safetensors file is
 * streamed (checked in full, then read and assigned one tensor at a time: memory holds the model
 * plus one tensor); a `.pth` is read whole, then assigned one tensor at a time.
 */
export function loadTorchvisionWeights(model: Module, path: string, options?: LoadStateDictOptions): LoadReport {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ArgumentError('path', 'the path of a .pth or .safetensors file', path);
  }
  return withFileSource(path, (source) =>
    weightsFormat(source) === 'safetensors'
      ? streamSafetensors(model, source, options)
      : loadStateDict(model, readStateDict(source).tensors, options),
  );
}

/** Writes a file atomically: a failed write never leaves a partial file at `path`. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new ResNetError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

/** Writes tensors as safetensors (int32 as I64, as torch stores counters). */
export function writeSafetensorsFile(
  path: string,
  tensors: Iterable<[string, HostTensor]>,
  metadata?: Record<string, string>,
): void {
  writeFileAtomic(path, serializeSafetensors(tensors, metadata ? { metadata } : {}));
}

/** Reads a .npy file (float32/float64 → float32, integers → int32). */
export async function readNpyFile(path: string): Promise<HostTensor> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    throw fileError(path, e);
  }
  return parseNpy(bytes);
}

/** Writes a .npy file atomically. */
export function writeNpyFile(path: string, tensor: HostTensor): void {
  writeFileAtomic(path, serializeNpy(tensor));
}

/**
 * A tf.io handler for the TensorFlow.js weights format on disk: `<dir>/model.json` plus
 * `group1-shard{i}of{n}.bin`. `path` is the directory or the model.json inside it.
 * Loading treats the files as untrusted: shard paths must stay inside the model's folder, the
 * manifest's sizes must match the shard files on disk, and tensor counts and sizes are bounded,
 * all checked before a shard is read.
 */
export function fileSystem(path: string): tf.io.IOHandler {
  const jsonPath = path.endsWith('.json') ? resolve(path) : resolve(path, 'model.json');
  const dir = dirname(jsonPath);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const data = artifacts.weightData;
      const bytes = new Uint8Array(
        data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? concat(data) : (data as ArrayBuffer),
      );
      const count = Math.max(1, Math.ceil(bytes.length / SHARD_BYTES));
      const paths = Array.from({ length: count }, (_, i) => `group1-shard${i + 1}of${count}.bin`);
      const json = {
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        userDefinedMetadata: artifacts.userDefinedMetadata,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      };
      paths.forEach((p, i) => {
        writeFileAtomic(join(dir, p), bytes.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES));
      });
      writeFileAtomic(jsonPath, new TextEncoder().encode(JSON.stringify(json)));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: bytes.length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
        },
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      let size: number;
      try {
        size = statSync(jsonPath).size;
      } catch (e) {
        throw fileError(jsonPath, e);
      }
      if (size > MAX_MODEL_JSON_BYTES)
        throw new FormatError(`${jsonPath} is ${size} bytes; a model.json above ${MAX_MODEL_JSON_BYTES} is refused`);
      let json: unknown;
      try {
        json = JSON.parse(await readFile(jsonPath, 'utf8'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code) throw fileError(jsonPath, e);
        throw new FormatError(`${jsonPath} is not JSON (${(e as Error).message})`);
      }
      const manifest = (json as { weightsManifest?: unknown }).weightsManifest;
      if (!Array.isArray(manifest) || manifest.length === 0)
        throw new FormatError(`${jsonPath} has no weightsManifest array`);
      const specs: tf.io.WeightsManifestEntry[] = [];
      const shardFiles: { file: string; size: number }[] = [];
      let declared = 0;
      for (const group of manifest as { paths?: unknown; weights?: unknown }[]) {
        if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
          throw new FormatError(`${jsonPath}: every weightsManifest group needs paths and weights arrays`);
        }
        if (specs.length + group.weights.length > MAX_MANIFEST_TENSORS) {
          throw new FormatError(`${jsonPath} lists more than ${MAX_MANIFEST_TENSORS} tensors; refusing it`);
        }
        const groupBytes = manifestByteLength(group.weights as tf.io.WeightsManifestEntry[]);
        let onDisk = 0;
        for (const p of group.paths) {
          const file = safeShardPath(dir, p, jsonPath);
          let s: number;
          try {
            s = statSync(file).size;
          } catch (e) {
            throw fileError(file, e);
          }
          shardFiles.push({ file, size: s });
          onDisk += s;
        }
        if (onDisk !== groupBytes) {
          throw new FormatError(
            `${jsonPath}: the manifest describes ${groupBytes} bytes of weights but its shards hold ${onDisk}; refusing to read them`,
          );
        }
        declared += groupBytes;
        specs.push(...(group.weights as tf.io.WeightsManifestEntry[]));
      }
      const out = new Uint8Array(declared);
      let offset = 0;
      for (const { file, size: s } of shardFiles) {
        const bytes = await readFile(file);
        if (bytes.length !== s) throw new FormatError(`${file} changed while it was read`);
        out.set(bytes, offset);
        offset += s;
      }
      const j = json as Record<string, unknown>;
      return {
        format: j.format as string,
        generatedBy: j.generatedBy as string,
        modelTopology: j.modelTopology as object,
        userDefinedMetadata: j.userDefinedMetadata as tf.io.ModelArtifacts['userDefinedMetadata'],
        weightSpecs: specs,
        weightData: out.buffer,
      };
    },
  };
}

function safeShardPath(dir: string, p: unknown, jsonPath: string): string {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) {
    throw new FormatError(`${jsonPath}: shard paths must be non-empty strings`);
  }
  if (isAbsolute(p) || /^[a-z][a-z0-9+.-]*:/i.test(p) || p.startsWith('\\')) {
    throw new FormatError(
      `${jsonPath}: shard path ${JSON.stringify(p)} is absolute or a URL; shards must sit beside model.json`,
    );
  }
  const file = resolve(dir, p);
  const rel = relative(dir, file);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw new FormatError(`${jsonPath}: shard path ${JSON.stringify(p)} leaves the model's folder; refusing it`);
  }
  return file;
}

function concat(buffers: ArrayBuffer[]): ArrayBuffer {
  const total = buffers.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out.buffer;
}
