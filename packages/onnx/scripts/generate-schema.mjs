// Generates src/onnx-schema.json, the protobuf descriptor the exporter encodes with, from ONNX's own
// schema (schema/onnx.proto, copied unchanged from Debian's python3-onnx; see schema/README.md).
// protobufjs parses the .proto here, at development time, so the package ships a small JSON
// descriptor and runs protobufjs's light build (no .proto parser) in browsers and Node alike.
//
//   pnpm --filter @resnet/onnx schema     # after replacing schema/onnx.proto
// The test suite checks that the committed JSON holds what this script writes.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const here = dirname(fileURLToPath(import.meta.url));
export const PROTO_PATH = join(here, '..', 'schema', 'onnx.proto');
export const SCHEMA_PATH = join(here, '..', 'src', 'onnx-schema.json');

/** Where schema/onnx.proto comes from (recorded in the descriptor and the models' doc strings). */
export const SCHEMA_SOURCE = {
  onnx: '1.12.0',
  from: "onnx/onnx.proto of Debian bookworm's python3-onnx 1.12.0-2+b4",
};

/** The JSON text of the descriptor for a .proto text. */
export function schemaJson(protoText) {
  const { root } = protobuf.parse(protoText, { keepCase: true, alternateCommentMode: false });
  return `${JSON.stringify({ source: SCHEMA_SOURCE, descriptor: root.toJSON() }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_PATH, schemaJson(readFileSync(PROTO_PATH, 'utf8')));
  console.log(`wrote ${SCHEMA_PATH} from ${PROTO_PATH} (ONNX ${SCHEMA_SOURCE.onnx})`);
}
