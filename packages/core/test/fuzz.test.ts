import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FormatError,
  type HostTensor,
  parseNpy,
  parseSafetensors,
  parseStateDict,
  serializeNpy,
  serializeSafetensors,
} from '../src/index.js';
import { memorySource } from '../src/weights/byte-source.js';
import { readZipDirectory, readZipEntry } from '../src/weights/zip.js';

// Property-based fuzzing of the parsers that read untrusted files (safetensors, .npy, .pth). The property: any byte
// string either parses into consistent tensors or is refused with a FormatError — never another
// exception (RangeError, TypeError...), never an allocation the file did not pay for.
// FUZZ_RUNS raises the number of cases for a longer local run; the seed keeps CI repeatable.
const RUNS = Number(process.env.FUZZ_RUNS ?? 1500);
const SEED = 20261122;
const CORPUS = join(import.meta.dirname, 'corpus');

function parsesOrRefuses(parse: (b: Uint8Array) => unknown, bytes: Uint8Array): void {
  let result: unknown;
  try {
    result = parse(bytes);
  } catch (e) {
    if (e instanceof FormatError) return;
    throw e;
  }
  const tensors: HostTensor[] = result instanceof Map ? [...result.values()] : [result as HostTensor];
  for (const t of tensors) {
    expect(t.data.length).toBe(t.shape.reduce((p, d) => p * d, 1));
    // A parsed tensor never holds more values than the file had bytes.
    expect(t.data.length).toBeLessThanOrEqual(bytes.length);
  }
  // Nor do all of them together (views of one storage cannot multiply it).
  expect(tensors.reduce((sum, t) => sum + t.data.length, 0)).toBeLessThanOrEqual(bytes.length);
}

const parseSt = (b: Uint8Array) => parseSafetensors(b).tensors;

const validSafetensors = serializeSafetensors(
  new Map<string, HostTensor>([
    [
      'conv.weight',
      { dtype: 'float32', shape: [2, 1, 3, 3], data: Float32Array.from({ length: 18 }, (_, i) => i / 7) },
    ],
    ['bn.num_batches_tracked', { dtype: 'int32', shape: [], data: Int32Array.from([42]) }],
    ['fc.bias', { dtype: 'float32', shape: [3], data: Float32Array.from([1, 2, 3]) }],
  ]),
  { metadata: { arch: 'fuzz' } },
);
const validNpy = serializeNpy({ dtype: 'float32', shape: [1, 2, 3, 1], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });

/** Random edits of a valid file: overwrite, truncate, insert, delete. */
function mutations(base: Uint8Array) {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 16 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let b = Uint8Array.from(base);
    for (const e of edits) {
      const at = b.length === 0 ? 0 : e.at % (b.length + 1);
      if (e.kind === 'set' && b.length > 0) b[at % b.length] = e.value;
      else if (e.kind === 'truncate') b = b.subarray(0, at);
      else if (e.kind === 'insert') b = Uint8Array.from([...b.subarray(0, at), ...e.bytes, ...b.subarray(at)]);
      else if (e.kind === 'delete') b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + e.count)]);
    }
    return b;
  });
}

/** Safetensors files with a random JSON header over random data. */
const headerEntry = fc.record(
  {
    dtype: fc.constantFrom('F32', 'F64', 'F16', 'BF16', 'I64', 'I32', 'U8', 'BOOL', 'x'),
    shape: fc.array(fc.oneof(fc.nat(20), fc.integer(), fc.constant(2 ** 40), fc.double()), { maxLength: 5 }),
    data_offsets: fc.array(fc.oneof(fc.nat(600), fc.integer(), fc.double()), { minLength: 0, maxLength: 3 }),
  },
  { requiredKeys: [] },
);
const randomSafetensors = fc
  .tuple(
    fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(headerEntry, fc.jsonValue({ maxDepth: 2 })), { maxKeys: 5 }),
    fc.uint8Array({ maxLength: 600 }),
    fc.integer({ min: -8, max: 8 }),
  )
  .map(([header, data, lengthSkew]) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, json.length + lengthSkew)), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  });

