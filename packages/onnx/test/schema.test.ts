import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROTO_PATH, SCHEMA_PATH, SCHEMA_SOURCE, schemaJson } from '../scripts/generate-schema.mjs';
import { ONNX_SCHEMA_SOURCE } from '../src/index.js';

// The exporter encodes with ONNX's own schema: schema/onnx.proto as Debian's python3-onnx ships it,
// turned into protobufjs's JSON descriptor by scripts/generate-schema.mjs.
describe('the ONNX schema', () => {
  it('src/onnx-schema.json is what scripts/generate-schema.mjs makes of schema/onnx.proto', () => {
    // Compared as data: the formatter may lay the committed file out its own way.
    expect(JSON.parse(readFileSync(SCHEMA_PATH, 'utf8'))).toEqual(
      JSON.parse(schemaJson(readFileSync(PROTO_PATH, 'utf8'))),
    );
  });

  it('is ONNX 1.12.0’s (IR version 8), the version recorded with it', () => {
    const proto = readFileSync(PROTO_PATH, 'utf8');
    expect(proto).toMatch(/^\s*IR_VERSION = 0x0000000000000008;/m);
    expect(ONNX_SCHEMA_SOURCE).toEqual(SCHEMA_SOURCE);
    expect(ONNX_SCHEMA_SOURCE.onnx).toBe('1.12.0');
  });

  it('is the one Debian’s python3-onnx installs, when it is installed', () => {
    const debian = '/usr/lib/python3/dist-packages/onnx/onnx.proto';
    let installed: string;
    try {
      installed = readFileSync(debian, 'utf8');
    } catch {
      throw new Error(
        `${debian} is missing: install Debian's python3-onnx (\`node scripts/bootstrap.mjs --test\` does)`,
      );
    }
    expect(readFileSync(PROTO_PATH, 'utf8')).toBe(installed);
  });
});
