import { ProtoWriter } from './protobuf';

/*
 * A TensorFlow GraphDef built node by node, and the SavedModel that carries it. Field numbers
 * are those of TensorFlow's graph.proto, node_def.proto, attr_value.proto, tensor.proto,
 * tensor_shape.proto, meta_graph.proto and saved_model.proto (stable since TF 1.x).
 */

/** TensorFlow DataType enum values (types.proto). */
export const DT_FLOAT = 1;
export const DT_INT32 = 3;
export const DT_UINT8 = 4;
export const DT_STRING = 7;
export const DT_INT64 = 9;
export const DT_BOOL = 10;

/** A constant's value: raw little-endian `content`, or `strings` for DT_STRING. */
export interface TensorValue {
  dtype: number;
  dims: readonly number[];
  content?: Uint8Array;
  strings?: readonly Uint8Array[];
}

/**
 * A node attribute: a type, bool, int, string, a shape (dims, −1 unknown), a list of types, an
 * int32 list or any constant tensor.
 */
export type Attr =
  | { type: number }
  | { bool: boolean }
  | { int: number }
  | { string: string }
  | { shape: readonly number[] }
  | { typeList: readonly number[] }
  | { int32Tensor: readonly number[]; dims: readonly number[] }
  | { tensor: TensorValue };

function shapeProto(dims: readonly number[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const size of dims) shape.message(2, new ProtoWriter().varint(1, size));
  return shape;
}

function tensorProto(t: TensorValue): ProtoWriter {
  const tensor = new ProtoWriter().varint(1, t.dtype).message(2, shapeProto(t.dims));
  if (t.content !== undefined) tensor.bytes(4, t.content);
  for (const s of t.strings ?? []) tensor.bytes(8, s);
  return tensor;
}

function attrProto(attr: Attr): ProtoWriter {
  const value = new ProtoWriter();
  if ('type' in attr) return value.varint(6, attr.type);
  if ('bool' in attr) return value.varint(5, attr.bool);
  if ('int' in attr) return value.varint(3, attr.int);
  if ('string' in attr) return value.string(2, attr.string);
  if ('shape' in attr) return value.message(7, shapeProto(attr.shape));
  if ('typeList' in attr) {
    const list = new ProtoWriter();
    for (const t of attr.typeList) list.varint(6, t);
    return value.message(1, list);
  }
  if ('tensor' in attr) return value.message(8, tensorProto(attr.tensor));
  const content = new Uint8Array(Int32Array.from(attr.int32Tensor).buffer);
  return value.message(8, tensorProto({ dtype: DT_INT32, dims: attr.dims, content }));
}

/**
 * Nodes of one graph. Every method returns the new node's output name ("name" for output 0),
 * which later nodes take as an input; "name:k" names output k.
 */
export class GraphBuilder {
  private readonly nodes: ProtoWriter[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** Adds a node; `name` defaults to a unique `op_N`. */
  node(
    op: string,
    inputs: readonly string[],
    attrs: Record<string, Attr> = {},
    name?: string,
  ): string {
    const nodeName = name ?? `${op.toLowerCase()}_${this.counter++}`;
    if (this.names.has(nodeName))
      throw new Error(`GraphBuilder: duplicate node name '${nodeName}'`);
    this.names.add(nodeName);
    const node = new ProtoWriter().string(1, nodeName).string(2, op);
    for (const input of inputs) node.string(3, input);
    for (const [key, attr] of Object.entries(attrs)) node.mapEntry(5, key, attrProto(attr));
    this.nodes.push(node);
    return nodeName;
  }

  /** An input of the given shape (−1 for a dimension fed at run time); float32 by default. */
  placeholder(name: string, dims: readonly number[], dtype = DT_FLOAT): string {
    return this.node('Placeholder', [], { dtype: { type: dtype }, shape: { shape: dims } }, name);
  }

  /** A constant of any type. */
  constant(value: TensorValue, name?: string): string {
    return this.node('Const', [], { dtype: { type: value.dtype }, value: { tensor: value } }, name);
  }

  /** A float32 constant (little-endian bytes of `values`). */
  float32(values: Float32Array, dims: readonly number[], name?: string): string {
    const content = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return this.constant({ dtype: DT_FLOAT, dims, content }, name);
  }

  /** An int64 constant; a scalar when `dims` is []. */
  int64(values: readonly (number | bigint)[], dims: readonly number[] = [values.length]): string {
    const content = new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer);
    return this.constant({ dtype: DT_INT64, dims, content });
  }

  /** A string scalar (bytes, not necessarily UTF-8). */
  bytesScalar(bytes: Uint8Array): string {
    return this.constant({ dtype: DT_STRING, dims: [], strings: [bytes] });
  }

  /** An int32 constant. */
  int32(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.node('Const', [], {
      dtype: { type: DT_INT32 },
      value: { int32Tensor: values, dims },
    });
  }

  /** The serialized GraphDef. `producer` is the GraphDef version the ops are written for. */
  graphDef(producer: number): Uint8Array {
    const graph = new ProtoWriter();
    for (const node of this.nodes) graph.message(1, node);
    graph.message(4, new ProtoWriter().varint(1, producer));
    return graph.finish();
  }
}

/** One input or output of a signature: a graph tensor ("node:0"), its type and shape. */
export interface SignatureTensor {
  tensor: string;
  dtype: number;
  dims: readonly number[];
}

/** A SignatureDef: named inputs and outputs and the method (e.g. TF Serving's predict). */
export interface Signature {
  inputs: Record<string, SignatureTensor>;
  outputs: Record<string, SignatureTensor>;
  methodName: string;
}

function tensorInfo(t: SignatureTensor): ProtoWriter {
  return new ProtoWriter().string(1, t.tensor).varint(2, t.dtype).message(3, shapeProto(t.dims));
}

/**
 * A SavedModel (saved_model.pb) holding one MetaGraphDef with the given tags and no variables.
 * Without `signatures` callers run it by node name; with them (e.g. `serving_default`) it is
 * what TensorFlow Serving and `tf.node.loadSavedModel` look up.
 */
export function savedModelBytes(
  graphDef: Uint8Array,
  tags: readonly string[],
  signatures: Record<string, Signature> = {},
): Uint8Array {
  const info = new ProtoWriter();
  for (const tag of tags) info.string(4, tag);
  const metaGraph = new ProtoWriter().message(1, info).bytes(2, graphDef);
  for (const [key, sig] of Object.entries(signatures)) {
    const def = new ProtoWriter();
    for (const [name, t] of Object.entries(sig.inputs)) def.mapEntry(1, name, tensorInfo(t));
    for (const [name, t] of Object.entries(sig.outputs)) def.mapEntry(2, name, tensorInfo(t));
    def.string(3, sig.methodName);
    metaGraph.mapEntry(5, key, def);
  }
  return new ProtoWriter().varint(1, 1).message(2, metaGraph).finish();
}
