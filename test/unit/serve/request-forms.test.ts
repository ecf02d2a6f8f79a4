import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExactInteger, JsonBodyError, parseJsonBody } from '../../../src/serve/json-body';
import { readExamples, readInstances } from '../../../src/serve/request-forms';

const NAMES = { dense: ['d1', 'd2'], sparse: ['c1', 'c2'] };

describe("TF Serving's request JSON", () => {
  it('reads NaN, Infinity and -Infinity tokens outside strings, and leaves strings alone', () => {
    const body = parseJsonBody(
      '{"a": [NaN, Infinity, -Infinity, 1.5], "s": "NaN Infinity 12345678901234567890"}',
    ) as { a: number[]; s: string };
    assert.ok(Number.isNaN(body.a[0]));
    assert.equal(body.a[1], Number.POSITIVE_INFINITY);
    assert.equal(body.a[2], Number.NEGATIVE_INFINITY);
    assert.equal(body.a[3], 1.5);
    assert.equal(body.s, 'NaN Infinity 12345678901234567890');
  });

  it('keeps integers beyond 2^53 exact and safe integers as numbers', () => {
    const body = parseJsonBody(
      '{"x": [9007199254740993, -18446744073709551617, 9007199254740991, 1e21, 123456789012345.5]}',
    ) as { x: unknown[] };
    assert.deepEqual(body.x[0], new ExactInteger('9007199254740993'));
    assert.deepEqual(body.x[1], new ExactInteger('-18446744073709551617'));
    assert.equal(body.x[2], 9007199254740991);
    assert.equal(body.x[3], 1e21);
    assert.equal(body.x[4], 123456789012345.5);
  });

  it('refuses what is not JSON, saying so', () => {
    assert.throws(() => parseJsonBody('{"a": NaNa}'), JsonBodyError);
    assert.throws(() => parseJsonBody(''), /empty/);
    assert.throws(() => parseJsonBody('{"a": [1,'), /not valid JSON/);
  });
});

describe("TF Serving's request forms", () => {
  it('rows: named maps (absent = missing) and the signature tensors read the same', () => {
    const named = readInstances(
      {
        instances: [
          { dense: { d1: 3 }, sparse: { c1: 'a', c2: new ExactInteger('9007199254740993') } },
        ],
      },
      NAMES,
      10,
    );
    const tensors = readInstances(
      {
        instances: [
          { dense: [3, Number.NaN], sparse: ['a', new ExactInteger('9007199254740993')] },
        ],
      },
      NAMES,
      10,
    );
    const want = {
      form: 'row',
      instances: [{ dense: { d1: 3, d2: null }, sparse: { c1: 'a', c2: '9007199254740993' } }],
    };
    assert.deepEqual(named, want);
    assert.deepEqual(tensors, want);
  });

  it('columns: inputs of [N, columns] become N instances', () => {
    const read = readInstances(
      {
        inputs: {
          dense: [
            [1, 2],
            [3, Number.POSITIVE_INFINITY],
          ],
          sparse: [
            ['a', ''],
            ['b', 'c'],
          ],
        },
      },
      NAMES,
      10,
    );
    assert.deepEqual(read, {
      form: 'columnar',
      instances: [
        { dense: { d1: 1, d2: 2 }, sparse: { c1: 'a', c2: '' } },
        { dense: { d1: 3, d2: null }, sparse: { c1: 'b', c2: 'c' } },
      ],
    });
  });

  it('names the path of every problem', () => {
    const issues = (body: unknown) => {
      const read = readInstances(body, NAMES, 2);
      return 'issues' in read ? read.issues.map((i) => i.path) : [];
    };
    assert.deepEqual(issues({ instances: [], inputs: {} }), ['(body)']);
    assert.deepEqual(issues({ instances: [{}, {}, {}] }), ['instances']);
    assert.deepEqual(issues({ instances: [{ dense: [1] }] }), ['instances.0.dense']);
    assert.deepEqual(issues({ instances: [{ extra: 1 }] }), ['instances.0.extra']);
    assert.deepEqual(issues({ inputs: { dense: [[1, 2]], sparse: [] } }), ['inputs']);
    assert.deepEqual(issues({ instances: [{}], signature_name: 'other' }), ['signature_name']);
  });

  it('regress: examples are flat maps, context merged into each', () => {
    const read = readExamples(
      { context: { c2: 'ctx' }, examples: [{ d1: 1, c1: 'a' }, { d2: 2 }] },
      NAMES,
      10,
    );
    assert.deepEqual(read, {
      form: 'row',
      instances: [
        { dense: { d1: 1, d2: null }, sparse: { c1: 'a', c2: 'ctx' } },
        { dense: { d1: null, d2: 2 }, sparse: { c1: null, c2: 'ctx' } },
      ],
    });
    const bad = readExamples({ examples: [{ nope: 1 }] }, NAMES, 10);
    assert.deepEqual('issues' in bad ? bad.issues.map((i) => i.path) : [], ['examples.0.nope']);
  });
});
