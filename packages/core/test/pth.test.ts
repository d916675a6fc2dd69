import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '@resnet/backends';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { compare, nchwToNhwc } from '../../../tools/test-support/fixtures.js';
import { type PthManifest, pthFixturePath, pthManifest } from '../../../tools/test-support/pth-fixtures.js';
import { runTorch } from '../../../tools/test-support/torch.js';
import {
  ArgumentError,
  BasicBlock,
  type ByteSource,
  exportStateDict,
  FormatError,
  type HostTensor,
  memorySource,
  parseNpy,
  parseStateDict,
  ResNet,
  readStateDict,
  WeightsMismatchError,
} from '../src/index.js';
import { loadTorchvisionWeights, readSafetensorsFile, readStateDictFile, writeSafetensorsFile } from '../src/node.js';

// .pth files written by Debian's torch.save (tools/fixtures/pth.py): every value we read must be
// the value torch loads, bit for bit; every file torch's own weights-only rules would not trust is
// refused with a message that says why and how to fix it.

let manifest: PthManifest;
const path = (name: string) => pthFixturePath(manifest.files[name]?.file as string);
const expected = (name: string) =>
  readSafetensorsFile(pthFixturePath(manifest.files[name]?.expected as string)).tensors;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  manifest = pthManifest();
});

/** Same names in the same order, same shapes and dtypes, and the same 32-bit patterns. */
function expectSameTensors(actual: Map<string, HostTensor>, reference: Map<string, HostTensor>): void {
  expect([...actual.keys()]).toEqual([...reference.keys()]);
  for (const [name, want] of reference) {
    const got = actual.get(name) as HostTensor;
    expect({ name, dtype: got.dtype, shape: got.shape }).toEqual({ name, dtype: want.dtype, shape: want.shape });
    const a = new Int32Array(got.data.buffer, got.data.byteOffset, got.data.length);
    const b = new Int32Array(want.data.buffer, want.data.byteOffset, want.data.length);
    const first = a.findIndex((v, i) => v !== b[i]);
    expect(first, `${name}: first element that differs from torch`).toBe(-1);
  }
}

function counting(source: ByteSource): ByteSource & { total: number } {
  const counter = {
    size: source.size,
    total: 0,
    read(offset: number, length: number) {
      counter.total += length;
      return source.read(offset, length);
    },
  };
  return counter;
}

const torchvisionResnet18 = () => new ResNet(BasicBlock, [2, 2, 2, 2]);