/** .npy files with a random header text. */
const randomNpy = fc
  .tuple(
    fc.constantFrom("'<f4'", "'<f8'", "'<i8'", "'|u1'", "'>f4'", "'<c8'", '1', "'"),
    fc.constantFrom('False', 'True', '0', ''),
    fc.array(fc.oneof(fc.nat(10), fc.integer(), fc.constant(99999999)), { maxLength: 5 }),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 200 }),
    fc.integer({ min: 1, max: 3 }),
  )
  .map(([descr, fortran, shape, junk, data, version]) => {
    const text = `{'descr': ${descr}, 'fortran_order': ${fortran}, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), ${junk}}\n`;
    const header = new TextEncoder().encode(text);
    const lenBytes = version === 1 ? 2 : 4;
    const out = new Uint8Array(8 + lenBytes + header.length + data.length);
    out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
    const view = new DataView(out.buffer);
    if (version === 1) view.setUint16(8, header.length, true);
    else view.setUint32(8, header.length, true);
    out.set(header, 8 + lenBytes);
    out.set(data, 8 + lenBytes + header.length);
    return out;
  });

describe('fuzzing parseSafetensors', () => {
  it('accepts the valid file', () => {
    expect([...parseSt(validSafetensors).keys()]).toEqual(['conv.weight', 'bn.num_batches_tracked', 'fc.bias']);
  });
  it('parses or refuses every mutation of a valid file', () => {
    fc.assert(
      fc.property(mutations(validSafetensors), (b) => parsesOrRefuses(parseSt, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('parses or refuses random headers over random data', () => {
    fc.assert(
      fc.property(randomSafetensors, (b) => parsesOrRefuses(parseSt, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('parses or refuses arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => parsesOrRefuses(parseSt, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

describe('fuzzing parseNpy', () => {
  it('parses or refuses every mutation of a valid file', () => {
    fc.assert(
      fc.property(mutations(validNpy), (b) => parsesOrRefuses(parseNpy, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('parses or refuses random headers', () => {
    fc.assert(
      fc.property(randomNpy, (b) => parsesOrRefuses(parseNpy, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
});

const parsePth = (b: Uint8Array) => parseStateDict(b).tensors;
/** A state_dict saved by torch 1.13 (tools/fixtures/pth.py --corpus): conv, batch norm, linear. */
const validPth = new Uint8Array(readFileSync(join(CORPUS, 'pth', 'ok-state-dict')));

/** The records of a torch archive, by name (read with our own zip reader). */
function records(archive: Uint8Array): [string, Uint8Array][] {
  const source = memorySource(archive);
  return [...readZipDirectory(source).values()].map((e) => [e.name, readZipEntry(source, e)]);
}

/** A zip of stored entries with no CRC recorded (torch's "not computed"), so edited data reaches the parser. */
function storedZip(files: [string, Uint8Array | number[]][]): Uint8Array {
  const encoder = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const [name, content] of files) {
    const data = Uint8Array.from(content);
    const n = encoder.encode(name);
    const local = new Uint8Array(30 + n.length + data.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, n.length, true);
    local.set(n, 30);
    local.set(data, 30 + n.length);
    const central = new Uint8Array(46 + n.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, n.length, true);
    cv.setUint32(42, offset, true);
    central.set(n, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const directory = centrals.reduce((sum, c) => sum + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, directory, true);
  ev.setUint32(16, offset, true);
  const out = new Uint8Array(offset + directory + 22);
  let p = 0;
  for (const part of [...locals, ...centrals, end]) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

// Pickle opcodes as torch.save emits them, to build state_dict pickles with arbitrary views.
const encoder = new TextEncoder();
const u32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const pickleStr = (s: string) => [0x58, ...u32(encoder.encode(s).length), ...encoder.encode(s)];
const pickleGlobal = (module: string, name: string) => [0x63, ...encoder.encode(`${module}\n${name}\n`)];
const pickleTuple = (items: number[][]) => [0x28, ...items.flat(), 0x74];
function pickleInt(n: number): number[] {
  if (n >= 0 && n < 256) return [0x4b, n];
  if (n >= -(2 ** 31) && n < 2 ** 31) return [0x4a, ...u32(n)];
  const bytes: number[] = [];
  let v = BigInt(n);
  for (let i = 0; i < 8; i++, v >>= 8n) bytes.push(Number(v & 255n));
  return [0x8a, 8, ...bytes];
}

const STORAGES = {
  float32: ['FloatStorage', 4],
  float16: ['HalfStorage', 2],
  int32: ['IntStorage', 4],
  int64: ['LongStorage', 8],
  uint8: ['ByteStorage', 1],
} as const;
const huge = fc.constantFrom(2 ** 20, 2 ** 31, 2 ** 40);
const mostly = (small: fc.Arbitrary<number>) =>
  fc.oneof({ arbitrary: small, weight: 19 }, { arbitrary: huge, weight: 1 });
const storageSpec = fc.record({
  dtype: fc.oneof(
    {
      arbitrary: fc.constantFrom('float32', 'int32', 'float16', 'int64') as fc.Arbitrary<keyof typeof STORAGES>,
      weight: 9,
    },
    { arbitrary: fc.constant('uint8' as const), weight: 1 },
  ),
  numel: mostly(fc.nat(200)),
  exact: fc.oneof({ arbitrary: fc.constant(true), weight: 9 }, { arbitrary: fc.constant(false), weight: 1 }),
});
const viewSpec = fc
  .record({
    storage: fc.nat(2),
    offset: mostly(fc.nat(12)),
    dims: fc.array(fc.record({ size: mostly(fc.nat(5)), stride: mostly(fc.nat(5)) }), { maxLength: 3 }),
    rankMismatch: fc.oneof({ arbitrary: fc.constant(false), weight: 19 }, { arbitrary: fc.constant(true), weight: 1 }),
  })
  .map(({ dims, rankMismatch, ...v }) => ({
    ...v,
    shape: dims.map((d) => d.size),
    stride: (rankMismatch ? dims.slice(1) : dims).map((d) => d.stride),
  }));
/** torch archives whose tensors view 1 to 3 storages with random offsets, sizes and strides. */
const randomViews = fc
  .tuple(
    fc.array(storageSpec, { minLength: 1, maxLength: 3 }),
    fc.array(viewSpec, { minLength: 1, maxLength: 4 }),
    fc.uint8Array({ minLength: 1600, maxLength: 1600 }),
  )
  .map(([storages, views, fill]) => {
    const specs = views.map((v) => {
      const key = v.storage % storages.length;
      return { ...v, ...(storages[key] as (typeof storages)[number]), key: String(key) };
    });
    const items = specs.flatMap((t, i) => [
      ...pickleStr(`t${i}`),
      ...pickleGlobal('torch._utils', '_rebuild_tensor_v2'),
      0x28,
      ...pickleTuple([
        pickleStr('storage'),
        pickleGlobal('torch', STORAGES[t.dtype][0]),
        pickleStr(t.key),
        pickleStr('cpu'),
        pickleInt(t.numel),
      ]),
      0x51,
      ...pickleInt(t.offset),
      ...pickleTuple(t.shape.map(pickleInt)),
      ...pickleTuple(t.stride.map(pickleInt)),
      0x89,
      ...pickleGlobal('collections', 'OrderedDict'),
      0x29,
      0x52,
      0x74,
      0x52,
    ]);
    const files: [string, Uint8Array | number[]][] = [
      ['a/data.pkl', [0x80, 2, 0x7d, 0x28, ...items, 0x75, 0x2e]],
      ['a/version', [0x33, 0x0a]],
    ];
    storages.forEach((t, key) => {
      const bytes = t.numel * STORAGES[t.dtype][1];
      const record = fill.slice(0, t.exact ? Math.min(bytes, 1600) : (bytes * 7 + 1) % 1600);
      // int64 values mostly within int32 (the sign-extended low word), now and then not.
      if (t.dtype === 'int64' && (fill[0] as number) % 8 !== 0) {
        for (let i = 0; i + 8 <= record.length; i += 8)
          record.fill((record[i + 3] as number) & 0x80 ? 0xff : 0, i + 4, i + 8);
      }
      files.push([`a/data/${key}`, record]);
    });
    return { bytes: storedZip(files), specs };
  });

/** What each float32 or int32 element of a parsed view must be: storage[offset + Σ index·stride]. */
function expectViewValues(
  bytes: Uint8Array,
  tensors: Map<string, HostTensor>,
  specs: { dtype: string; key: string; offset: number; stride: number[] }[],
) {
  const files = new Map(records(bytes));
  specs.forEach((spec, i) => {
    const t = tensors.get(`t${i}`);
    if (!t || (spec.dtype !== 'float32' && spec.dtype !== 'int32')) return;
    const record = files.get(`a/data/${spec.key}`) as Uint8Array;
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const index = new Array<number>(t.shape.length).fill(0);
    for (let k = 0; k < t.data.length; k++) {
      const at = spec.offset + index.reduce((sum, v, d) => sum + v * (spec.stride[d] as number), 0);
      const want = spec.dtype === 'float32' ? view.getFloat32(at * 4, true) : view.getInt32(at * 4, true);
      expect(Object.is(t.data[k], want) || (Number.isNaN(want) && Number.isNaN(t.data[k]))).toBe(true);
      for (let d = t.shape.length - 1; d >= 0; d--) {
        index[d] = (index[d] as number) + 1;
        if ((index[d] as number) < (t.shape[d] as number)) break;
        index[d] = 0;
      }
    }
  });
}

/** Pickles made of the opcodes torch uses, in random order, with allowed and forbidden globals. */
const pickleSnippet = fc.oneof(
  fc.constantFrom([0x28], [0x7d], [0x5d], [0x29], [0x74], [0x85], [0x86], [0x87], [0x73], [0x75], [0x61], [0x65]),
  fc.constantFrom([0x52], [0x62], [0x51], [0x4e], [0x88], [0x89], [0x30], [0x31], [0x94], [0x93]),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(pickleInt),
  fc.constantFrom('storage', '0', '1', 'cpu', 'w', 'state_dict', 'model').map(pickleStr),
  fc
    .constantFrom(
      ['collections', 'OrderedDict'],
      ['torch._utils', '_rebuild_tensor_v2'],
      ['torch._utils', '_rebuild_parameter'],
      ['torch', 'FloatStorage'],
      ['torch', 'LongStorage'],
      ['posix', 'system'],
      ['torch', 'QInt8Storage'],
    )
    .map(([m, n]) => pickleGlobal(m as string, n as string)),
  fc.nat(8).map((i) => [0x71, i]),
  fc.nat(8).map((i) => [0x68, i]),
  fc.uint8Array({ maxLength: 4 }).map((b) => [...b]),
);
const randomPickles = fc.array(pickleSnippet, { maxLength: 60 }).map((snippets) =>
  storedZip([
    ['a/data.pkl', [0x80, 2, ...snippets.flat(), 0x2e]],
    ['a/version', [0x33, 0x0a]],
    ['a/data/0', new Uint8Array(96)],
    ['a/data/1', new Uint8Array(8)],
  ]),
);

describe('fuzzing parseStateDict (.pth)', () => {
  it('accepts the valid file', () => {
    expect(parsePth(validPth).size).toBe(9);
  });
  it('parses or refuses every mutation of a valid file', () => {
    fc.assert(
      fc.property(mutations(validPth), (b) => parsesOrRefuses(parsePth, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('parses or refuses every mutation of its pickle (re-zipped, so that it reaches the unpickler)', () => {
    const files = records(validPth);
    const pickle = files.find(([n]) => n.endsWith('/data.pkl'))?.[1] as Uint8Array;
    fc.assert(
      fc.property(mutations(pickle), (p) => {
        const b = storedZip(files.map(([n, d]) => [n, n.endsWith('/data.pkl') ? p : d]));
        parsesOrRefuses(parsePth, b);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('parses or refuses random pickles of torch opcodes and globals', () => {
    fc.assert(
      fc.property(randomPickles, (b) => parsesOrRefuses(parsePth, b)),
      { numRuns: RUNS, seed: SEED },
    );
  });
  it('reads random views of storages as storage[offset + Σ index·stride], or refuses them', () => {
    let parsed = 0;
    fc.assert(
      fc.property(randomViews, ({ bytes, specs }) => {
        parsesOrRefuses(parsePth, bytes);
        let tensors: Map<string, HostTensor>;
        try {
          tensors = parsePth(bytes);
        } catch {
          return;
        }
        expectViewValues(bytes, tensors, specs);
        parsed++;
      }),
      { numRuns: RUNS, seed: SEED },
    );
    // The property is not vacuous: a good share of the archives hold views that were read and checked.
    expect(parsed).toBeGreaterThan(RUNS / 4);
  });
});

describe('the fuzz corpus (inputs kept from fuzzing and hand-made edge cases)', () => {
  for (const kind of ['safetensors', 'npy', 'pth'] as const) {
    const folder = join(CORPUS, kind);
    for (const file of readdirSync(folder).sort()) {
      it(`${kind}/${file} is ${file.startsWith('ok-') ? 'accepted' : 'refused with a FormatError'}`, () => {
        const bytes = new Uint8Array(readFileSync(join(folder, file)));
        const parse = kind === 'npy' ? parseNpy : kind === 'pth' ? parsePth : parseSt;
        if (file.startsWith('ok-')) expect(() => parse(bytes)).not.toThrow();
        else expect(() => parse(bytes)).toThrow(FormatError);
      });
    }
  }
});
