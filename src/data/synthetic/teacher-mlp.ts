import type { Rng } from '../../rng';

/**
 * The teacher's deep relu MLP over standardised dense inputs, in plain typed arrays. Layer 1
 * is fully connected; later layers connect each neuron to `fanIn` random neurons of the layer
 * below (0 = all), which keeps a 512-wide teacher cheap enough to generate >100k rows/s.
 */
export interface MlpLayer {
  readonly inWidth: number;
  readonly outWidth: number;
  /** Fully connected: [in, out] row-major. Sparse: [out, fanIn]. */
  readonly w: Float64Array;
  /** Sparse layers: the input neuron of each weight, [out, fanIn]; null when fully connected. */
  readonly idx: Int32Array | null;
  readonly fanIn: number;
  readonly b: Float64Array;
}

export interface TeacherMlp {
  readonly layers: MlpLayer[];
  /** Output weights of the last hidden layer: [last width]. */
  readonly out: Float64Array;
  /** Scratch activations, one buffer per layer. */
  readonly acts: Float64Array[];
}

/** Random weights (He scaling for relu); biases are set later by calibration. */
export function createTeacherMlp(
  rng: Rng,
  inWidth: number,
  hidden: readonly number[],
  fanIn: number,
): TeacherMlp {
  const layers: MlpLayer[] = [];
  let width = inWidth;
  hidden.forEach((outWidth, l) => {
    const sparse = l > 0 && fanIn > 0 && fanIn < width;
    const k = sparse ? fanIn : width;
    const w = new Float64Array(k * outWidth);
    const scale = Math.sqrt(2 / k);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * scale;
    let idx: Int32Array | null = null;
    if (sparse) {
      idx = new Int32Array(k * outWidth);
      for (let i = 0; i < idx.length; i++) idx[i] = rng.int(width);
    }
    layers.push({ inWidth: width, outWidth, w, idx, fanIn: k, b: new Float64Array(outWidth) });
    width = outWidth;
  });
  const out = new Float64Array(width);
  for (let i = 0; i < width; i++) out[i] = rng.normal() / Math.sqrt(width);
  return { layers, out, acts: hidden.map((h) => new Float64Array(h)) };
}

/** Pre-activations of layer `l` for input `x` into `dst` (no relu). */
export function preActivation(layer: MlpLayer, x: Float64Array, dst: Float64Array): void {
  const { inWidth, outWidth, w, idx, fanIn, b } = layer;
  dst.set(b);
  if (idx === null) {
    for (let i = 0; i < inWidth; i++) {
      const xi = x[i] as number;
      if (xi === 0) continue;
      const base = i * outWidth;
      for (let j = 0; j < outWidth; j++) dst[j] = (dst[j] as number) + xi * (w[base + j] as number);
    }
  } else {
    for (let j = 0; j < outWidth; j++) {
      let s = dst[j] as number;
      const base = j * fanIn;
      for (let k = 0; k < fanIn; k++)
        s += (w[base + k] as number) * (x[idx[base + k] as number] as number);
      dst[j] = s;
    }
  }
}

/** The MLP's scalar output for standardised input `t`. */
export function forwardTeacherMlp(mlp: TeacherMlp, t: Float64Array): number {
  let x = t;
  const { layers, acts } = mlp;
  for (let l = 0; l < layers.length; l++) {
    const a = acts[l] as Float64Array;
    preActivation(layers[l] as MlpLayer, x, a);
    for (let j = 0; j < a.length; j++) if ((a[j] as number) < 0) a[j] = 0;
    x = a;
  }
  let y = 0;
  for (let j = 0; j < x.length; j++) y += (x[j] as number) * (mlp.out[j] as number);
  return y;
}

/**
 * Sets biases from calibration inputs `ts` (rows of standardised inputs): each layer-1 neuron's
 * kink passes through a random calibration point (so every neuron bends the function where the
 * data are), and deeper neurons are centred (bias = −mean pre-activation) so each is active on
 * part of the data rather than always or never.
 */
export function calibrateTeacherBiases(mlp: TeacherMlp, ts: Float64Array[], rng: Rng): void {
  let inputs = ts;
  mlp.layers.forEach((layer, l) => {
    const pre = new Float64Array(layer.outWidth);
    if (l === 0) {
      for (let j = 0; j < layer.outWidth; j++) {
        const anchor = ts[rng.int(ts.length)] as Float64Array;
        let s = 0;
        for (let i = 0; i < layer.inWidth; i++)
          s += (anchor[i] as number) * (layer.w[i * layer.outWidth + j] as number);
        layer.b[j] = -s;
      }
    } else {
      const sum = new Float64Array(layer.outWidth);
      for (const x of inputs) {
        preActivation(layer, x, pre);
        for (let j = 0; j < sum.length; j++) sum[j] = (sum[j] as number) + (pre[j] as number);
      }
      for (let j = 0; j < sum.length; j++) layer.b[j] = -(sum[j] as number) / inputs.length;
    }
    inputs = inputs.map((x) => {
      const a = new Float64Array(layer.outWidth);
      preActivation(layer, x, a);
      for (let j = 0; j < a.length; j++) if ((a[j] as number) < 0) a[j] = 0;
      return a;
    });
  });
}