describe('.pth files written by torch.save', () => {
  it("gives torchvision's resnet18 output on the WASM backend (within 1e-4 of the largest magnitude)", () => {
    const fixture = manifest.files.resnet18 as NonNullable<PthManifest['files'][string]>;
    const model = torchvisionResnet18();
    const tensorsBefore = tf.memory().numTensors;
    const report = loadTorchvisionWeights(model, path('resnet18'));
    expect(report.loaded).toHaveLength(122);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const input = nchwToNhwc(parseNpy(new Uint8Array(readFileSync(pthFixturePath(fixture.input as string)))));
    const reference = parseNpy(new Uint8Array(readFileSync(pthFixturePath(fixture.output as string))));
    const y = tf.tidy(() => model.predict(tf.tensor(input.data, input.shape)));
    const { relative } = compare(y.dataSync(), reference.data);
    expect(relative).toBeLessThan(1e-4);
    y.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    model.dispose();
  });

  it.each([
    ['resnet18', 'float32'],
    ['resnet18_fp16', 'float16'],
    ['resnet18_bf16', 'bfloat16'],
  ])('reads %s (%s) as the float32 values torch loads, bit for bit', (name, dtype) => {
    const file = readStateDictFile(path(name));
    expect(file.format).toBe('pth');
    expectSameTensors(file.tensors, expected(name));
    expect(file.sourceDtypes.get('conv1.weight')).toBe(dtype);
    expect(file.sourceDtypes.get('bn1.num_batches_tracked')).toBe('int64');
    expect(file.tensors.get('bn1.num_batches_tracked')?.dtype).toBe('int32');
  });

  it('materialises views of shared storages (offsets, steps, transposes, permutes, stride 0, 0-d, empty) in every dtype', () => {
    const file = readStateDictFile(path('views'));
    expectSameTensors(file.tensors, expected('views'));
    expect(Object.fromEntries(file.sourceDtypes)).toMatchObject({
      'float.transposed': 'float32',
      'half.specials': 'float16',
      'bfloat16.step': 'bfloat16',
      'double.view': 'float64',
      'long.extremes': 'int64',
      'int.step': 'int32',
    });
    expect(file.tensors.get('float.expanded')?.shape).toEqual([3, 4]);
    expect(file.tensors.get('float.scalar')?.shape).toEqual([]);
    expect(file.tensors.get('float.empty')?.shape).toEqual([0]);
    expect(Array.from(file.tensors.get('long.extremes')?.data ?? [])).toEqual([2147483647, -2147483648]);
  });

  it.each([
    ['resnet18_big_endian', 'resnet18'],
    ['views_big_endian', 'views'],
  ])('reads %s (byteorder big, rewritten by Python zipfile) as the same values as %s', (big, little) => {
    const b = readStateDictFile(path(big));
    expect(b.metadata.byteorder).toBe('big');
    expectSameTensors(b.tensors, readStateDictFile(path(little)).tensors);
  });

  it.each([
    ['checkpoint', 'state_dict'],
    ['checkpoint_model', 'model'],
  ])('takes the state_dict out of a training checkpoint (%s, under %s)', (name, wrapper) => {
    const file = readStateDictFile(path(name));
    expect(file.metadata.wrapper).toBe(wrapper);
    expectSameTensors(file.tensors, expected(name));
  });

  it('reads pickle protocol 4 and nn.Parameter objects (torch._utils._rebuild_parameter)', () => {
    expectSameTensors(readStateDictFile(path('protocol4')).tensors, expected('protocol4'));
    expectSameTensors(readStateDictFile(path('parameters')).tensors, expected('parameters'));
  });

  it('reads the zip variants torch reads: zip64 extra fields, no CRC recorded, Python zipfile, big-endian', () => {
    const corpus = (name: string) => parseStateDict(readFileSync(join(import.meta.dirname, 'corpus', 'pth', name)));
    const reference = corpus('ok-state-dict').tensors;
    expect(reference.size).toBe(9);
    for (const variant of ['ok-zip64-extra-fields', 'ok-crc-not-recorded', 'ok-big-endian-python-zipfile']) {
      expectSameTensors(corpus(variant).tensors, reference);
    }
  });

  it('gives the same result from memory (parseStateDict) as from disk (readStateDictFile)', () => {
    const bytes = readFileSync(path('views'));
    expectSameTensors(parseStateDict(bytes).tensors, readStateDictFile(path('views')).tensors);
    expectSameTensors(parseStateDict(new Uint8Array(bytes).slice().buffer).tensors, expected('views'));
    expect(() => parseStateDict('weights.pth' as never)).toThrow(ArgumentError);
  });

  it('reads safetensors through the same entry points', () => {
    const file = readStateDictFile(pthFixturePath(manifest.files.views?.expected as string));
    expect(file.format).toBe('safetensors');
    expectSameTensors(file.tensors, expected('views'));
    expect(file.sourceDtypes.get('long.view')).toBe('int64');
    // A 640-byte header: the file starts with 0x80 0x02, as a pickle does.
    const header = new TextEncoder().encode(`{}${' '.repeat(638)}`);
    const bytes = new Uint8Array(8 + header.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    expect(parseStateDict(bytes)).toMatchObject({ format: 'safetensors', tensors: new Map() });
  });

  it('says what a file is when it is neither', () => {
    expect(() => parseStateDict(new Uint8Array([0x80, 0x02, 0x7d, 0x2e]))).toThrow(/bare Python pickle/);
    expect(() => parseStateDict(new TextEncoder().encode('<!DOCTYPE html><html>'))).toThrow(
      /expected a \.pth written by torch\.save .* or safetensors.*first bytes 3c 21 44 4f/,
    );
    expect(() => parseStateDict(new Uint8Array(0))).toThrow(/the file has 0 bytes/);
  });

  it('reads each byte of the archive about once, and a zip bomb not at all', () => {
    const bytes = new Uint8Array(readFileSync(path('resnet18')));
    const source = counting(memorySource(bytes));
    readStateDict(source);
    expect(source.total).toBeLessThan(bytes.length + 70_000); // + the end-of-archive search window
    const bomb = new Uint8Array(readFileSync(path('zip_bomb_overlap')));
    const bombSource = counting(memorySource(bomb));
    expect(() => readStateDict(bombSource)).toThrow(/overlaps/);
    expect(bombSource.total).toBeLessThanOrEqual(bomb.length * 2);
  });
});

describe('.pth files that are refused, with the reason and the fix', () => {
  const refusals: [string, RegExp][] = [
    [
      'legacy',
      /legacy format \(torch < 1\.6.*_use_new_zipfile_serialization=False.*torch\.save\(torch\.load\(path\), new_path\)/,
    ],
    ['torchscript', /TorchScript archive.*torch\.save\(torch\.jit\.load\(path\)\.state_dict\(\)/],
    ['malicious_system', /refusing the global posix\.system \(os\.system\)/],
    ['malicious_eval', /refusing the global builtins\.eval/],
    ['checkpoint_args', /refusing the global argparse\.Namespace.*torch\.save\(model\.state_dict\(\), path\)/],
    ['truncated', /truncated or damaged zip archive: no end-of-central-directory record/],
    ['short_storage', /shape \[8\].*reaches element 7, but its storage holds 4 elements/],
    ['short_record', /storage '0' declares 8 float32 elements \(32 bytes\) but its record holds 20 bytes/],
    ['duplicate_entries', /the entry 'views\/data\/0' appears twice/],
    ['zip_bomb_deflate', /compressed with deflate \(method 8\).*stored \(uncompressed\)/],
    ['zip_bomb_overlap', /overlaps .*zip bombs/],
  ];

  it('covers every refused fixture', () => {
    const refused = Object.entries(manifest.files).filter(([, f]) => f.refusal);
    expect(refused.map(([n]) => n).sort()).toEqual(refusals.map(([n]) => n).sort());
  });

  it.each(refusals)('refuses %s from disk and from memory', (name, message) => {
    expect(() => readStateDictFile(path(name))).toThrow(FormatError);
    expect(() => readStateDictFile(path(name))).toThrow(message);
    expect(() => parseStateDict(readFileSync(path(name)))).toThrow(message);
  });

  it('never runs the malicious pickles (their marker files do not exist)', () => {
    for (const name of ['malicious_system', 'malicious_eval']) {
      const marker = manifest.files[name]?.marker as string;
      expect(marker).toMatch(/\.marker$/);
      expect(() => readStateDictFile(path(name))).toThrow(FormatError);
      expect(existsSync(marker), marker).toBe(false);
    }
  });

  it('leaves the model untouched after any failed load, without leaking tensors', () => {
    const model = new ResNet({ block: 'basic', depths: [1, 1], widths: [4, 8], stem: 'cifar', numClasses: 3, seed: 1 });
    const before = model.namedSlots().map(([, s]) => Array.from(s.variable.dataSync()));
    const tensors = tf.memory().numTensors;
    for (const [name] of refusals) expect(() => loadTorchvisionWeights(model, path(name))).toThrow(FormatError);
    expect(() => loadTorchvisionWeights(model, path('resnet18'))).toThrow(WeightsMismatchError);
    expect(model.namedSlots().map(([, s]) => Array.from(s.variable.dataSync()))).toEqual(before);
    expect(tf.memory().numTensors).toBe(tensors);
    model.dispose();
  });
});

describe('safetensors written by us, read back by torch', () => {
  it("loads into torchvision's resnet18 with load_state_dict(strict=True), bit for bit", () => {
    const model = torchvisionResnet18();
    loadTorchvisionWeights(model, path('resnet18'));
    const out = join(mkdtempSync(join(tmpdir(), 'resnet-pth-')), 'resnet18.safetensors');
    writeSafetensorsFile(out, exportStateDict(model), { source: 'resnet18.pth' });
    model.dispose();
    // A reader written from the published format (Debian has no python3-safetensors): the header
    // length, a JSON object (no duplicate names), offsets that tile the data section exactly.
    const result = runTorch<{ keys: number; mismatched: string[]; dtypes: string[]; metadata: Record<string, string> }>(
      `
import collections, struct, torchvision
DTYPES = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
          'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}
raw = open(inputs['safetensors'], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
assert raw[8:9] == b'{', 'the header must start with {'
def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), 'duplicate names'
    return collections.OrderedDict(pairs)
header = json.loads(raw[8:8 + n].decode('utf-8'), object_pairs_hook=no_duplicates)
metadata = header.pop('__metadata__', {})
data = raw[8 + n:]
spans = sorted(tuple(e['data_offsets']) for e in header.values())
cursor = 0
for begin, end in spans:
    assert begin == cursor, 'offsets must tile the data section'
    cursor = end
assert cursor == len(data), 'the data section must end with the last tensor'
state = collections.OrderedDict()
for name, e in header.items():
    begin, end = e['data_offsets']
    dtype = DTYPES[e['dtype']]
    t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
    assert t.numel() == int(np.prod(e['shape'])), name
    state[name] = t.reshape(e['shape'])
model = torchvision.models.resnet18(weights=None)
model.load_state_dict(state, strict=True)
reference = torch.load(inputs['pth'])
def same(a, b):
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return torch.equal(a.view(torch.int32), b.view(torch.int32)) if a.is_floating_point() else torch.equal(a, b)
outputs['keys'] = len(state)
outputs['mismatched'] = [k for k, v in model.state_dict().items() if not same(v, reference[k])]
outputs['dtypes'] = sorted({str(v.dtype) for v in model.state_dict().values()})
outputs['metadata'] = metadata
`,
      { safetensors: out, pth: path('resnet18') },
    );
    expect(result).toEqual({
      keys: 122,
      mismatched: [],
      dtypes: ['torch.float32', 'torch.int64'],
      metadata: { source: 'resnet18.pth' },
    });
  });
});
