/**
 * TensorFlow's TensorProto as @grpc/proto-loader decodes it (keepCase, longs and enums as
 * strings): the two tensors of the serving signature in, the probability tensor out.
 */
export interface TensorProtoMessage {
  dtype?: string;
  tensor_shape?: { dim?: { size?: string | number }[]; unknown_rank?: boolean } | null;
  tensor_content?: Buffer;
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  int64_val?: (string | number)[];
  string_val?: Buffer[];
}

/** A tensor the service cannot read; the message names the input. */
export class TensorError extends Error {
  override readonly name = 'TensorError';
}

function dims(name: string, tensor: TensorProtoMessage): number[] {
  const shape = (tensor.tensor_shape?.dim ?? []).map((d) => Number(d.size ?? 0));
  if (shape.length !== 2) {
    throw new TensorError(
      `input '${name}': expected a tensor of shape [N, columns], got [${shape.join(', ')}]`,
    );
  }
  return shape;
}

/** Splits a flat list into rows of `width`. */
function rows<T>(values: readonly T[], n: number, width: number, name: string): T[][] {
  if (values.length !== n * width) {
    throw new TensorError(
      `input '${name}': the shape [${n}, ${width}] needs ${n * width} values, got ${values.length}`,
    );
  }
  return Array.from({ length: n }, (_, i) => values.slice(i * width, (i + 1) * width));
}

/** A numeric input [N, columns] as rows of numbers (float, double or integer tensors). */
export function numberRows(name: string, tensor: TensorProtoMessage): number[][] {
  const [n, width] = dims(name, tensor) as [number, number];
  let values: number[];
  const content = tensor.tensor_content;
  if (content !== undefined && content.length > 0) {
    if (tensor.dtype !== 'DT_FLOAT') {
      throw new TensorError(
        `input '${name}': tensor_content is read for DT_FLOAT only, got ${tensor.dtype}`,
      );
    }
    const copy = new Uint8Array(content);
    values = Array.from(new Float32Array(copy.buffer, 0, Math.floor(copy.byteLength / 4)));
  } else {
    switch (tensor.dtype) {
      case 'DT_FLOAT':
        values = tensor.float_val ?? [];
        break;
      case 'DT_DOUBLE':
        values = tensor.double_val ?? [];
        break;
      case 'DT_INT32':
        values = tensor.int_val ?? [];
        break;
      case 'DT_INT64':
        values = (tensor.int64_val ?? []).map(Number);
        break;
      default:
        throw new TensorError(`input '${name}': expected DT_FLOAT, got ${tensor.dtype}`);
    }
  }
  return rows(values, n, width, name);
}

/** A string input [N, columns] as rows of text ('' = missing). */
export function stringRows(name: string, tensor: TensorProtoMessage): string[][] {
  const [n, width] = dims(name, tensor) as [number, number];
  if (tensor.dtype !== 'DT_STRING') {
    throw new TensorError(`input '${name}': expected DT_STRING, got ${tensor.dtype}`);
  }
  return rows(
    (tensor.string_val ?? []).map((b) => b.toString('utf8')),
    n,
    width,
    name,
  );
}

/** A float vector [N] as a TensorProto. */
export function floatVector(values: Float32Array): TensorProtoMessage {
  return {
    dtype: 'DT_FLOAT',
    tensor_shape: { dim: [{ size: String(values.length) }] },
    float_val: Array.from(values),
  };
}
