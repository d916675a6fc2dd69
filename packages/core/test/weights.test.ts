import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  exportStateDict,
  FormatError,
  type HostTensor,
  loadStateDict,
  loadWeights,
  parseNpy,
  parseSafetensors,
  parseSafetensorsHeader,
  ResNet,
  type SafetensorsEntry,
  saveWeights,
  serializeNpy,
  serializeSafetensors,
  WeightsMismatchError,
} from '../src/index.js';
import { fileSystem, loadTorchvisionWeights, readSafetensorsFile, writeSafetensorsFile } from '../src/node.js';

const tiny = (seed: number, numClasses = 3) =>
  new ResNet({ block: 'basic', depths: [1, 1], widths: [4, 8], stem: 'cifar', numClasses, seed });

function values(model: ResNet): number[][] {
  return model.namedSlots().map(([, s]) => Array.from(s.variable.dataSync()));
}

let dir: string;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  dir = mkdtempSync(join(tmpdir(), 'resnet-weights-'));
});

describe('safetensors', () => {
  it('round-trips a state_dict in torch layouts, with counters as I64', () => {
    const a = tiny(1);
    const bytes = serializeSafetensors(exportStateDict(a));
    const header = JSON.parse(
      new TextDecoder().decode(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))),
    );
    expect(header['conv1.weight'].shape).toEqual([4, 3, 3, 3]); // OIHW, as torch
    expect(header['fc.weight'].shape).toEqual([3, 8]); // [out, in]
    expect(header['bn1.num_batches_tracked']).toMatchObject({ dtype: 'I64', shape: [] });
    const b = tiny(2);
    loadStateDict(b, parseSafetensors(bytes).tensors);
    expect(values(b)).toEqual(values(a));
    a.dispose();
    b.dispose();
  });

  it('reads files written by torch (the fixture generator) through the file reader', () => {
    const path = join(dir, 'w.safetensors');
    const model = tiny(3);
    writeSafetensorsFile(path, exportStateDict(model));
    const { tensors } = readSafetensorsFile(path);
    expect([...tensors.keys()]).toEqual(model.namedSlots().map(([n]) => n));
    model.dispose();
  });

  it('streams a safetensors file into a model: the values written, no tensor left over', () => {
    const source = tiny(11);
    const path = join(dir, 'stream.safetensors');
    writeSafetensorsFile(path, exportStateDict(source));
    const target = tiny(12);
    const before = tf.memory().numTensors;
    const report = loadTorchvisionWeights(target, path);
    expect(tf.memory().numTensors).toBe(before);
    expect(values(target)).toEqual(values(source));
    expect(report.loaded).toEqual(target.namedSlots().map(([n]) => n));
    source.dispose();
    target.dispose();
  });

  it('streams into a backend that keeps the arrays it is given (CPU): every tensor gets its own', async () => {
    await initBackend({ prefer: 'cpu' });
    try {
      const [a, b] = [tiny(21), tiny(22)];
      const [pathA, pathB] = [join(dir, 'cpu-a.safetensors'), join(dir, 'cpu-b.safetensors')];
      writeSafetensorsFile(pathA, exportStateDict(a));
      writeSafetensorsFile(pathB, exportStateDict(b));
      const [first, second] = [tiny(23), tiny(24)];
      loadTorchvisionWeights(first, pathA);
      loadTorchvisionWeights(second, pathB);
      loadStateDict(second, exportStateDict(b));
      // Had two tensors shared one reused buffer, the later loads would show through the first model.
      expect(values(first)).toEqual(values(a));
      expect(values(second)).toEqual(values(b));
      for (const m of [a, b, first, second]) m.dispose();
    } finally {
      await initBackend({ prefer: 'wasm' });
    }
  });

  it('checks every tensor of the file before assigning any: a bad value late in the file changes nothing', () => {
    const path = join(dir, 'late-error.safetensors');
    const bytes = serializeSafetensors(exportStateDict(tiny(13)));
    const header = parseSafetensorsHeader(bytes, bytes.length);
    // The last BatchNorm's counter (I64) holds 2^40, beyond int32: found after conv1.weight and others.
    const counter = header.entries.filter((e) => e.dtype === 'I64').at(-1) as SafetensorsEntry;
    new DataView(bytes.buffer).setBigInt64(header.dataStart + counter.begin, 2n ** 40n, true);
    writeFileSync(path, bytes);
    const target = tiny(14);
    const before = values(target);
    expect(() => loadTorchvisionWeights(target, path)).toThrow(/outside the int32 range/);
    expect(values(target)).toEqual(before);
    const wrong = join(dir, 'other-arch.safetensors');
    writeSafetensorsFile(wrong, exportStateDict(tiny(15, 7)));
    expect(() => loadTorchvisionWeights(target, wrong)).toThrow(WeightsMismatchError);
    expect(values(target)).toEqual(before);
    target.dispose();
  });

  it('lists every missing, unexpected and mismatched tensor by name and assigns nothing', () => {
    const target = tiny(4);
    const before = values(target);
    const state = exportStateDict(tiny(5, 7)); // fc has 7 classes
    state.delete('bn1.running_var');
    state.set('extra.weight', { dtype: 'float32', shape: [1], data: new Float32Array(1) });
    let error: unknown;
    try {
      loadStateDict(target, state);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsMismatchError);
    const e = error as WeightsMismatchError;
    expect(e.missing).toEqual(['bn1.running_var']);
    expect(e.unexpected).toEqual(['extra.weight']);
    expect(e.mismatched.map((m) => m.name)).toEqual(['fc.weight', 'fc.bias']);
    expect(e.message).toMatch(/fc\.weight: model \[3, 8\], file \[7, 8\]/);
    expect(values(target)).toEqual(before);
    target.dispose();
  });

  it('loads a backbone without its head when not strict, but never mismatched shapes', () => {
    const target = tiny(6);
    const state = exportStateDict(tiny(7));
    state.delete('fc.weight');
    state.delete('fc.bias');
    const report = loadStateDict(target, state, { strict: false });
    expect(report.missing).toEqual(['fc.weight', 'fc.bias']);
    const wrong = exportStateDict(tiny(8, 5));
    expect(() => loadStateDict(target, wrong, { strict: false })).toThrow(WeightsMismatchError);
    target.dispose();
  });

  it.each([
    ['fewer than 8 bytes', new Uint8Array([1, 2, 3]), /8-byte header length/],
    ['a header length beyond the file', headerFile('{}', 1000), /header declares 1000 bytes/],
    ['a header that is not JSON', headerFile('{"a": '), /not JSON/],
    [
      'an unsupported dtype',
      headerFile('{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', undefined, 1),
      /unsupported dtype "U8"/,
    ],
    [
      'offsets beyond the data',
      headerFile('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', undefined, 8),
      /truncated/,
    ],
    [
      'a shape that disagrees with the offsets',
      headerFile('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', undefined, 8),
      /needs 12 bytes/,
    ],
    [
      'overlapping tensors',
      headerFile(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        undefined,
        8,
      ),
      /overlaps/,
    ],
    [
      'an impossible tensor size',
      headerFile('{"a":{"dtype":"F32","shape":[100000,100000],"data_offsets":[0,4]}}', undefined, 4),
      /2\^31/,
    ],
  ])('refuses %s before reading tensors', (_, bytes, message) => {
    expect(() => parseSafetensors(bytes)).toThrow(FormatError);
    expect(() => parseSafetensors(bytes)).toThrow(message);
  });
});

