import { ProtoWriter } from './protobuf';

/*
 * A TensorFlow GraphDef built node by node, and the SavedModel that carries it. Field numbers
 * are those of TensorFlow's graph.proto, node_def.proto, attr_value.proto, tensor.proto,
 * tensor_shape.proto, meta_graph.proto and saved_model.proto (stable since TF 1.x).
 */

/** TensorFlow DataType enum values (types.proto). */
export const DT_FLOAT = 1;
export const DT_INT32 = 3;

/** A node attribute: a type, bool, int, a shape (dims, −1 unknown) or an int32 list. */
export type Attr =
  | { type: number }
  | { bool: boolean }
  | { int: number }
  | { shape: readonly number[] }
  | { int32Tensor: readonly number[]; dims: readonly number[] };

function shapeProto(dims: readonly number[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const size of dims) shape.message(2, new ProtoWriter().varint(1, size));
  return shape;
}

function attrProto(attr: Attr): ProtoWriter {
  const value = new ProtoWriter();
  if ('type' in attr) return value.varint(6, attr.type);
  if ('bool' in attr) return value.varint(5, attr.bool);
  if ('int' in attr) return value.varint(3, attr.int);
  if ('shape' in attr) return value.message(7, shapeProto(attr.shape));
  const content = new Uint8Array(Int32Array.from(attr.int32Tensor).buffer);
  const tensor = new ProtoWriter()
    .varint(1, DT_INT32)
    .message(2, shapeProto(attr.dims))
    .bytes(4, content);
  return value.message(8, tensor);
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

  /** A float32 input of the given shape (−1 for a dimension fed at run time). */
  placeholder(name: string, dims: readonly number[]): string {
    return this.node(
      'Placeholder',
      [],
      { dtype: { type: DT_FLOAT }, shape: { shape: dims } },
      name,
    );
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

/**
 * A SavedModel (saved_model.pb) holding one MetaGraphDef with the given tags and no variables
 * or signatures: callers run it by node name.
 */
export function savedModelBytes(graphDef: Uint8Array, tags: readonly string[]): Uint8Array {
  const info = new ProtoWriter();
  for (const tag of tags) info.string(4, tag);
  const metaGraph = new ProtoWriter().message(1, info).bytes(2, graphDef);
  return new ProtoWriter().varint(1, 1).message(2, metaGraph).finish();
}
