import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/errors';
import { tensorflowStepMode } from '../../../src/model/graph-backprop';
import { GraphBuilder, savedModelBytes } from '../../../src/model/tf-graph/graph-builder';
import { ProtoWriter } from '../../../src/model/tf-graph/protobuf';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

describe('protocol-buffers encoder (TensorFlow graphs)', () => {
  it('writes varints, negative int64s, floats, strings and nested messages as protobuf does', () => {
    // Hand-encoded: field 1 varint 150 → 08 96 01; field 2 varint −1 → 10 + ten bytes;
    // field 3 float 1.5 → 1d 0000c03f; field 4 "ab" → 22 02 6162; field 5 {1: 1} → 2a 02 0801.
    const bytes = new ProtoWriter()
      .varint(1, 150)
      .varint(2, -1)
      .float(3, 1.5)
      .string(4, 'ab')
      .message(5, new ProtoWriter().varint(1, true))
      .finish();
    assert.equal(
      hex(bytes),
      '089601' + '10ffffffffffffffffff01' + '1d0000c03f' + '22026162' + '2a020801',
    );
  });

  it('writes a map entry as a message with key 1 and value 2', () => {
    // attr { key: "T" value { type: DT_FLOAT } }: 2a 07 | 0a 01 'T' | 12 02 (30 01).
    const bytes = new ProtoWriter().mapEntry(5, 'T', new ProtoWriter().varint(6, 1)).finish();
    assert.equal(hex(bytes), '2a07' + '0a0154' + '12023001');
  });
});

describe('GraphBuilder', () => {
  it('names nodes uniquely, refuses a duplicate name, and wraps the graph in a SavedModel', () => {
    const g = new GraphBuilder();
    const x = g.placeholder('x', [-1, 3]);
    const y = g.node('Relu', [x], { T: { type: 1 } });
    assert.notEqual(y, x);
    assert.throws(() => g.placeholder('x', [1]), /duplicate node name 'x'/);
    const model = savedModelBytes(g.graphDef(1087), ['serve']);
    // saved_model_schema_version = 1, then the meta graph (field 2) whose info carries the tag.
    assert.equal(hex(model.subarray(0, 3)), '0801' + '12');
    assert.ok(Buffer.from(model).includes(Buffer.from('serve')));
    assert.ok(Buffer.from(model).includes(Buffer.from('Placeholder')));
  });
});

describe('AGP_TF_STEP', () => {
  it('selects the graph step by default, eager on request, and names a wrong value', () => {
    const saved = process.env['AGP_TF_STEP'];
    try {
      delete process.env['AGP_TF_STEP'];
      assert.equal(tensorflowStepMode(), 'graph');
      process.env['AGP_TF_STEP'] = 'eager';
      assert.equal(tensorflowStepMode(), 'eager');
      process.env['AGP_TF_STEP'] = 'fused';
      assert.throws(
        () => tensorflowStepMode(),
        (e: unknown) =>
          e instanceof ConfigError && /AGP_TF_STEP: unknown step mode 'fused'/.test(e.message),
      );
    } finally {
      if (saved === undefined) delete process.env['AGP_TF_STEP'];
      else process.env['AGP_TF_STEP'] = saved;
    }
  });
});