function headerFile(json: string, declaredLength?: number, dataBytes = 0): Uint8Array {
  const header = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + header.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? header.length), true);
  out.set(header, 8);
  return out;
}

describe('.npy', () => {
  it('round-trips float32 and int arrays', () => {
    const f: HostTensor = { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-8, 7]) };
    expect(parseNpy(serializeNpy(f))).toEqual(f);
    const i: HostTensor = { dtype: 'int32', shape: [3], data: Int32Array.from([0, 999, 5]) };
    expect(parseNpy(serializeNpy(i))).toEqual(i);
  });

  it.each([
    ['a missing magic string', new Uint8Array(20), /must start with \\x93NUMPY/],
    [
      'a truncated body',
      serializeNpy({ dtype: 'float32', shape: [4], data: new Float32Array(4) }).subarray(0, 80),
      /truncated/,
    ],
    ['Fortran order', npyWithHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", 4), /Fortran order/],
    [
      'a complex dtype',
      npyWithHeader("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8),
      /dtype '<c8' is not supported/,
    ],
    [
      'big-endian floats',
      npyWithHeader("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", 4),
      /not supported/,
    ],
    ['a header that is not a dict', npyWithHeader('[1, 2]', 0), /not a NumPy header dict/],
  ])('refuses %s', (_, bytes, message) => {
    expect(() => parseNpy(bytes)).toThrow(FormatError);
    expect(() => parseNpy(bytes)).toThrow(message);
  });
});

