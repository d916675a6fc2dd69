import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FormatError,
  type HostTensor,
  parseNpy,
  parseSafetensors,
  serializeNpy,
  serializeSafetensors,
} from '../src/index.js';

// Property-based fuzzing of the two parsers that read untrusted files. The property: any byte
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

describe('the fuzz corpus (inputs kept from fuzzing and hand-made edge cases)', () => {
  for (const kind of ['safetensors', 'npy'] as const) {
    const folder = join(CORPUS, kind);
    for (const file of readdirSync(folder).sort()) {
      it(`${kind}/${file} is ${file.startsWith('ok-') ? 'accepted' : 'refused with a FormatError'}`, () => {
        const bytes = new Uint8Array(readFileSync(join(folder, file)));
        const parse = kind === 'npy' ? parseNpy : parseSt;
        if (file.startsWith('ok-')) expect(() => parse(bytes)).not.toThrow();
        else expect(() => parse(bytes)).toThrow(FormatError);
      });
    }
  }
});
