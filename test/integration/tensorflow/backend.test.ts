// The `tensorflow` tfjs backend that `npm run setup:tensorflow` provisions: it is the one
// initBackend picks, and it computes a DLRM-shaped forward/backward pass like the cpu backend.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../../src/model/backend';

const binding = path.resolve(
  __dirname,
  '../../../node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node',
);
const skip = fs.existsSync(binding)
  ? false
  : `the tensorflow backend is not provisioned (${binding} missing): run npm run setup:tensorflow`;
if (skip !== false) process.stdout.write(`# skipping tensorflow backend tests: ${skip}\n`);

process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';

/** Deterministic values in [-1, 1) so both backends see identical inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/**
 * Loss and gradients of a small DLRM-like step: embedding gather [B, D], a dense layer with ReLU
 * [B, H], a logit, sigmoid cross-entropy; the embedding gradient goes back through the gather as
 * tfjs' gather gradient (unsortedSegmentSum) computes it.
 */
async function stepOn(backend: string): Promise<{ loss: number; grads: Float32Array[] }> {
  assert.ok(await tf.setBackend(backend));
  assert.equal(tf.getBackend(), backend);
  return tf.tidy(() => {
    const [B, D, H, rows] = [8, 4, 6, 10];
    const table = tf.tensor2d(values(rows * D, 1), [rows, D]);
    const w1 = tf.tensor2d(values(2 * D * H, 2), [2 * D, H]);
    const w2 = tf.tensor2d(values(H, 3), [H, 1]);
    const dense = tf.tensor2d(values(B * D, 4), [B, D]);
    const ids = tf.tensor1d([0, 3, 3, 9, 1, 0, 7, 3], 'int32');
    const labels = tf.tensor2d([1, 0, 1, 1, 0, 0, 1, 0], [B, 1]);
    const f = (t: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Scalar => {
      const x = tf.concat([dense, tf.gather(t, ids)], 1);
      const logits = tf.matMul(tf.relu(tf.matMul(x, a)), b);
      return tf.losses.sigmoidCrossEntropy(labels, logits) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)([table, w1, w2]);
    return {
      loss: value.dataSync()[0] ?? NaN,
      grads: grads.map((g) => g.dataSync() as Float32Array),
    };
  });
}

void describe('tensorflow backend', { skip }, () => {
  void it('is the backend initBackend selects when provisioned', async () => {
    delete process.env['AGP_BACKEND'];
    assert.equal(await initBackend(), 'tensorflow');
    assert.equal(tf.getBackend(), 'tensorflow');
  });

  void it('gives the same loss and gradients as the cpu backend', async () => {
    const native = await stepOn('tensorflow');
    const reference = await stepOn('cpu');
    assert.ok(Math.abs(native.loss - reference.loss) < 1e-5, `${native.loss} vs ${reference.loss}`);
    assert.equal(native.grads.length, 3);
    native.grads.forEach((g, k) => {
      const r = reference.grads[k];
      assert.ok(r !== undefined && r.length === g.length);
      const worst = Math.max(...g.map((v, i) => Math.abs(v - (r[i] ?? NaN))));
      assert.ok(worst < 1e-5, `gradient ${k} differs by ${worst}`);
    });
    // The embedding gradient is zero on rows absent from the batch (row 2) and non-zero on row 3.
    const tableGrad = native.grads[0] ?? new Float32Array();
    assert.ok(tableGrad.slice(8, 12).every((v) => v === 0));
    assert.ok(tableGrad.slice(12, 16).some((v) => v !== 0));
  });

  void it('does not leak tensors across steps', async () => {
    await stepOn('tensorflow');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await stepOn('tensorflow');
    assert.equal(tf.memory().numTensors, before);
  });
});