function npyWithHeader(header: string, dataBytes: number): Uint8Array {
  const text = `${header}\n`;
  const out = new Uint8Array(10 + text.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(new TextEncoder().encode(text), 10);
  return out;
}

describe('TensorFlow.js weights format (model.json + shards)', () => {
  it('saves and loads through the file-system tf.io handler', async () => {
    const a = tiny(10);
    const target = join(dir, 'roundtrip');
    mkdirSync(target);
    await saveWeights(a, fileSystem(target), { arch: 'tiny' });
    const json = JSON.parse(readFileSync(join(target, 'model.json'), 'utf8'));
    expect(json.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);
    const b = tiny(11);
    await loadWeights(b, fileSystem(join(target, 'model.json')));
    expect(values(b)).toEqual(values(a));
    a.dispose();
    b.dispose();
  });

  it('loads through any tf.io handler (here an in-memory one, as a browser would use)', async () => {
    const a = tiny(12);
    let saved: tf.io.ModelArtifacts | undefined;
    await saveWeights(
      a,
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const b = tiny(13);
    await loadWeights(b, tf.io.fromMemory(saved as tf.io.ModelArtifacts));
    expect(values(b)).toEqual(values(a));
    a.dispose();
    b.dispose();
  });

  async function tampered(
    name: string,
    edit: (group: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }) => void,
  ) {
    const model = tiny(14);
    const folder = join(dir, name);
    mkdirSync(folder);
    await saveWeights(model, fileSystem(folder));
    const path = join(folder, 'model.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    edit(json.weightsManifest[0]);
    writeFileSync(path, JSON.stringify(json));
    const before = values(model);
    const result = loadWeights(model, fileSystem(folder));
    return { model, before, result };
  }

  it('refuses a shard path that leaves the model folder, before reading anything', async () => {
    writeFileSync(join(dir, 'outside.bin'), new Uint8Array(8));
    const { model, before, result } = await tampered('escape', (g) => {
      g.paths = ['../outside.bin'];
    });
    await expect(result).rejects.toThrow(/leaves the model's folder/);
    expect(values(model)).toEqual(before);
    model.dispose();
  });

  it('refuses absolute shard paths and URLs', async () => {
    const { model, result } = await tampered('absolute', (g) => {
      g.paths = ['/etc/passwd'];
    });
    await expect(result).rejects.toThrow(/absolute or a URL/);
    model.dispose();
  });

  it('refuses a manifest that asks for more bytes than the shards hold', async () => {
    const { model, before, result } = await tampered('lying', (g) => {
      const first = g.weights[0] as { shape: number[] };
      first.shape = [4000, 3, 3, 3];
    });
    await expect(result).rejects.toThrow(/describes \d+ bytes of weights but its shards hold \d+/);
    expect(values(model)).toEqual(before);
    model.dispose();
  });

  it('refuses a tensor count that would exhaust memory', async () => {
    const { model, result } = await tampered('count', (g) => {
      const spec = g.weights[0] as { name: string; shape: number[]; dtype: string };
      g.weights = Array.from({ length: 200_000 }, (_, i) => ({ ...spec, name: `w${i}` }));
    });
    await expect(result).rejects.toThrow(/more than 100000 tensors/);
    model.dispose();
  });

  it('refuses weights of another architecture by name, leaving the model unchanged', async () => {
    const other = tiny(15, 9);
    const folder = join(dir, 'other');
    mkdirSync(folder);
    await saveWeights(other, fileSystem(folder));
    const model = tiny(16);
    const before = values(model);
    await expect(loadWeights(model, fileSystem(folder))).rejects.toThrow(WeightsMismatchError);
    expect(values(model)).toEqual(before);
    other.dispose();
    model.dispose();
  });
});
