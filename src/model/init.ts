import * as tf from '@tensorflow/tfjs-core';
import { bottomInputWidth, topInputWidth, type ModelConfig } from '../../schemas/model-config';
import type { Rng } from '../rng';
import type { DenseLayer, DenseTowers, Mlp } from './params';

/**
 * A fresh layer initialised as in the DLRM reference: w ~ N(0, √(2/(in+out))), b ~ N(0, √(1/out)).
 * w: [in, out], b: [out].
 */
export function initDenseLayer(inWidth: number, outWidth: number, rng: Rng): DenseLayer {
  const w = new Float32Array(inWidth * outWidth);
  const wStd = Math.sqrt(2 / (inWidth + outWidth));
  for (let i = 0; i < w.length; i++) w[i] = rng.normal() * wStd;
  const b = new Float32Array(outWidth);
  const bStd = Math.sqrt(1 / outWidth);
  for (let i = 0; i < b.length; i++) b[i] = rng.normal() * bStd;
  return { w: tf.tensor2d(w, [inWidth, outWidth]), b: tf.tensor1d(b) };
}

function initMlp(inWidth: number, widths: readonly number[], rng: Rng): Mlp {
  let width = inWidth;
  return widths.map((out) => {
    const layer = initDenseLayer(width, out, rng);
    width = out;
    return layer;
  });
}

/** Full-width towers for `config`; the caller owns (and disposes) the tensors. */
export function initTowers(config: ModelConfig, rng: Rng): DenseTowers {
  return {
    bottom: initMlp(bottomInputWidth(config.numDense), config.bottom, rng),
    top: initMlp(topInputWidth(config.tableSizes.length, config.embeddingDim), config.top, rng),
  };
}
