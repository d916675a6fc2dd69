import { AttributeType, DataType } from './schema.js';

/** A dimension of an ONNX tensor type: a size, a named symbolic size, or unknown (null). */
export type Dim = number | string | null;

/** An attribute value: an int, a float, a list of ints or a string. */
export type AttributeValue = { int: number } | { float: number } | { ints: readonly number[] } | { string: string };

/** Plain objects in the shape of ONNX's protobuf messages (field names as in onnx.proto). */
interface TensorMessage {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
interface NodeMessage {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}
export interface ValueInfoMessage {
  name: string;
  doc_string?: string;
  type: { tensor_type: { elem_type: number; shape: { dim: Record<string, unknown>[] } } };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The little-endian bytes of a typed array (ONNX's raw_data), without a copy on little-endian hosts. */
function littleEndianBytes(values: Float32Array | BigInt64Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (LITTLE_ENDIAN) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const width = values.BYTES_PER_ELEMENT;
  for (let i = 0; i < bytes.length; i += width) {
    for (let b = 0; b < width; b++) swapped[i + b] = bytes[i + width - 1 - b] as number;
  }
  return swapped;
}

/** An ONNX tensor type with a float32 element type. */
export function floatValueInfo(name: string, dims: readonly Dim[], docString?: string): ValueInfoMessage {
  return {
    name,
    ...(docString ? { doc_string: docString } : {}),
    type: {
      tensor_type: {
        elem_type: DataType.FLOAT,
        shape: {
          dim: dims.map((d) =>
            typeof d === 'number' ? { dim_value: d } : typeof d === 'string' ? { dim_param: d } : {},
          ),
        },
      },
    },
  };
}

/**
 * The nodes, initializers and intermediate value types of one ONNX graph. Every value has one
 * name; a name used twice is a bug in the exporter and throws.
 */
export class GraphBuilder {
  readonly nodes: NodeMessage[] = [];
  readonly initializers: TensorMessage[] = [];
  readonly valueInfo = new Map<string, ValueInfoMessage>();
  private readonly names = new Set<string>();
  /** Bytes of tensor data in the initializers. */
  initializerBytes = 0;

  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`onnx export: the value name ${name} is used twice`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input's name (so that nothing else takes it). */
  input(name: string): string {
    return this.claim(name);
  }

  /** A float32 initializer with dims (ONNX's order). Returns its name. */
  floats(name: string, dims: readonly number[], values: Float32Array): string {
    return this.initializer(name, dims, DataType.FLOAT, values);
  }

  /** An int64 initializer (shapes, pads, slice bounds). Returns its name. */
  int64s(name: string, values: readonly (number | bigint)[]): string {
    return this.initializer(name, [values.length], DataType.INT64, BigInt64Array.from(values.map((v) => BigInt(v))));
  }

  private initializer(name: string, dims: readonly number[], dataType: number, values: Float32Array | BigInt64Array) {
    const count = dims.reduce((p, d) => p * d, 1);
    if (count !== values.length) {
      throw new Error(`onnx export: initializer ${name} has ${values.length} values for dims [${dims.join(', ')}]`);
    }
    this.initializers.push({
      name: this.claim(name),
      dims: [...dims],
      data_type: dataType,
      raw_data: littleEndianBytes(values),
    });
    this.initializerBytes += values.byteLength;
    return name;
  }

  /**
   * A node named `name` whose single output value has the same name and the type `dims` (recorded
   * as value_info). Returns the output's name.
   */
  node(
    opType: string,
    name: string,
    inputs: readonly string[],
    attributes: Record<string, AttributeValue> = {},
    dims?: readonly Dim[],
  ): string {
    this.claim(name);
    this.nodes.push({
      name,
      op_type: opType,
      input: [...inputs],
      output: [name],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    if (dims) this.valueInfo.set(name, floatValueInfo(name, dims));
    return name;
  }

  /** Renames a value everywhere (its producer's output and every consumer's input). */
  rename(from: string, to: string): void {
    this.claim(to);
    this.names.delete(from);
    for (const n of this.nodes) {
      n.output = n.output.map((v) => (v === from ? to : v));
      n.input = n.input.map((v) => (v === from ? to : v));
    }
    this.valueInfo.delete(from);
  }
}

function attribute(name: string, value: AttributeValue): Record<string, unknown> {
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('ints' in value) return { name, type: AttributeType.INTS, ints: [...value.ints] };
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
}
