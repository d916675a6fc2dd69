export const PROTO_PATH: string;
export const SCHEMA_PATH: string;
export const SCHEMA_SOURCE: { onnx: string; from: string };
export function schemaJson(protoText: string): string;
