import { SIGNATURE } from '../export/inference-graph';
import { versionNumber } from '../registry/version';
import type { LoadedVersion } from './loaded-version';
import { featureNames } from './score-records';

/** One tensor of a signature in TF Serving's JSON (a TensorInfo). */
interface TensorInfoJson {
  dtype: 'DT_FLOAT' | 'DT_STRING';
  tensor_shape: { dim: { size: string; name: string }[]; unknown_rank: boolean };
  name: string;
}

function tensorInfo(name: string, dtype: TensorInfoJson['dtype'], dims: number[]): TensorInfoJson {
  return {
    dtype,
    tensor_shape: { dim: dims.map((d) => ({ size: String(d), name: '' })), unknown_rank: false },
    name: `${name}:0`,
  };
}

/**
 * The `serving_default` signature of a version, as the exported SavedModel has it
 * (src/export/inference-graph.ts): `dense` float [-1, numDense] and `sparse` string
 * [-1, numSparse] in the feature spec's order, `probability` float [-1].
 */
export function signatureDef(version: LoadedVersion): {
  inputs: Record<string, TensorInfoJson>;
  outputs: Record<string, TensorInfoJson>;
  method_name: string;
  defaults: Record<string, never>;
} {
  const names = featureNames(version);
  const inputs: Record<string, TensorInfoJson> = {};
  if (names.dense.length > 0) {
    inputs[SIGNATURE.dense] = tensorInfo(SIGNATURE.dense, 'DT_FLOAT', [-1, names.dense.length]);
  }
  if (names.sparse.length > 0) {
    inputs[SIGNATURE.sparse] = tensorInfo(SIGNATURE.sparse, 'DT_STRING', [-1, names.sparse.length]);
  }
  return {
    inputs,
    outputs: { [SIGNATURE.output]: tensorInfo(SIGNATURE.output, 'DT_FLOAT', [-1]) },
    method_name: 'tensorflow/serving/predict',
    defaults: {},
  };
}

/**
 * `GET /v1/models/{m}[/versions/{v}]/metadata` in TF Serving's shape, plus `agp.features` (the
 * feature names behind each tensor column, which the SignatureDef cannot carry).
 */
export function modelMetadata(model: string, version: LoadedVersion): object {
  const names = featureNames(version);
  return {
    model_spec: {
      name: model,
      signature_name: '',
      version: String(versionNumber(version.version)),
    },
    metadata: {
      signature_def: {
        signature_def: { [SIGNATURE.key]: signatureDef(version) },
      },
    },
    agp: { version: version.version, features: { dense: names.dense, sparse: names.sparse } },
  };
}
