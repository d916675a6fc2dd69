import protobuf from 'protobufjs/light.js';
import schema from './onnx-schema.json';

/** Which ONNX release the protobuf schema comes from (schema/onnx.proto, unchanged). */
export const ONNX_SCHEMA_SOURCE: { readonly onnx: string; readonly from: string } = Object.freeze({ ...schema.source });

/** `TensorProto.DataType` values the exporter writes. */
export const DataType = { FLOAT: 1, INT64: 7 } as const;

/** `AttributeProto.AttributeType` values the exporter writes. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

let modelType: protobuf.Type | null = null;

/** `onnx.ModelProto` of ONNX's own schema, as protobufjs encodes it (built once). */
export function modelProto(): protobuf.Type {
  if (!modelType) {
    const root = protobuf.Root.fromJSON(schema.descriptor as protobuf.INamespace);
    modelType = root.lookupType('onnx.ModelProto');
    checkEnums(root);
  }
  return modelType;
}

/** The constants above must be the schema's own numbers. */
function checkEnums(root: protobuf.Root): void {
  const dataTypes = root.lookupEnum('onnx.TensorProto.DataType').values;
  const attributeTypes = root.lookupEnum('onnx.AttributeProto.AttributeType').values;
  for (const [k, v] of Object.entries(DataType)) {
    if (dataTypes[k] !== v) throw new Error(`onnx schema: TensorProto.DataType.${k} is ${dataTypes[k]}, expected ${v}`);
  }
  for (const [k, v] of Object.entries(AttributeType)) {
    if (attributeTypes[k] !== v) {
      throw new Error(`onnx schema: AttributeProto.AttributeType.${k} is ${attributeTypes[k]}, expected ${v}`);
    }
  }
}
